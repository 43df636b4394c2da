#!/usr/bin/env python3
"""Sign-in flood against a release build, on loopback only.

Starts `gatekey serve` on a fresh SQLite database, then:

1. flood: N concurrent sign-ins (default 500) for random emails, each on its own connection,
   while /healthz is polled every 50 ms. The per-IP sign-in limit is raised for this run so
   every attempt reaches the password check (the worst case for memory). Reports the answers by
   status, the server's resident memory before and at its peak (VmHWM), and /healthz latency.
2. race: 30 wrong passwords and the right one at once for one email. Reports how many were
   evaluated (401 or 303) and how many refused (429); at most login.max_failures_per_email (5)
   may be evaluated.

Bounded in count (at most N + 31 sign-ins) and time (each request times out after 30 s).
Usage: bench/login_flood.py [--binary target/release/gatekey] [--connections 500]
"""

import argparse
import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
PASSWORD = "bench password " + secrets.token_hex(8)
OWNER = "owner@example.com"
TIMEOUT = 30.0


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


async def http(port, method, path, headers=None, body=b""):
    """One request on its own connection; returns (status, headers, body)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), TIMEOUT)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body:
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(-1), TIMEOUT)
    finally:
        writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    head_lines = head.decode("latin-1").split("\r\n")
    status = int(head_lines[0].split()[1])
    parsed = {}
    for line in head_lines[1:]:
        name, _, value = line.partition(":")
        parsed.setdefault(name.strip().lower(), []).append(value.strip())
    return status, parsed, rest


async def login_form(port):
    status, headers, body = await http(port, "GET", "/login")
    assert status == 200, status
    cookie = next(c for c in headers["set-cookie"] if c.startswith("gatekey_login_csrf="))
    cookie = cookie.split(";")[0]
    token = re.search(rb'name="csrf_token" value="([^"]+)"', body).group(1).decode()
    return cookie, token


async def login(port, form, email, password):
    cookie, token = form
    from urllib.parse import urlencode

    body = urlencode({"email": email, "password": password, "csrf_token": token}).encode()
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    try:
        status, _, _ = await http(port, "POST", "/login", headers, body)
        return status
    except (OSError, asyncio.TimeoutError) as error:
        return type(error).__name__


async def poll_healthz(port, stop, latencies, failures):
    while not stop.is_set():
        started = time.monotonic()
        try:
            status, _, _ = await asyncio.wait_for(http(port, "GET", "/healthz"), 2.0)
            if status != 200:
                failures.append(status)
        except (OSError, asyncio.TimeoutError) as error:
            failures.append(type(error).__name__)
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(0.05)


async def sample_rss(pid, stop, samples):
    while not stop.is_set():
        samples.append(rss_kib(pid, "VmRSS"))
        await asyncio.sleep(0.02)


def count(statuses):
    counts = {}
    for status in statuses:
        counts[str(status)] = counts.get(str(status), 0) + 1
    return dict(sorted(counts.items()))


async def flood(port, pid, connections):
    form = await login_form(port)
    before = rss_kib(pid, "VmRSS")
    stop = asyncio.Event()
    latencies, failures, samples = [], [], []
    watchers = [
        asyncio.create_task(poll_healthz(port, stop, latencies, failures)),
        asyncio.create_task(sample_rss(pid, stop, samples)),
    ]
    started = time.monotonic()
    statuses = await asyncio.gather(
        *(
            login(port, form, f"nobody-{secrets.token_hex(6)}@random.example", "wrong password!")
            for _ in range(connections)
        )
    )
    elapsed = time.monotonic() - started
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*watchers)
    return {
        "sign_ins": connections,
        "seconds": round(elapsed, 2),
        "answers": count(statuses),
        "rss_before_mib": round(before / 1024, 1),
        "rss_sampled_max_mib": round(max(samples) / 1024, 1),
        "rss_peak_vmhwm_mib": round(rss_kib(pid, "VmHWM") / 1024, 1),
        "healthz_requests": len(latencies),
        "healthz_failures": count(failures),
        "healthz_max_ms": round(max(latencies) * 1000, 1),
    }


async def race(port):
    form = await login_form(port)
    attempts = [(OWNER, "wrong password!")] * 30
    attempts.insert(15, (OWNER, PASSWORD))
    statuses = await asyncio.gather(*(login(port, form, e, p) for e, p in attempts))
    evaluated = sum(1 for s in statuses if s in (401, 303))
    return {
        "guesses": len(attempts),
        "answers": count(statuses),
        "evaluated": evaluated,
        "right_password_signed_in": 303 in statuses,
    }


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/gatekey")
    parser.add_argument("--connections", type=int, default=500)
    args = parser.parse_args()
    if not 1 <= args.connections <= 2000:
        sys.exit("--connections must be between 1 and 2000")
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        env = dict(
            os.environ,
            GATEKEY_BOOTSTRAP_EMAIL=OWNER,
            GATEKEY_BOOTSTRAP_PASSWORD=PASSWORD,
            GATEKEY_LOG="off",
            GATEKEY_LOGIN__MAX_FAILURES_PER_IP="1000000",
        )
        command = [
            args.binary, "serve", "--listen", f"{HOST}:{port}",
            "--database-url", f"sqlite://{work}/gatekey.db",
        ]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    if asyncio.run(http(port, "GET", "/healthz"))[0] == 200:
                        break
                except OSError:
                    time.sleep(0.05)
            else:
                sys.exit("the server did not start")
            report = {
                "cores": os.cpu_count(),
                "flood": asyncio.run(flood(port, server.pid, args.connections)),
                "race": asyncio.run(race(port)),
            }
            print(json.dumps(report, indent=2))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()

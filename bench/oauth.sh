#!/usr/bin/env bash
# Benchmarks of the OAuth endpoints on loopback, with the server in release mode and wrk on the
# same machine: client_credentials issuance and introspection of an active token, each with
# req/s, p99 and server CPU per request; then a durability check (every token answered 200,
# one while idle and thousands while under load, still introspects as active after kill -9 and
# a restart).
# Usage: bench/oauth.sh [sqlite|postgres] [seconds] [connections]
# postgres uses GATEKEY_BENCH_POSTGRES_URL (a database it may fill), default
# postgres://postgres@127.0.0.1:5432/gatekey_bench (created if missing).
# BENCH_GATEKEY_BIN names a gatekey binary to measure instead of this tree's (to compare two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
seconds="${2:-10}"
connections="${3:-64}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 2; }
if [ -n "${BENCH_GATEKEY_BIN:-}" ]; then
  bin="$BENCH_GATEKEY_BIN"
else
  cargo build --release -q -p gatekey-cli
  bin="${CARGO_TARGET_DIR:-target}/release/gatekey"
fi
work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

case "$backend" in
  sqlite) db="sqlite://$work/gatekey.db" ;;
  postgres)
    db="${GATEKEY_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/gatekey_bench}"
    admin_url="${db%/*}/postgres"
    name="${db##*/}"
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" && psql "$admin_url" -qc "CREATE DATABASE $name" ;;
  *) echo "backend must be sqlite or postgres"; exit 2 ;;
esac

start_server() {
  GATEKEY_RATE_LIMIT__PER_SECOND=0 GATEKEY_RATE_LIMIT__PER_MINUTE=0 GATEKEY_LOG=warn \
    "$bin" serve --listen 127.0.0.1:18180 --database-url "$db" >>"$work/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18180/healthz && return; sleep 0.1; done
  echo "server did not start"; cat "$work/serve.log"; exit 1
}
start_server

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
sa="$("$bin" admin service-account create --database-url "$db" --account default --name bench --role admin --json | json '["id"]')"
app="$("$bin" admin app create --database-url "$db" --account default --name bench --type confidential \
  --grant-type client_credentials --service-account "$sa" --json)"
client_id="$(echo "$app" | json '["client_id"]')"; client_secret="$(echo "$app" | json '["client_secret"]')"
rs="$("$bin" admin app create --database-url "$db" --account default --name resource-server --type confidential \
  --grant-type client_credentials --service-account "$sa" --introspect --json)"
rs_id="$(echo "$rs" | json '["client_id"]')"; rs_secret="$(echo "$rs" | json '["client_secret"]')"
basic() { printf '%s:%s' "$1" "$2" | base64 -w0; }

wrk_post() { # script form client_id client_secret: a wrk script POSTing the form as the client
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = "$2"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(basic "$3" "$4")"
LUA
}

wrk_post "$work/issue.lua" "grant_type=client_credentials&scope=read" "$client_id" "$client_secret"
token="$(curl -fs -u "$client_id:$client_secret" -d grant_type=client_credentials http://127.0.0.1:18180/oauth/token | json '["access_token"]')"
wrk_post "$work/introspect.lua" "token=$token" "$rs_id" "$rs_secret"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
run() { # name path script
  local name="$1" path="$2" script="$3"
  wrk -t2 -c"$connections" -d1s -s "$script" "http://127.0.0.1:18180$path" >/dev/null
  local before after
  before="$(cpu_ticks)"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$script" "http://127.0.0.1:18180$path" >"$work/$name.txt"
  after="$(cpu_ticks)"
  python3 - "$name" "$work/$name.txt" "$before" "$after" "$(getconf CLK_TCK)" <<'PY'
import re, sys
name, path, before, after, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
text = open(path).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
total = int(re.search(r"(\d+) requests in", text).group(1))
p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
cpu_us = (after - before) / hz * 1e6 / max(total, 1)
print(f"{name:<28} {rps:>10.0f} req/s   p99 {p99:>8}   server CPU {cpu_us:6.0f} µs/req   non-2xx {errors.group(1) if errors else 0}")
PY
}
echo "backend: $backend, $connections connections, ${seconds}s each"
run "client_credentials issuance" /oauth/token "$work/issue.lua"
run "introspection (active)" /oauth/introspect "$work/introspect.lua"

# Durability: every token answered 200 survives kill -9 and a restart, including those answered
# while the server was killed in the middle of load (16 clients issuing as fast as they can).
last="$(curl -fs -u "$client_id:$client_secret" -d grant_type=client_credentials http://127.0.0.1:18180/oauth/token | json '["access_token"]')"
python3 - "$client_id" "$client_secret" "$work/answered" "$server_pid" <<'PY'
import base64, http.client, json, os, signal, sys, threading, time
client_id, secret, out, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
auth = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
answered, lock = [], threading.Lock()
def issue():
    conn = http.client.HTTPConnection("127.0.0.1", 18180, timeout=5)
    while True:
        try:
            conn.request("POST", "/oauth/token", "grant_type=client_credentials",
                         {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            body = response.read()
        except Exception:
            return
        if response.status == 200:
            with lock:
                answered.append(json.loads(body)["access_token"])
threads = [threading.Thread(target=issue) for _ in range(16)]
for t in threads: t.start()
time.sleep(2)
os.kill(pid, signal.SIGKILL)
for t in threads: t.join()
with open(out, "w") as f: f.write("\n".join(answered))
PY
wait "$server_pid" 2>/dev/null || true; server_pid=""
start_server
python3 - "$rs_id" "$rs_secret" "$work/answered" "$last" <<'PY'
import base64, http.client, json, sys
rs_id, rs_secret, path, last = sys.argv[1:5]
tokens = [last] + open(path).read().split()
auth = "Basic " + base64.b64encode(f"{rs_id}:{rs_secret}".encode()).decode()
conn = http.client.HTTPConnection("127.0.0.1", 18180, timeout=5)
lost = 0
for token in tokens:
    conn.request("POST", "/oauth/introspect", f"token={token}",
                 {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
    if not json.loads(conn.getresponse().read())["active"]:
        lost += 1
print(f"tokens answered 200 before kill -9 (one idle, {len(tokens) - 1} under load): {len(tokens)}, inactive after restart: {lost}")
sys.exit(1 if lost or len(tokens) < 2 else 0)
PY

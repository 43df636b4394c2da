#!/usr/bin/env bash
# gatekey as a gateway, on loopback, with the server in release mode (SQLite) and wrk on the same
# machine:
#   (a) GET /auth/verify as nginx calls it (X-Original-URI, X-Original-Method) against
#       GET /api/v1/me, with the same API key (cached after its first use);
#   (b) nginx with auth_request to gatekey (the guide's docs/gateway/nginx.conf) in front of a
#       static answer, against the same nginx passing requests to that answer without asking.
# The two sides of each pair alternate, round after round, so a noisy machine slows both alike;
# medians of req/s and p99 latency, and their ratios, are printed. The nginx pair runs twice:
# with [connections] for the rates, where each side is saturated and its latency is mostly
# queueing (connections / rate), and with [latency connections] for the latency gatekey adds.
# Usage: bench/gateway.sh [rounds] [seconds] [connections] [latency connections]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
seconds="${2:-5}"
connections="${3:-32}"
latency_connections="${4:-4}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 2; }
command -v nginx >/dev/null || { echo "nginx is required (apt-get install nginx)"; exit 2; }
cargo build --release -q -p gatekey-cli
bin="${CARGO_TARGET_DIR:-target}/release/gatekey"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

gatekey=127.0.0.1:18280   # gatekey
with_auth=127.0.0.1:18281 # nginx, asking gatekey
static=127.0.0.1:18282    # nginx, the static answer behind both
without=127.0.0.1:18283   # nginx, not asking gatekey
db="sqlite://$work/gatekey.db"
cat >"$work/gatekey.toml" <<'TOML'
[gateway]
unmatched = "deny"

[[gateway.routes]]
methods = ["GET"]
path = "/v1/items/**"
scopes = ["read"]
TOML
# Limits high enough never to refuse, so the limiter's cost is still measured.
GATEKEY_RATE_LIMIT__PER_SECOND=1000000000 GATEKEY_RATE_LIMIT__PER_MINUTE=1000000000 GATEKEY_LOG=warn \
  "$bin" serve --config "$work/gatekey.toml" --listen "$gatekey" --database-url "$db" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://$gatekey/healthz" && break; sleep 0.1; done

# The guide's server block with its three addresses changed (each must be there, once).
python3 - docs/gateway/nginx.conf "$work/gateway.conf" "$gatekey" "$static" "$with_auth" <<'PY'
import sys
source, target, gatekey, static, listen = sys.argv[1:]
text = open(source).read()
for old, new in [("server 127.0.0.1:8080;", f"server {gatekey};"),
                 ("proxy_pass http://127.0.0.1:3000;", f"proxy_pass http://{static};"),
                 ("listen 127.0.0.1:8000;", f"listen {listen};")]:
    assert text.count(old) == 1, f"{source} no longer holds {old!r} once"
    text = text.replace(old, new)
open(target, "w").write(text)
PY
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
error_log $work/error.log warn;
pid $work/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/client_body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    include $work/gateway.conf;
    server {
        listen $static;
        location / { return 200 "ok\n"; }
    }
    server {
        listen $without;
        location / { proxy_pass http://$static; }
    }
}
NGINX
nginx -p "$work" -e "$work/error.log" -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://$without/" && break; sleep 0.1; done

key="$("$bin" admin api-key create --database-url "$db" --email owner@example.com \
  --account default --name bench --scope read --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
# Every path must be allowed before it is measured: wrk counts refusals as Non-2xx.
curl -fs -o /dev/null -H "Authorization: Bearer $key" "http://$gatekey/api/v1/me"
curl -fs -o /dev/null -H "Authorization: Bearer $key" -H "X-Original-URI: /v1/items/1" \
  -H "X-Original-Method: GET" "http://$gatekey/auth/verify"
curl -fs -o /dev/null -H "Authorization: Bearer $key" "http://$with_auth/v1/items/1"
curl -fs -o /dev/null "http://$without/v1/items/1"

run() { # label connections url [wrk header arguments]: one line "label req/s p50-ms p99-ms"
  local label="$1" clients="$2" url="$3"; shift 3
  wrk -t2 -c"$clients" -d"${seconds}s" --latency "$@" "$url" |
    python3 -c '
import re, sys
label, text = sys.argv[1], sys.stdin.read()
assert "Non-2xx" not in text and "Socket errors" not in text, text
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def percentile(p):
    value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
print(f"{label} {rate} {percentile(50)} {percentile(99)}")' "$label"
}
bearer=(-H "Authorization: Bearer $key")
verify_headers=("${bearer[@]}" -H "X-Original-URI: /v1/items/1" -H "X-Original-Method: GET")

c="$connections"
l="$latency_connections"
run warm "$c" "http://$gatekey/auth/verify" "${verify_headers[@]}" >/dev/null
: >"$work/rates"
for _ in $(seq "$rounds"); do
  run verify "$c" "http://$gatekey/auth/verify" "${verify_headers[@]}" >>"$work/rates"
  run me "$c" "http://$gatekey/api/v1/me" "${bearer[@]}" >>"$work/rates"
done
run warm "$c" "http://$with_auth/v1/items/1" "${bearer[@]}" >/dev/null
for _ in $(seq "$rounds"); do
  run nginx_auth "$c" "http://$with_auth/v1/items/1" "${bearer[@]}" >>"$work/rates"
  run nginx_plain "$c" "http://$without/v1/items/1" "${bearer[@]}" >>"$work/rates"
done
for _ in $(seq "$rounds"); do
  run nginx_auth_light "$l" "http://$with_auth/v1/items/1" "${bearer[@]}" >>"$work/rates"
  run nginx_plain_light "$l" "http://$without/v1/items/1" "${bearer[@]}" >>"$work/rates"
done

python3 - "$work/rates" "$rounds" "$seconds" "$connections" "$latency_connections" <<'PY'
import statistics, sys
path, rounds, seconds, connections, light = sys.argv[1:]
runs = {}
for line in open(path):
    label, rate, p50, p99 = line.split()
    runs.setdefault(label, []).append((float(rate), float(p50), float(p99)))
def median(label, i):
    return statistics.median(run[i] for run in runs[label])
print(f"medians of {rounds} rounds of {seconds} s")
print(f"{'':44} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
names = {"verify": f"GET /auth/verify, {connections} connections",
         "me": f"GET /api/v1/me, {connections} connections",
         "nginx_auth": f"nginx + gatekey, {connections} connections",
         "nginx_plain": f"nginx alone, {connections} connections",
         "nginx_auth_light": f"nginx + gatekey, {light} connections",
         "nginx_plain_light": f"nginx alone, {light} connections"}
for label in names:
    print(f"{names[label]:44} {median(label, 0):>10.0f} {median(label, 1):>8.2f} {median(label, 2):>8.2f}")
print(f"verify / me: {median('verify', 0) / median('me', 0):.2f} (target at least 0.80)")
print(f"nginx with / without gatekey: {median('nginx_auth', 0) / median('nginx_plain', 0):.2f} (target at least 0.40)")
for suffix, clients in [("", connections), ("_light", light)]:
    p50 = median("nginx_auth" + suffix, 1) - median("nginx_plain" + suffix, 1)
    p99 = median("nginx_auth" + suffix, 2) - median("nginx_plain" + suffix, 2)
    print(f"added by gatekey behind nginx, {clients} connections: p50 {p50:.2f} ms, p99 {p99:.2f} ms (p99 target under 2 ms)")
PY

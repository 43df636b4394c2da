#!/usr/bin/env bash
# Benchmark of the credential check: GET /api/v1/me with an API key, beside a bare axum handler
# returning the same JSON. Both servers run in release mode on loopback; wrk shares the machine.
# Usage: bench/me.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
connections="${2:-64}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 2; }

cargo build --release -q -p gatekey-cli
cargo build --release -q -p gatekey-server --example bare_handler
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

db="sqlite://$work/gatekey.db"
# Limits high enough never to refuse, so the limiter's cost is still measured.
GATEKEY_RATE_LIMIT__PER_SECOND=1000000000 GATEKEY_RATE_LIMIT__PER_MINUTE=1000000000 GATEKEY_LOG=warn \
  target/release/gatekey serve --listen 127.0.0.1:18080 --database-url "$db" >"$work/serve.log" 2>&1 &
pids+=($!)
target/release/examples/bare_handler 127.0.0.1:18081 &
pids+=($!)
for port in 18080 18081; do   # wait until both accept connections
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done
key="$(target/release/gatekey admin api-key create --database-url "$db" --email owner@example.com \
  --account default --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
curl -fs -H "Authorization: Bearer $key" http://127.0.0.1:18080/api/v1/me >/dev/null

run() { # name url [header]
  local name="$1" url="$2"; shift 2
  wrk -t2 -c"$connections" -d1s "$@" "$url" >/dev/null   # warm-up
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@" "$url" | tee "$work/$name.txt" >/dev/null
  local rps p99
  rps="$(awk '/Requests\/sec/ {print $2}' "$work/$name.txt")"
  p99="$(awk '$1=="99%" {print $2}' "$work/$name.txt")"
  echo "$name $rps $p99"
}
gatekey_line="$(run gatekey http://127.0.0.1:18080/api/v1/me -H "Authorization: Bearer $key")"
bare_line="$(run bare http://127.0.0.1:18081/api/v1/me)"
echo "                       req/s        p99"
printf "gatekey /api/v1/me  %10s %10s\n" $(echo "$gatekey_line" | cut -d' ' -f2-)
printf "bare axum handler   %10s %10s\n" $(echo "$bare_line" | cut -d' ' -f2-)
python3 - "$gatekey_line" "$bare_line" <<'PY'
import sys
g = float(sys.argv[1].split()[1]); b = float(sys.argv[2].split()[1])
print(f"ratio gatekey/bare: {g / b:.2f}")
PY

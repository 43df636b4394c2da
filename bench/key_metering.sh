#!/usr/bin/env bash
# Benchmark of metered API keys, in one run of one release server: GET /api/v1/me with a plain
# key, the same with a key that has its own limits (high enough never to refuse) and credits
# (enough never to run out), and POST /api/v1/keys/verify about a cached key, asked with an
# admin's key. Rounds alternate the three; each round makes fresh keys, so no limit fills up.
# Prints each round and the medians of the ratios to the plain key's rate.
# Usage: bench/key_metering.sh [seconds] [connections] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
connections="${2:-64}"
rounds="${3:-3}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 2; }

target="${CARGO_TARGET_DIR:-target}"
gatekey="${BENCH_GATEKEY_BIN:-}"
if [ -z "$gatekey" ]; then
  cargo build --release -q -p gatekey-cli
  gatekey="$target/release/gatekey"
fi
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

port=18090
base="http://127.0.0.1:$port"
db="sqlite://$work/gatekey.db"
# The account's limits high enough never to refuse, so the limiter's cost is still measured.
GATEKEY_RATE_LIMIT__PER_SECOND=1000000000 GATEKEY_RATE_LIMIT__PER_MINUTE=1000000000 GATEKEY_LOG=warn \
  "$gatekey" serve --listen "127.0.0.1:$port" --database-url "$db" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "$base/healthz" && break; sleep 0.1; done
admin="$("$gatekey" admin api-key create --database-url "$db" --email owner@example.com \
  --account default --name bench-admin --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"

# A new key of the owner's, made over the API by the admin key; `$1` is the JSON of its
# settings besides the name.
new_key() {
  curl -fs -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench\"$1}" "$base/api/v1/api_keys" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])'
}

run() { # name url [wrk options]
  local name="$1" url="$2"; shift 2
  wrk -t2 -c"$connections" -d1s "$@" "$url" >/dev/null   # warm-up: the keys are cached after it
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@" "$url" >"$work/$name.txt"
  if grep -q "Non-2xx" "$work/$name.txt"; then
    echo "bench: $name got answers other than 200:" >&2
    grep "Non-2xx" "$work/$name.txt" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {print $2}' "$work/$name.txt"
}

results="$work/results"
: >"$results"
printf "%-6s %12s %12s %12s %9s %9s\n" round "plain req/s" "metered" "verify" "metered%" "verify%"
for round in $(seq "$rounds"); do
  plain="$(new_key "")"
  metered="$(new_key ',"rate_per_second":1000000,"rate_per_minute":1000000,"rate_per_hour":1000000,"credits_remaining":1000000000000')"
  verified="$(new_key "")"
  cat >"$work/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"$verified"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $admin"
LUA
  # The verify API must say VALID, or the run measures refusals.
  curl -fs -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d "{\"key\":\"$verified\"}" "$base/api/v1/keys/verify" | grep -q '"code":"VALID"'
  p="$(run plain "$base/api/v1/me" -H "Authorization: Bearer $plain")"
  m="$(run metered "$base/api/v1/me" -H "Authorization: Bearer $metered")"
  v="$(run verify "$base/api/v1/keys/verify" -s "$work/verify.lua")"
  echo "$p $m $v" >>"$results"
  python3 - "$round" "$p" "$m" "$v" <<'PY'
import sys
r, p, m, v = sys.argv[1], *map(float, sys.argv[2:])
print(f"{r:<6} {p:12.0f} {m:12.0f} {v:12.0f} {100 * m / p:8.1f}% {100 * v / p:8.1f}%")
PY
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1])]
plain, metered, verify = (statistics.median(col) for col in zip(*rows))
m = statistics.median(r[1] / r[0] for r in rows)
v = statistics.median(r[2] / r[0] for r in rows)
print(f"median {plain:12.0f} {metered:12.0f} {verify:12.0f} {100 * m:8.1f}% {100 * v:8.1f}%")
print(f"limited+credited / plain: {m:.2f} (target at least 0.80)")
print(f"verify / plain /me:       {v:.2f} (target at least 0.70)")
PY

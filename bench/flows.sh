#!/usr/bin/env bash
# Benchmark of full authorization code + PKCE flows with a live session: each flow is
# GET /oauth/authorize (consent already remembered for the confidential client, so the answer is
# the redirect with a code) then POST /oauth/token. Release server on loopback, SQLite.
# Usage: bench/flows.sh [seconds] [concurrency]
# BENCH_GATEKEY_BIN names a gatekey binary to measure instead of this tree's (to compare two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
concurrency="${2:-32}"
target="${CARGO_TARGET_DIR:-target}"
if [ -n "${BENCH_GATEKEY_BIN:-}" ]; then
  bin="$BENCH_GATEKEY_BIN"
else
  cargo build --release -q -p gatekey-cli
  bin="$target/release/gatekey"
fi
cargo build --release -q -p gatekey-server --example code_flow_bench
work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
db="sqlite://$work/gatekey.db"
password='bench password for flows'
GATEKEY_BOOTSTRAP_PASSWORD="$password" GATEKEY_RATE_LIMIT__PER_SECOND=0 GATEKEY_RATE_LIMIT__PER_MINUTE=0 GATEKEY_LOG=warn \
  "$bin" serve --listen 127.0.0.1:18280 --database-url "$db" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18280/healthz && break; sleep 0.1; done
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
app="$("$bin" admin app create --database-url "$db" --account default --name flows --type confidential \
  --redirect-uri http://127.0.0.1/cb --json)"
client_id="$(echo "$app" | json '["client_id"]')"; secret="$(echo "$app" | json '["client_secret"]')"

# Sign in once and consent once, as a person would; the session then serves every flow.
jar="$work/jar"
csrf="$(curl -s -c "$jar" http://127.0.0.1:18280/login | grep -o 'name="csrf_token" value="[^"]*"' | cut -d'"' -f4)"
curl -s -o /dev/null -b "$jar" -c "$jar" --data-urlencode email=owner@example.com --data-urlencode "password=$password" \
  --data-urlencode "csrf_token=$csrf" http://127.0.0.1:18280/login
session="$(awk '$6 == "gatekey_session" {print $7}' "$jar")"
consent="$(curl -s -b "$jar" "http://127.0.0.1:18280/oauth/authorize?client_id=$client_id&response_type=code&scope=read&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb")"
csrf="$(echo "$consent" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | cut -d'"' -f4)"
curl -s -o /dev/null -b "$jar" --data-urlencode client_id="$client_id" --data-urlencode response_type=code \
  --data-urlencode scope=read --data-urlencode redirect_uri=http://127.0.0.1/cb --data-urlencode account=default \
  --data-urlencode csrf_token="$csrf" --data-urlencode decision=allow http://127.0.0.1:18280/oauth/authorize

"$target/release/examples/code_flow_bench" http://127.0.0.1:18280 "gatekey_session=$session" "$client_id" "$secret" "$seconds" "$concurrency"

#!/usr/bin/env bash
# client_credentials issuance, gatekey against node-oidc-provider, side by side on loopback.
#
# What each side does for every request: parse a form POST, authenticate one confidential client
# by client_secret_basic, check the grant and the scope `read`, draw an opaque access token and
# store it, answer the JSON token response (RFC 6749 §5.1).
# - gatekey: release build on SQLite in WAL mode with synchronous = FULL, so every token answered
#   is on disk first (the group commit shares each fsync among the requests waiting); the client
#   secret is checked against its stored SHA-256, the token stored by its SHA-256; rate limits
#   off, log level warn (as bench/oauth.sh). It runs on all cores.
# - node-oidc-provider (pinned below) with its default in-memory adapter: nothing reaches a disk
#   and a restart loses every token. One Node process, which is how that adapter runs (a
#   cluster would need a shared store); NODE_ENV=production.
# Both get the same wrk load (threads, connections, duration, body, headers), one after the
# other, alternating which goes first, for several rounds. Printed per round: req/s, p99,
# server CPU per request (a figure that does not depend on how many cores a side uses) and the
# gatekey/node ratio of each; then the median ratios. wrk shares the machine with the server
# under test, equally for both sides.
#
# Usage: bench/compare_oidc_provider.sh [seconds] [connections] [rounds]
# BENCH_GATEKEY_BIN names a gatekey binary to measure instead of building this tree (to compare two
# builds against the same reference).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
connections="${2:-64}"
rounds="${3:-3}"
oidc_provider_version=9.13.3
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 2; }
command -v npm >/dev/null || { echo "node and npm are required"; exit 2; }
target="${CARGO_TARGET_DIR:-target}"
if [ -n "${BENCH_GATEKEY_BIN:-}" ]; then
  bin="$BENCH_GATEKEY_BIN"
else
  cargo build --release -q -p gatekey-cli
  bin="$target/release/gatekey"
fi

# oidc-provider from npm into a directory under the build folder, which git ignores.
node_dir="$target/oidc-provider-$oidc_provider_version"
if [ ! -f "$node_dir/node_modules/oidc-provider/package.json" ]; then
  mkdir -p "$node_dir"
  echo '{"private": true, "type": "module"}' >"$node_dir/package.json"
  npm install --prefix "$node_dir" --no-audit --no-fund --silent "oidc-provider@$oidc_provider_version"
fi
cp bench/oidc_provider_server.mjs "$node_dir/"

work="$(mktemp -d)"
gatekey_pid="" node_pid=""
cleanup() {
  [ -n "$gatekey_pid" ] && kill "$gatekey_pid" 2>/dev/null
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # url log
  for _ in $(seq 100); do curl -s -o /dev/null "$1" && return; sleep 0.1; done
  echo "server did not start"; cat "$2"; exit 1
}

db="sqlite://$work/gatekey.db"
GATEKEY_RATE_LIMIT__PER_SECOND=0 GATEKEY_RATE_LIMIT__PER_MINUTE=0 GATEKEY_LOG=warn \
  "$bin" serve --listen 127.0.0.1:18380 --database-url "$db" >"$work/gatekey.log" 2>&1 &
gatekey_pid=$!
wait_for http://127.0.0.1:18380/healthz "$work/gatekey.log"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
sa="$("$bin" admin service-account create --database-url "$db" --account default --name bench --role admin --json | json '["id"]')"
app="$("$bin" admin app create --database-url "$db" --account default --name bench --type confidential \
  --grant-type client_credentials --service-account "$sa" --json)"
gk_id="$(echo "$app" | json '["client_id"]')"; gk_secret="$(echo "$app" | json '["client_secret"]')"

# The node client gets a secret as long and as random as gatekey's.
node_id=bench-client
node_secret="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
(cd "$node_dir" && NODE_ENV=production exec node oidc_provider_server.mjs 18381 "$node_id" "$node_secret") \
  >"$work/node.log" 2>&1 &
node_pid=$!
wait_for http://127.0.0.1:18381/.well-known/openid-configuration "$work/node.log"

wrk_post() { # script client_id client_secret
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(printf '%s:%s' "$2" "$3" | base64 -w0)"
LUA
}
wrk_post "$work/gatekey.lua" "$gk_id" "$gk_secret"
wrk_post "$work/node.lua" "$node_id" "$node_secret"
gatekey_url=http://127.0.0.1:18380/oauth/token
node_url=http://127.0.0.1:18381/token

# Each side answers the request the load sends with a token before any measuring.
for side in "$gatekey_url $gk_id:$gk_secret" "$node_url $node_id:$node_secret"; do
  set -- $side
  curl -fs -u "$2" -d grant_type=client_credentials -d scope=read "$1" | json '["access_token"]' >/dev/null \
    || { echo "no token from $1"; cat "$work"/*.log; exit 1; }
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() { # name pid url script → appends "name rps p99 cpu_us non2xx" to results
  local name="$1" pid="$2" url="$3" script="$4" before after
  wrk -t2 -c"$connections" -d2s -s "$script" "$url" >/dev/null
  before="$(cpu_ticks "$pid")"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$script" "$url" >"$work/$name.txt"
  after="$(cpu_ticks "$pid")"
  python3 - "$name" "$work/$name.txt" "$before" "$after" "$(getconf CLK_TCK)" >>"$work/results" <<'PY'
import re, sys
name, path, before, after, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
text = open(path).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
total = int(re.search(r"(\d+) requests in", text).group(1))
p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
socket = re.search(r"Socket errors: (.*)", text)
cpu_us = (after - before) / hz * 1e6 / max(total, 1)
print(name, rps, p99, cpu_us, errors.group(1) if errors else 0, "1" if socket else "0")
PY
}

echo "client_credentials issuance: gatekey (SQLite, durable) vs oidc-provider $oidc_provider_version (in memory)"
echo "wrk -t2 -c$connections -d${seconds}s, $rounds rounds, alternating order; $(nproc) cores"
for round in $(seq "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then
    measure "gatekey-$round" "$gatekey_pid" "$gatekey_url" "$work/gatekey.lua"
    measure "node-$round" "$node_pid" "$node_url" "$work/node.lua"
  else
    measure "node-$round" "$node_pid" "$node_url" "$work/node.lua"
    measure "gatekey-$round" "$gatekey_pid" "$gatekey_url" "$work/gatekey.lua"
  fi
done

python3 - "$work/results" "$rounds" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, rps, p99, cpu, errors, socket = line.split()
    rows[name] = (float(rps), p99, float(cpu), int(errors), socket == "1")
failed = False
ratios, cpu_ratios = [], []
print(f"{'round':<6} {'gatekey req/s':>14} {'p99':>8} {'µs CPU':>7}   {'node req/s':>11} {'p99':>8} {'µs CPU':>7}   {'ratio':>6} {'CPU ratio':>9}")
for r in range(1, int(sys.argv[2]) + 1):
    g, n = rows[f"gatekey-{r}"], rows[f"node-{r}"]
    ratio, cpu_ratio = g[0] / n[0], n[2] / g[2]
    ratios.append(ratio); cpu_ratios.append(cpu_ratio)
    print(f"{r:<6} {g[0]:>14.0f} {g[1]:>8} {g[2]:>7.0f}   {n[0]:>11.0f} {n[1]:>8} {n[2]:>7.0f}   {ratio:>5.2f}× {cpu_ratio:>8.2f}×")
    for side, row in (("gatekey", g), ("node", n)):
        if row[3] or row[4]:
            failed = True
            print(f"  {side}: {row[3]} non-2xx responses{', socket errors' if row[4] else ''}")
print(f"median ratio of req/s (gatekey / node): {statistics.median(ratios):.2f}×")
print(f"median ratio of CPU per request (node / gatekey): {statistics.median(cpu_ratios):.2f}×")
sys.exit(1 if failed else 0)
PY

#!/usr/bin/env bash
# Benchmark of the rate limiter's backends: GET /api/v1/me with one account's API key on two
# release servers over one SQLite database, one counting in memory and one in Redis (a
# redis-server of the script's own, on loopback, without persistence). Limits are set high
# enough never to refuse, so the whole cost of counting is measured. wrk runs against each in
# turn, three rounds; the script prints req/s and p99 of each and the ratio redis/memory per
# round, then the median ratio. The target is a ratio of at least 0.70.
# Usage: bench/shared_limits.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
connections="${2:-64}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 2; }
command -v redis-server >/dev/null || { echo "redis-server is required (apt-get install redis-server)"; exit 2; }

cargo build --release -q -p gatekey-cli
bin=target/release/gatekey
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

db="sqlite://$work/gatekey.db"
serve() { # port backend
  GATEKEY_RATE_LIMIT__PER_SECOND=1000000000 GATEKEY_RATE_LIMIT__PER_MINUTE=1000000000 \
    GATEKEY_RATE_LIMIT__BACKEND="$2" GATEKEY_RATE_LIMIT__REDIS_URL="redis://127.0.0.1:$redis_port" \
    GATEKEY_LOG=warn "$bin" serve --listen "127.0.0.1:$1" --database-url "$db" >>"$work/serve-$2.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/healthz" && return; sleep 0.1; done
  echo "the $2 server did not start"; cat "$work/serve-$2.log"; exit 1
}
memory_port="$(free_port)"
serve "$memory_port" memory
redis_port_http="$(free_port)"
serve "$redis_port_http" redis
key="$("$bin" admin api-key create --database-url "$db" --email owner@example.com \
  --account default --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"

run() { # name port
  local out="$work/$1.txt"
  wrk -t2 -c"$connections" -d1s -H "Authorization: Bearer $key" "http://127.0.0.1:$2/api/v1/me" >/dev/null
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $key" \
    "http://127.0.0.1:$2/api/v1/me" >"$out"
  grep -q "Non-2xx" "$out" && { echo "$1: some answers were not 200"; cat "$out"; exit 1; }
  echo "$(awk '/Requests\/sec/ {print $2}' "$out") $(awk '$1=="99%" {print $2}' "$out")"
}
ratios=()
echo "round   memory req/s    p99   redis req/s    p99   redis/memory"
for round in 1 2 3; do
  read -r memory_rps memory_p99 <<<"$(run memory "$memory_port")"
  read -r redis_rps redis_p99 <<<"$(run redis "$redis_port_http")"
  ratio="$(python3 -c "print(f'{$redis_rps / $memory_rps:.2f}')")"
  ratios+=("$ratio")
  printf "%5s %14s %6s %13s %6s %14s\n" "$round" "$memory_rps" "$memory_p99" "$redis_rps" "$redis_p99" "$ratio"
done
echo "median redis/memory: $(printf '%s\n' "${ratios[@]}" | sort -n | sed -n 2p)"
echo "Redis calls made: $(redis-cli -p "$redis_port" info commandstats | grep -E 'cmdstat_(evalsha|eval):' | sed 's/,usec=.*//')"

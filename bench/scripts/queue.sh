#!/usr/bin/env bash
# 50 BLPOP consumers, 4 producers x 25000 jobs, alternating redis and our modes.
set -u
B="$(cd "$(dirname "$0")/../.." && pwd)/target/release"
for round in 1 2 3; do
  for m in shard mutex rw redis; do
    P=$((18500 + RANDOM % 400))
    if [ $m = redis ]; then
      redis-server --port $P --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null; sleep 0.3
    else
      $B/myongoredis --port $P --bind 127.0.0.1 --mode $m >/dev/null 2>&1 & sleep 0.4
    fi
    echo "round $round $m: $($B/examples/queue 127.0.0.1:$P 50 4 25000)"
    redis-cli -p $P shutdown nosave >/dev/null 2>&1; pkill -f "myongoredis --port $P" 2>/dev/null; sleep 0.5
  done
done

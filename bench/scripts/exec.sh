#!/usr/bin/env bash
# EXEC throughput per mode vs redis-server, alternating, 3 rounds, 50 clients, 1000 keys, 8 s each.
set -u
B="$(cd "$(dirname "$0")/../.." && pwd)/target/release"
T=$B/examples/transactions
for round in 1 2 3; do
  for m in mutex rw shard redis; do
    P=$((18500 + RANDOM % 400))
    if [ $m = redis ]; then
      redis-server --port $P --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null; sleep 0.3
    else
      $B/myongoredis --port $P --bind 127.0.0.1 --mode $m >/dev/null 2>&1 & sleep 0.4
    fi
    r=$($T 127.0.0.1:$P 50 1000 8)
    if [ $m != redis ]; then
      c=$(redis-cli -p $P INFO contention | tr -d '\r' | grep -E "^(lock_acquisitions|lock_contended|lock_wait_us|lock_hold_us):" | tr '\n' ' ')
    else c=""; fi
    echo "round $round $m: $r | $c"
    redis-cli -p $P shutdown nosave >/dev/null 2>&1; pkill -f "myongoredis --port $P" 2>/dev/null; sleep 0.3
  done
done

#!/usr/bin/env bash
# redis-benchmark -t $TESTS -n 200000 -c 50 -P 16, alternating redis / myongoredis shard, 3 rounds.
set -u
B="$(cd "$(dirname "$0")/../.." && pwd)/target/release"
for round in 1 2 3; do
  for m in redis shard; do
    P=$((18500 + RANDOM % 400))
    if [ $m = redis ]; then
      redis-server --port $P --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null; sleep 0.3
    else
      $B/myongoredis --port $P --bind 127.0.0.1 --mode $m >/dev/null 2>&1 & sleep 0.4
    fi
    echo "round $round $m: $(redis-benchmark -p $P -t $TESTS -n 200000 -c 50 -P 16 -q 2>/dev/null | tr '\r' '\n' | grep -E 'requests per second' | tr '\n' ' ')"
    redis-cli -p $P shutdown nosave >/dev/null 2>&1; pkill -f "myongoredis --port $P" 2>/dev/null; sleep 0.3
  done
done

#!/usr/bin/env bash
# redis-benchmark -t set,incr -n 500000 -c 50 -P 16: appendonly off/everysec/always,
# myongoredis shard vs redis-server, alternating, 2 rounds.
set -u
B="$(cd "$(dirname "$0")/../.." && pwd)/target/release"
N=${N:-500000}
for round in 1 2; do
  for policy in off everysec always; do
    for m in shard redis; do
      P=$((18500 + RANDOM % 400)); D=$(mktemp -d)
      if [ $policy = off ]; then A="--appendonly no"; else A="--appendonly yes --appendfsync $policy"; fi
      if [ $m = redis ]; then
        redis-server --port $P --bind 127.0.0.1 --save '' $A --aof-use-rdb-preamble no --dir $D --daemonize yes >/dev/null; sleep 0.3
      else
        $B/myongoredis --port $P --bind 127.0.0.1 --mode $m $A --dir $D >/dev/null 2>&1 & sleep 0.4
      fi
      out=$(redis-benchmark -p $P -t set,incr -n $N -c 50 -P 16 -q 2>/dev/null | tr '\r' '\n' | grep -E "^(SET|INCR):" | awk '{print $1, $2}' | tr '\n' ' ')
      echo "round $round $policy $m: $out"
      redis-cli -p $P shutdown nosave >/dev/null 2>&1; pkill -f "myongoredis --port $P" 2>/dev/null; sleep 0.5; rm -rf $D
    done
  done
done

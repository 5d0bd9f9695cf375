#!/usr/bin/env bash
# SET/GET with maxmemory reached: --maxmemory 64mb --maxmemory-policy allkeys-lru,
# filled past the limit first (2M random keys of 64 bytes), then
# redis-benchmark -t set,get -n $N -r 10000000 -d 64 -c 50 [-P 16].
# myongoredis (MODES, default shard) vs redis-server, alternating, 2 rounds;
# prints ops/s and evicted_keys. Also runs without a limit (LIMIT=0) for
# the same workload when NOLIMIT=1.
set -u
B="$(cd "$(dirname "$0")/../.." && pwd)/target/release"
N=${N:-1000000}
MODES=${MODES:-shard}
PIPE=${PIPE:-"1 16"}
for round in 1 2; do
  for p in $PIPE; do
    for m in $MODES redis; do
      P=$((18500 + RANDOM % 400))
      L="--maxmemory 64mb --maxmemory-policy allkeys-lru"
      if [ $m = redis ]; then
        redis-server --port $P --bind 127.0.0.1 --save '' --appendonly no $L --daemonize yes >/dev/null; sleep 0.3
      else
        $B/myongoredis --port $P --bind 127.0.0.1 --mode $m $L >/dev/null 2>&1 & sleep 0.4
      fi
      redis-benchmark -p $P -t set -n 2000000 -r 10000000 -d 64 -c 50 -P 16 -q >/dev/null 2>&1
      before=$(redis-cli -p $P info stats | tr -d '\r' | awk -F: '/^evicted_keys/{print $2}')
      out=$(redis-benchmark -p $P -t set,get -n $N -r 10000000 -d 64 -c 50 -P $p -q 2>/dev/null | tr '\r' '\n' | grep -oE "^(SET|GET): [0-9.]+ requests" | awk '{print $1, $2}' | tr '\n' ' ')
      after=$(redis-cli -p $P info stats | tr -d '\r' | awk -F: '/^evicted_keys/{print $2}')
      used=$(redis-cli -p $P info memory | tr -d '\r' | awk -F: '/^used_memory:/{print $2}')
      echo "round $round P$p $m: $out evicted_during=$((after - before)) used_memory=$used"
      redis-cli -p $P shutdown nosave >/dev/null 2>&1; pkill -f "myongoredis --port $P" 2>/dev/null; sleep 0.5
    done
  done
done

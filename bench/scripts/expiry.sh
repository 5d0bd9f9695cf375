#!/usr/bin/env bash
# A TTL flood: redis-benchmark SETs random keys with a 1-second TTL
# (`SET __rand_int__ xxxxxxxx PX 1000`, -c 50 -P 16) for ~DURATION seconds
# against redis-server 7.0 and myongoredis (each mode in MODES), one after
# the other, sampling DBSIZE and VmRSS every 2 s. If expired keys are
# reclaimed as fast as they are written, the live key count stays near
# rate x TTL and RSS flat; if not, both grow for the whole run.
#
#   bench/scripts/expiry.sh                  # redis, shard, mutex
#   MODES="shard rw" DURATION=10 BIN=/tmp/myongoredis bench/scripts/expiry.sh
#
# Everything runs on 127.0.0.1; every process started is stopped by PID.
set -u
BIN=${BIN:-"$(cd "$(dirname "$0")/../.." && pwd)/target/release/myongoredis"}
DURATION=${DURATION:-20}
MODES=${MODES:-"redis shard mutex"}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores), ${DURATION}s per run"
for m in $MODES; do
  P=$((18900 + RANDOM % 400)); D=$(mktemp -d)
  if [ "$m" = redis ]; then
    redis-server --port $P --bind 127.0.0.1 --save '' --appendonly no --dir "$D" >/dev/null 2>&1 &
  else
    "$BIN" --port $P --bind 127.0.0.1 --mode "$m" --save "" --appendonly no --dir "$D" >/dev/null 2>&1 &
  fi
  SERVER=$!
  for _ in $(seq 50); do redis-cli -p $P ping >/dev/null 2>&1 && break; sleep 0.1; done
  # -n is far more than DURATION seconds need; the flood is stopped below.
  redis-benchmark -p $P -c 50 -n 100000000 -r 100000000 -P 16 \
    SET __rand_int__ xxxxxxxx PX 1000 >/dev/null 2>&1 &
  FLOOD=$!
  peak_keys=0; peak_rss=0; t=0; line=""
  while [ $t -lt "$DURATION" ]; do
    sleep 2; t=$((t + 2))
    keys=$(redis-cli -p $P dbsize 2>/dev/null || echo 0)
    rss=$(awk '/VmRSS/ {print int($2 / 1024)}' /proc/$SERVER/status 2>/dev/null || echo 0)
    [ "${keys:-0}" -gt $peak_keys ] && peak_keys=$keys
    [ "${rss:-0}" -gt $peak_rss ] && peak_rss=$rss
    line="$line ${t}s:${keys}/${rss}M"
  done
  kill $FLOOD 2>/dev/null; wait $FLOOD 2>/dev/null
  sets=$(redis-cli -p $P info stats 2>/dev/null | tr -d '\r' | awk -F: '/^total_commands_processed/ {print $2}')
  expired=$(redis-cli -p $P info stats 2>/dev/null | tr -d '\r' | awk -F: '/^expired_keys/ {print $2}')
  echo "$m: peak ${peak_keys} keys ${peak_rss} MB RSS; final ${keys} keys ${rss} MB RSS;" \
    "commands ${sets:-?} expired ${expired:-?} ($((${sets:-0} / DURATION)) cmd/s)"
  echo "  samples (keys/RSS):$line"
  kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$D"
done

#!/usr/bin/env bash
# Three-node clusters side by side: redis-server's and myongoredis's, each
# built the same way (redis-cli --cluster create), then
#   1. redis-benchmark --cluster -t set,get -n $N -c 50 -P 16, alternating
#      between the two clusters $ROUNDS times, with the ratio per run;
#   2. keys lost during a reshard under load: $KEYS keys written, then
#      redis-cli --cluster reshard moves $SLOTS slots while a redis-cli -c
#      writer adds $LOAD more; every acknowledged write must be found.
#
#   N=300000 ROUNDS=3 MODE=shard KEYS=20000 LOAD=20000 SLOTS=2000 bash bench/scripts/cluster.sh
#
# On an idle machine only (see README.md in this directory). Uses
# target/release/myongoredis (or $MYONGOREDIS): cargo build --release -p
# myongoredis first.
set -euo pipefail
B=${MYONGOREDIS:-"$(cd "$(dirname "$0")/../.." && pwd)/target/release/myongoredis"}
N=${N:-300000}
ROUNDS=${ROUNDS:-3}
MODE=${MODE:-shard}
KEYS=${KEYS:-20000}
LOAD=${LOAD:-20000}
SLOTS=${SLOTS:-2000}
[ -x "$B" ] || { echo "build first: cargo build --release -p myongoredis"; exit 1; }

work=$(mktemp -d)
pids=()        # our nodes
redis_ports=() # redis-server nodes (daemonized: stopped with SHUTDOWN)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${redis_ports[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_up() { for _ in $(seq 1 600); do redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return; sleep 0.05; done; echo "port $1 did not start"; exit 1; }

# Ports below 55535, so that redis-server's bus port (+10000) exists.
base=$((20000 + (RANDOM % 200) * 10))
ours=($base $((base + 1)) $((base + 2)))
theirs=($((base + 3)) $((base + 4)) $((base + 5)))
for p in "${ours[@]}"; do
  mkdir -p "$work/$p"
  "$B" --port "$p" --bind 127.0.0.1 --mode "$MODE" --cluster-enabled yes --dir "$work/$p" >"$work/$p/log" 2>&1 &
  pids+=($!)
done
for p in "${theirs[@]}"; do
  mkdir -p "$work/$p"
  redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --cluster-enabled yes \
    --dir "$work/$p" --daemonize yes --logfile "$work/$p/log" >/dev/null
  redis_ports+=("$p")
done
for p in "${ours[@]}" "${theirs[@]}"; do wait_up "$p"; done
create() {
  local addrs=()
  for p in "$@"; do addrs+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${addrs[@]}" --cluster-yes >/dev/null
  for _ in $(seq 1 600); do
    redis-cli --cluster check "${addrs[0]}" 2>/dev/null | grep -q '\[OK\] All 16384 slots covered' \
      && redis-cli -p "$1" cluster info | grep -q 'cluster_state:ok' && return
    sleep 0.1
  done
  echo "cluster $* did not come up"; exit 1
}
create "${ours[@]}"
create "${theirs[@]}"

rate() { sed -n "s/^$1: \([0-9.]*\) requests per second.*/\1/p"; }
bench() {
  redis-benchmark --cluster -p "$1" -q -t set,get -n "$N" -c 50 -P 16 2>&1 | tr '\r' '\n'
}
echo "redis-benchmark --cluster -t set,get -n $N -c 50 -P 16 (myongoredis --mode $MODE vs redis-server)"
for r in $(seq 1 "$ROUNDS"); do
  a=$(bench "${ours[0]}"); b=$(bench "${theirs[0]}")
  for t in SET GET; do
    x=$(echo "$a" | rate $t); y=$(echo "$b" | rate $t)
    printf 'round %d %s: myongoredis %s/s, redis-server %s/s, ratio %s\n' "$r" "$t" "$x" "$y" \
      "$(python3 -c "print(f'{$x/$y:.2f}')")"
  done
done

# keys_lost PORTS...: write $KEYS keys, reshard $SLOTS slots to the third
# node while a writer adds $LOAD more, count what every node holds.
keys_lost() {
  local p1=$1 p3=$3 total=0 acked
  for p in "$@"; do redis-cli -p "$p" flushall >/dev/null; done
  seq 1 "$KEYS" | awk '{ print "SET seed:" $1 " x" }' | redis-cli -c -p "$p1" >/dev/null
  seq 1 "$LOAD" | awk '{ print "SET load:" $1 " x" }' | redis-cli -c -p "$p1" >"$work/acks" 2>&1 &
  local writer=$!
  local start end
  start=$(date +%s.%N)
  redis-cli --cluster reshard "127.0.0.1:$p1" --cluster-from all \
    --cluster-to "$(redis-cli -p "$p3" cluster myid)" --cluster-slots "$SLOTS" --cluster-yes >"$work/reshard.log" 2>&1 \
    || { tail -n 5 "$work/reshard.log"; echo "reshard failed"; }
  end=$(date +%s.%N)
  wait "$writer" || true
  acked=$(grep -c '^OK$' "$work/acks" || true)
  for p in "$@"; do total=$((total + $(redis-cli -p "$p" dbsize))); done
  printf '%s slots in %.1f s; %s seed + %s acknowledged writes, %s keys found, %s lost\n' \
    "$SLOTS" "$(echo "$end - $start" | bc)" "$KEYS" "$acked" "$total" "$((KEYS + acked - total))"
}
echo "reshard under load: $KEYS keys, $LOAD more written during the move"
printf 'myongoredis:  '; keys_lost "${ours[@]}"
printf 'redis-server: '; keys_lost "${theirs[@]}"

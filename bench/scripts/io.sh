#!/usr/bin/env bash
# The I/O-model table (issue 20): redis-benchmark 7.0 against redis-server
# and myongoredis in each lock mode × I/O model, side by side, alternating,
# ROUNDS rounds; prints each run and then the medians and ratios to
# redis-server.
#
#   bash bench/scripts/io.sh                       # the full table
#   CONFIGS="shard/loop shard/threads" RUNS="p1 p16" bash bench/scripts/io.sh
#
# Runs (RUNS): p1   -t set,get -n $N -c 50
#              p16  -t set,get -n $((N*5)) -c 50 -P 16
#              c1000 -t set,get -n $N -c 1000
# Each config is mode/io[/loops]: shard/loop, mutex/threads, shard/loop/1 ...
# Check `uptime` first: a ratio measured under foreign load is not a result.
set -u
B="$(cd "$(dirname "$0")/../.." && pwd)/target/release"
N=${N:-200000}
ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-"p1 p16 c1000"}
CONFIGS=${CONFIGS:-"shard/loop shard/threads rw/loop rw/threads mutex/loop mutex/threads"}
ulimit -n 20000 2>/dev/null || true
out=$(mktemp)
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

start() { # config port
  local cfg=$1 port=$2
  if [ "$cfg" = redis ]; then
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --maxclients 10000 --daemonize yes >/dev/null
  else
    IFS=/ read -r mode io loops <<<"$cfg"
    local extra=()
    [ -n "${loops:-}" ] && extra=(--io-threads "$loops")
    "$B/myongoredis" --port "$port" --bind 127.0.0.1 --mode "$mode" --io "$io" "${extra[@]}" \
      >/dev/null 2>&1 &
  fi
  for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "$cfg did not start" >&2
}

stop() { # port
  redis-cli -p "$1" shutdown nosave >/dev/null 2>&1
  sleep 0.3
}

for round in $(seq 1 "$ROUNDS"); do
  for run in $RUNS; do
    case $run in
      p1) args=(-n "$N" -c 50) ;;
      p16) args=(-n $((N * 5)) -c 50 -P 16) ;;
      c1000) args=(-n "$N" -c 1000) ;;
    esac
    for cfg in redis $CONFIGS; do
      port=$((19000 + RANDOM % 500))
      start "$cfg" "$port"
      redis-benchmark -p "$port" -t set,get "${args[@]}" --csv 2>/dev/null |
        tr -d '"' | awk -F, -v r="$round" -v run="$run" -v cfg="$cfg" \
          '$1=="SET"||$1=="GET" {print r, run, cfg, $1, $2, $6}' | tee -a "$out"
      stop "$port"
    done
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "medians (ops/s, p99 ms) and ratio to redis-server:"
python3 - "$out" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r, run, cfg, test, rps, p99 = line.split()
    runs[(run, cfg, test)].append((float(rps), float(p99)))
keys = sorted({(run, test) for run, _, test in runs})
cfgs = []
for _, cfg, _ in runs:
    if cfg not in cfgs:
        cfgs.append(cfg)
for run, test in keys:
    base = statistics.median(v[0] for v in runs[(run, "redis", test)])
    for cfg in cfgs:
        vals = runs.get((run, cfg, test))
        if not vals:
            continue
        rps = statistics.median(v[0] for v in vals)
        p99 = statistics.median(v[1] for v in vals)
        # Each round against the same round's redis-server.
        pairs = zip(vals, runs[(run, "redis", test)])
        spread = ", ".join(f"{v[0] / b[0]:.2f}" for v, b in pairs)
        print(f"{run:6} {test} {cfg:16} {rps:10.0f}  p99 {p99:6.3f} ms  {rps / base:5.2f}x  (per round: {spread})")
EOF
rm -f "$out"

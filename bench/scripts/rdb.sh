#!/usr/bin/env bash
# 1M keys (16-byte keys, 16-byte values): SAVE time, dump.rdb size, load time
# at start-up; myongoredis (shard) and redis-server side by side. Then the
# writer stall of BGREWRITEAOF with an RDB base (aof-use-rdb-preamble yes).
set -u
B="$(cd "$(dirname "$0")/../.." && pwd)/target/release"
N=${N:-1000000}
python3 -c "
import sys
out=sys.stdout.buffer
for i in range($N):
    k=b'key:%012d'%i; v=b'v%015d'%i
    out.write(b'*3\r\n\$3\r\nSET\r\n\$%d\r\n%s\r\n\$%d\r\n%s\r\n'%(len(k),k,len(v),v))
" > /tmp/keys.resp
wait_up() { for i in $(seq 1 600); do redis-cli -p $1 ping 2>/dev/null | grep -q PONG && return; sleep 0.05; done; }
now() { date +%s.%N; }
for m in shard redis; do
  P=$((18600 + RANDOM % 300)); D=$(mktemp -d)
  if [ $m = redis ]; then
    redis-server --port $P --bind 127.0.0.1 --save '' --appendonly no --dir $D --daemonize yes --logfile $D/log >/dev/null
  else
    $B/myongoredis --port $P --bind 127.0.0.1 --mode $m --dir $D > $D/log 2>&1 &
  fi
  wait_up $P
  redis-cli -p $P --pipe < /tmp/keys.resp >/dev/null
  s=$(now); redis-cli -p $P save >/dev/null; e=$(now)
  save_s=$(echo "$e - $s" | bc)
  redis-cli -p $P shutdown nosave >/dev/null 2>&1; sleep 1
  size=$(stat -c %s $D/dump.rdb)
  s=$(now)
  if [ $m = redis ]; then
    redis-server --port $P --bind 127.0.0.1 --save '' --appendonly no --dir $D --daemonize yes --logfile $D/log2 >/dev/null
  else
    $B/myongoredis --port $P --bind 127.0.0.1 --mode $m --dir $D > $D/log2 2>&1 &
  fi
  wait_up $P; e=$(now)
  echo "$m: SAVE ${save_s}s, dump.rdb $size bytes, load $(echo "$e - $s" | bc)s, keys $(redis-cli -p $P dbsize)"
  redis-cli -p $P shutdown nosave >/dev/null 2>&1; sleep 0.5; rm -rf $D
done
# BGREWRITEAOF with an RDB base: the writer stall (ours) and the fork (redis).
for m in shard rw redis; do
  P=$((18600 + RANDOM % 300)); D=$(mktemp -d)
  if [ $m = redis ]; then
    redis-server --port $P --bind 127.0.0.1 --save '' --appendonly yes --dir $D --daemonize yes --logfile $D/log >/dev/null
  else
    $B/myongoredis --port $P --bind 127.0.0.1 --mode $m --appendonly yes --dir $D > $D/log 2>&1 &
  fi
  wait_up $P
  redis-cli -p $P --pipe < /tmp/keys.resp >/dev/null
  redis-cli -p $P bgrewriteaof >/dev/null
  for i in $(seq 1 600); do redis-cli -p $P info persistence | grep -q "aof_rewrites:1" && redis-cli -p $P info persistence | grep -q "aof_rewrite_in_progress:0" && break; sleep 0.1; done
  echo "$m: rewrite $(redis-cli -p $P info persistence | grep -E 'aof_rewrite_last_stall_us|aof_last_rewrite_time_sec|aof_base_size' | tr -d '\r' | tr '\n' ' ') $(redis-cli -p $P info stats | grep latest_fork_usec | tr -d '\r')"
  redis-cli -p $P shutdown nosave >/dev/null 2>&1; sleep 0.5; pkill -f "myongoredis --port $P" 2>/dev/null; rm -rf $D
done

"""redis-py's RedisCluster against a running myongoredis cluster.

    PYTHONPATH=<where redis is installed> python3 redis_py_cluster.py PORT

Connects the way an application does (one startup node; the library reads
CLUSTER SLOTS and finds the others), writes keys that land on every node,
reads them back, runs a multi-key command on one hash tag and a pipeline,
and checks that a cross-slot multi-key command is refused by the server
(CROSSSLOT) when sent to one node. Prints one line per check and a closing
'N passed, M failed'; exits 1 on any failure.
"""
import sys

from redis.cluster import RedisCluster
from redis.exceptions import ResponseError

port = int(sys.argv[1])
passed = failed = 0


def check(what, got, want):
    global passed, failed
    if got == want:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}: got {got!r}, want {want!r}")


rc = RedisCluster(host="127.0.0.1", port=port, decode_responses=True,
                  socket_timeout=10)
nodes = rc.get_primaries()
check("three primaries discovered", len(nodes), 3)
for i in range(300):
    rc.set(f"py:{i}", i)
check("300 keys read back", [rc.get(f"py:{i}") for i in range(300)],
      [str(i) for i in range(300)])
sizes = [rc.dbsize(target_nodes=n) for n in nodes]
check("keys on every node", all(s > 0 for s in sizes), True)
rc.mset({"{user}:a": "1", "{user}:b": "2"})
check("MGET within one hash tag", rc.mget("{user}:a", "{user}:b"), ["1", "2"])
check("MGET across slots (split by the library)",
      rc.mget_nonatomic("py:1", "py:2", "py:3"), ["1", "2", "3"])
for i in range(20):
    rc.delete(f"pycount:{i}")
pipe = rc.pipeline()
for i in range(20):
    pipe.incr(f"pycount:{i}")
check("pipeline across nodes", pipe.execute(), [1] * 20)
check("CLUSTER KEYSLOT", rc.keyslot("foo"), 12182)
info = rc.cluster_info()
check("cluster_state", info.get("cluster_state"), "ok")
node = nodes[0]
try:
    node.redis_connection.execute_command("MSET", "a", "1", "b", "2")
    check("CROSSSLOT refused", "no error", "CROSSSLOT")
except ResponseError as e:
    # redis-py drops the error code it has no exception class for.
    check("CROSSSLOT refused", str(e).replace("CROSSSLOT ", ""),
          "Keys in request don't hash to the same slot")
rc.close()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

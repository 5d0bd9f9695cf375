"""redis-py against a running server, with its defaults and with RESP2 forced.

    PYTHONPATH=<where redis is installed> python3 redis_py.py PORT

Each protocol: connect the way an application does, round-trip the reply
types the server has (status, integer, bulk, null, array, map, verbatim
text) and check what the library made of them. Prints one line per check
and a closing 'N passed, M failed'; exits 1 on any failure.
"""
import sys

import redis

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


for label, kwargs in [("defaults", {}), ("protocol=2", {"protocol": 2}), ("protocol=3", {"protocol": 3})]:
    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True, **kwargs)
    proto = r.connection_pool.get_connection().protocol
    print(f"== redis-py {redis.__version__}, {label}: RESP{proto}")
    check(f"{label} PING", r.ping(), True)
    check(f"{label} SET", r.set("py:k", "v", ex=100), True)
    check(f"{label} GET", r.get("py:k"), "v")
    check(f"{label} GET missing (null)", r.get("py:missing"), None)
    check(f"{label} INCRBY", r.incrby("py:n", 5), 5)
    check(f"{label} MGET with a null", r.mget("py:k", "py:missing"), ["v", None])
    check(f"{label} CONFIG GET (map)", r.config_get("timeout"), {"timeout": "0"})
    check(f"{label} INFO (verbatim)", r.info("keyspace").get("db0", {}).get("keys", 0) >= 2, True)
    check(f"{label} TTL", r.ttl("py:k") in (99, 100), True)
    check(f"{label} CLIENT SETNAME/GETNAME", (r.client_setname("py"), r.client_getname()), (True, "py"))
    check(f"{label} DEL", r.delete("py:k", "py:n"), 2)
    r.close()

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

"""redis-py against a running server, with its defaults and with RESP2 forced.

    PYTHONPATH=<where redis is installed> python3 redis_py.py PORT [PASSWORD]

With a PASSWORD (a server started with --requirepass), every connection
authenticates the way redis-py does it: HELLO 3 AUTH default PASSWORD in
RESP3, AUTH PASSWORD in RESP2; and a wrong or missing password must be
refused with the error redis-py maps to its authentication exceptions.

Each protocol: connect the way an application does (to database 2, which
redis-py selects on connect), round-trip the reply types the server has
(status, integer, bulk, null, array, map, verbatim text), run a pipeline
(a MULTI/EXEC transaction by default), a WATCH-based transaction and hash
commands, and check what the library made of them. Prints one line per check
and a closing 'N passed, M failed'; exits 1 on any failure.
"""
import sys
import time

import redis

port = int(sys.argv[1])
password = sys.argv[2] if len(sys.argv) > 2 else None
passed = failed = 0


def check(what, got, want):
    global passed, failed
    if got == want:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}: got {got!r}, want {want!r}")


def refused(what, **kwargs):
    """A connection that must fail to authenticate."""
    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True, **kwargs)
    try:
        r.ping()
        check(what, "connected", "refused")
    except redis.exceptions.AuthenticationError as e:
        check(what, type(e).__name__ in ("AuthenticationError", "AuthenticationRequiredError"), True)
    finally:
        r.close()


for label, kwargs in [("defaults", {}), ("protocol=2", {"protocol": 2}), ("protocol=3", {"protocol": 3})]:
    if password is not None:
        label = f"{label}+password"
        refused(f"{label} wrong password", password=password + "-wrong", **kwargs)
        refused(f"{label} no password", **kwargs)
        kwargs = dict(kwargs, password=password)
    r = redis.Redis(host="127.0.0.1", port=port, db=2, decode_responses=True, **kwargs)
    proto = r.connection_pool.get_connection().protocol
    print(f"== redis-py {redis.__version__}, {label}: RESP{proto}")
    check(f"{label} PING", r.ping(), True)
    check(f"{label} SET", r.set("py:k", "v", ex=100), True)
    check(f"{label} GET", r.get("py:k"), "v")
    check(f"{label} GET missing (null)", r.get("py:missing"), None)
    check(f"{label} INCRBY", r.incrby("py:n", 5), 5)
    check(f"{label} MGET with a null", r.mget("py:k", "py:missing"), ["v", None])
    check(f"{label} CONFIG GET (map)", r.config_get("timeout"), {"timeout": "0"})
    check(f"{label} INFO (verbatim), db 2", r.info("keyspace").get("db2", {}).get("keys", 0) >= 2, True)
    check(f"{label} TTL", r.ttl("py:k") in (99, 100), True)
    check(f"{label} CLIENT SETNAME/GETNAME", (r.client_setname("py"), r.client_getname()), (True, "py"))
    check(f"{label} ACL WHOAMI", r.acl_whoami(), "default")
    me = r.client_info()
    check(f"{label} CLIENT INFO (parsed)", (me.get("name"), me.get("user"), str(me.get("resp"))), ("py", "default", str(proto)))
    with r.pipeline() as p:  # transaction=True: MULTI ... EXEC
        p.set("py:t", 1).incr("py:t").get("py:t")
        check(f"{label} pipeline (MULTI/EXEC)", p.execute(), [True, 2, "2"])

    def bump(pipe):
        value = int(pipe.get("py:t"))
        pipe.multi()
        pipe.set("py:t", value + 1)

    check(f"{label} WATCH transaction", r.transaction(bump, "py:t"), [True])
    check(f"{label} after WATCH", r.get("py:t"), "3")
    check(f"{label} HSET mapping", r.hset("py:h", mapping={"a": "1", "b": "2"}), 2)
    check(f"{label} HGETALL (map)", r.hgetall("py:h"), {"a": "1", "b": "2"})
    check(f"{label} HINCRBY", r.hincrby("py:h", "a", 5), 6)
    check(f"{label} HMGET", r.hmget("py:h", "a", "nosuch"), ["6", None])
    # Sets come back as Python sets (RESP3 sends a set, RESP2 an array that
    # redis-py turns into one): no order to compare.
    check(f"{label} SADD", r.sadd("py:s", "a", "b", "c", "a"), 3)
    check(f"{label} SADD second set", r.sadd("py:s2", "b", "c", "d"), 3)
    check(f"{label} SISMEMBER", (r.sismember("py:s", "b"), r.sismember("py:s", "z")), (1, 0))
    check(f"{label} SMEMBERS (a set)", r.smembers("py:s"), {"a", "b", "c"})
    check(f"{label} SINTER (a set)", r.sinter("py:s", "py:s2"), {"b", "c"})
    check(f"{label} DEL", r.delete("py:k", "py:n", "py:t", "py:h", "py:s", "py:s2"), 6)

    # Pub/sub with a pattern, on redis-py's own subscriber connection.
    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe("py:ch")
    p.psubscribe("py:*")
    check(f"{label} PUBLISH receivers", r.publish("py:ch", "hello"), 2)
    got = []
    deadline = time.monotonic() + 10
    while len(got) < 2 and time.monotonic() < deadline:
        m = p.get_message(timeout=1.0)
        if m is not None:
            got.append((m["type"], m.get("pattern"), m["channel"], m["data"]))
    check(
        f"{label} message and pmessage",
        sorted(got, key=str),
        sorted([("message", None, "py:ch", "hello"), ("pmessage", "py:*", "py:ch", "hello")], key=str),
    )
    p.close()

    # A job queue: three consumers blocked in BLPOP, one producer.
    import threading

    got, lock = [], threading.Lock()

    def consume():
        c = redis.Redis(host="127.0.0.1", port=port, db=2, decode_responses=True, **kwargs)
        while True:
            job = c.blpop("py:jobs", timeout=1)
            if job is None:
                break
            with lock:
                got.append(job[1])
        c.close()

    consumers = [threading.Thread(target=consume) for _ in range(3)]
    for t in consumers:
        t.start()
    for i in range(30):
        r.rpush("py:jobs", f"job{i}")
    for t in consumers:
        t.join()
    check(f"{label} BLPOP queue: every job once", sorted(got), sorted(f"job{i}" for i in range(30)))
    r.close()

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

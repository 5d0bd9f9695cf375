// node-redis against a running server, with its defaults (RESP3: it opens
// with HELLO 3) and with RESP2 forced.
//
//   NODE_PATH=<node_modules with redis> node node_redis.js PORT [PASSWORD]
//
// With a PASSWORD (a server started with --requirepass) every session
// authenticates (HELLO 3 AUTH default PASSWORD, or AUTH PASSWORD in RESP2),
// and a session with a wrong password must fail to connect with WRONGPASS.
//
// Each way: connect as an application does (createClient().connect()),
// round-trip the reply types the server has, check what the library made
// of them. Prints one line per check and 'N passed, M failed'; exits 1 on
// any failure, and never hangs: a connection that does not become ready in
// 10 s is a failure (node-redis otherwise reconnects forever).
const { createClient } = require('redis');

const port = Number(process.argv[2]);
const password = process.argv[3];
let passed = 0;
let failed = 0;

function check(what, got, want) {
  const same = JSON.stringify(got) === JSON.stringify(want);
  if (same) { passed++; console.log(`ok   ${what}`); }
  else { failed++; console.log(`FAIL ${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`); }
}

function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function session(label, options) {
  const client = createClient({
    url: `redis://127.0.0.1:${port}`,
    database: 2,
    socket: { reconnectStrategy: false },
    ...options,
  });
  client.on('error', (e) => console.log(`${label}: client error: ${e.message}`));
  await withDeadline(client.connect(), 10000, `${label} connect`);
  console.log(`== node-redis ${require('redis/package.json').version}, ${label}`);
  check(`${label} PING`, await client.ping(), 'PONG');
  check(`${label} SET`, await client.set('node:k', 'v', { EX: 100 }), 'OK');
  check(`${label} GET`, await client.get('node:k'), 'v');
  check(`${label} GET missing (null)`, await client.get('node:missing'), null);
  check(`${label} INCRBY`, await client.incrBy('node:n', 5), 5);
  check(`${label} MGET with a null`, await client.mGet(['node:k', 'node:missing']), ['v', null]);
  check(`${label} CONFIG GET (map)`, await client.configGet('timeout'), { timeout: '0' });
  const info = await client.info('keyspace');
  check(`${label} INFO (verbatim), db 2`, String(info).includes('db2:keys='), true);
  check(`${label} ACL WHOAMI`, await client.aclWhoAmI(), 'default');
  check(`${label} MULTI/EXEC`, await client.multi().set('node:t', '1').incr('node:t').get('node:t').exec(), ['OK', 2, '2']);
  await client.watch('node:t');
  check(`${label} WATCH + EXEC`, await client.multi().incr('node:t').exec(), [3]);
  check(`${label} HSET object`, await client.hSet('node:h', { a: '1', b: '2' }), 2);
  const h = await client.hGetAll('node:h');
  check(`${label} HGETALL`, h instanceof Map ? Object.fromEntries(h) : { ...h }, { a: '1', b: '2' });
  check(`${label} HINCRBY`, await client.hIncrBy('node:h', 'a', 5), 6);
  // Sets: SMEMBERS and SINTER list members in no specified order (RESP3
  // sends a set), so they are compared sorted.
  check(`${label} SADD`, await client.sAdd('node:s', ['a', 'b', 'c', 'a']), 3);
  check(`${label} SADD second set`, await client.sAdd('node:s2', ['b', 'c', 'd']), 3);
  check(`${label} SISMEMBER`, [await client.sIsMember('node:s', 'b'), await client.sIsMember('node:s', 'z')], [1, 0]);
  check(`${label} SMEMBERS (sorted)`, Array.from(await client.sMembers('node:s')).sort(), ['a', 'b', 'c']);
  check(`${label} SINTER (sorted)`, Array.from(await client.sInter(['node:s', 'node:s2'])).sort(), ['b', 'c']);
  check(`${label} DEL`, await client.del(['node:k', 'node:n', 'node:t', 'node:h', 'node:s', 'node:s2']), 6);
  // A job queue: a consumer on its own connection blocked in BLPOP.
  const consumer = client.duplicate();
  consumer.on('error', () => {});
  await withDeadline(consumer.connect(), 10000, `${label} consumer connect`);
  const waiting = consumer.blPop('node:jobs', 5);
  await client.rPush('node:jobs', 'job1');
  const job = await withDeadline(waiting, 10000, `${label} BLPOP`);
  check(`${label} BLPOP woken by a push`, job && [job.key, job.element], ['node:jobs', 'job1']);
  check(`${label} BLPOP timeout`, await consumer.blPop('node:empty', 0.1), null);
  await consumer.quit();
  await client.quit();
}

// A connection that must be refused: its connect fails with `error`.
async function refused(label, options, error) {
  const client = createClient({
    url: `redis://127.0.0.1:${port}`,
    socket: { reconnectStrategy: false },
    ...options,
  });
  client.on('error', () => {});
  try {
    await withDeadline(client.connect(), 10000, `${label} connect`);
    check(`${label} refused`, 'connected', error);
    await client.quit();
  } catch (e) {
    check(`${label} refused`, String(e.message).startsWith(error) ? error : e.message, error);
  }
}

(async () => {
  try {
    if (password === undefined) {
      await session('defaults', {});
      await session('RESP2', { RESP: 2 });
    } else {
      await refused('defaults+wrong password', { password: `${password}-wrong` }, 'WRONGPASS');
      await refused('RESP2+wrong password', { RESP: 2, password: `${password}-wrong` }, 'WRONGPASS');
      await session('defaults+password', { password });
      await session('RESP2+password', { RESP: 2, password });
    }
  } catch (e) {
    failed++;
    console.log(`FAIL ${e.message}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();

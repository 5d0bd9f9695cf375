// ioredis against a running server, with its defaults (ioredis 6: RESP3,
// opening with HELLO 3) and with RESP2 forced.
//
//   NODE_PATH=<node_modules with ioredis> node ioredis.js PORT [PASSWORD]
//
// Each way: connect as an application does, round-trip the reply types
// the server has, check what the library made of them. With a PASSWORD (a
// server started with --requirepass), every connection authenticates, and
// one with a wrong password must be refused with WRONGPASS. Prints one line
// per check and 'N passed, M failed'; exits 1 on any failure, and never
// hangs: ioredis's reconnection and offline queue are off, and every
// connection has a deadline.
const Redis = require('ioredis');

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

function client(options) {
  const c = new Redis({
    host: '127.0.0.1',
    port,
    db: 2,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    ...options,
  });
  c.on('error', () => {});
  return c;
}

async function session(label, options) {
  const c = client(options);
  await withDeadline(c.connect(), 10000, `${label} connect`);
  console.log(`== ioredis ${require('ioredis/package.json').version}, ${label}`);
  check(`${label} PING`, await c.ping(), 'PONG');
  check(`${label} SET`, await c.set('io:k', 'v', 'EX', 100), 'OK');
  check(`${label} GET`, await c.get('io:k'), 'v');
  check(`${label} GET missing (null)`, await c.get('io:missing'), null);
  check(`${label} INCRBY`, await c.incrby('io:n', 5), 5);
  check(`${label} MGET with a null`, await c.mget('io:k', 'io:missing'), ['v', null]);
  const config = await c.config('GET', 'timeout');
  // A map in RESP3 (an object), a flat array in RESP2.
  const pairs = Array.isArray(config) ? config : Object.entries(config).flat();
  check(`${label} CONFIG GET`, pairs, ['timeout', '0']);
  check(`${label} INFO, db 2`, String(await c.info('keyspace')).includes('db2:keys='), true);
  check(`${label} TTL`, [99, 100].includes(await c.ttl('io:k')), true);
  check(`${label} CLIENT SETNAME/GETNAME`, [await c.client('SETNAME', 'io'), await c.client('GETNAME')], ['OK', 'io']);
  check(`${label} ACL WHOAMI`, await c.acl('WHOAMI'), 'default');
  check(`${label} MULTI/EXEC`, await c.multi().set('io:t', '1').incr('io:t').get('io:t').exec(), [[null, 'OK'], [null, 2], [null, '2']]);
  await c.watch('io:t');
  check(`${label} WATCH + EXEC`, await c.multi().incr('io:t').exec(), [[null, 3]]);
  check(`${label} HSET object`, await c.hset('io:h', { a: '1', b: '2' }), 2);
  const h = await c.hgetall('io:h');
  check(`${label} HGETALL`, h instanceof Map ? Object.fromEntries(h) : { ...h }, { a: '1', b: '2' });
  check(`${label} HINCRBY`, await c.hincrby('io:h', 'a', 5), 6);
  check(`${label} DEL`, await c.del('io:k', 'io:n', 'io:t', 'io:h'), 4);
  await c.quit();
}

// A connection with a wrong password: ioredis reports the server's
// WRONGPASS through its 'error' event and fails the connect with
// "Connection is closed." (it does so with redis-server too).
async function refused(label, options) {
  const c = client(options);
  const errors = [];
  c.on('error', (e) => errors.push(String(e.message)));
  let outcome = 'served';
  try {
    await withDeadline(c.connect(), 10000, `${label} connect`);
    await c.ping();
  } catch (e) {
    errors.push(String(e.message));
    outcome = errors.some((m) => m.includes('WRONGPASS')) ? 'WRONGPASS' : errors.join(' / ');
  } finally {
    c.disconnect();
  }
  check(`${label} refused`, outcome, 'WRONGPASS');
}

(async () => {
  try {
    if (password === undefined) {
      await session('defaults', {});
      await session('RESP2', { protocol: 2 });
    } else {
      await refused('defaults+wrong password', { password: `${password}-wrong` });
      await refused('RESP2+wrong password', { protocol: 2, password: `${password}-wrong` });
      await session('defaults+password', { password });
      await session('RESP2+password', { protocol: 2, password });
    }
  } catch (e) {
    failed++;
    console.log(`FAIL ${e.message}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();

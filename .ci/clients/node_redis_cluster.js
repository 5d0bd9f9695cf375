// node-redis's createCluster against a running myongoredis cluster.
//
//   NODE_PATH=<node_modules with redis> node node_redis_cluster.js PORT
//
// One root node; the library discovers the others from CLUSTER SLOTS,
// follows MOVED, and routes each command by its key's slot. Writes keys
// that land on every master, reads them back, runs a multi-key command on
// one hash tag and a transaction. Prints one line per check and
// 'N passed, M failed'; exits 1 on any failure, and never hangs: a
// cluster that does not become ready in 20 s is a failure.
const { createCluster } = require('redis');

const port = Number(process.argv[2]);
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
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function main() {
  const cluster = createCluster({
    rootNodes: [{ url: `redis://127.0.0.1:${port}` }],
    defaults: { socket: { reconnectStrategy: false } },
  });
  cluster.on('error', (e) => console.log(`cluster error: ${e.message}`));
  await withDeadline(cluster.connect(), 20000, 'connect');
  check('three masters discovered', cluster.masters.length, 3);
  for (let i = 0; i < 300; i++) await cluster.set(`node:${i}`, String(i));
  const got = [];
  for (let i = 0; i < 300; i++) got.push(await cluster.get(`node:${i}`));
  check('300 keys read back', got, Array.from({ length: 300 }, (_, i) => String(i)));
  await cluster.mSet({ '{tag}:a': '1', '{tag}:b': '2' });
  check('MGET within one hash tag', await cluster.mGet(['{tag}:a', '{tag}:b']), ['1', '2']);
  await cluster.del('{tag}:n');
  const replies = await cluster.multi('{tag}:n').incr('{tag}:n').incr('{tag}:n').exec();
  check('MULTI/EXEC on one slot', replies, [1, 2]);
  let sizes = 0;
  for (const master of cluster.masters) {
    const client = await cluster.nodeClient(master);
    if ((await client.dbSize()) > 0) sizes++;
  }
  check('keys on every master', sizes, 3);
  await cluster.close();
}

withDeadline(main(), 60000, 'the whole check')
  .catch((e) => { failed++; console.log(`FAIL ${e.message}`); })
  .finally(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  });

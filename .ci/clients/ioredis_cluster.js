// ioredis's Redis.Cluster against a running myongoredis cluster.
//
//   NODE_PATH=<node_modules with ioredis> node ioredis_cluster.js PORT
//
// One startup node; ioredis reads CLUSTER SLOTS, follows MOVED and routes
// each command (and each pipeline's commands) by slot. Writes keys that
// land on every master, reads them back, runs a multi-key command on one
// hash tag, a pipeline, and a transaction. Prints one line per check and
// 'N passed, M failed'; exits 1 on any failure, and never hangs: the
// whole check has a deadline and reconnection is off.
const Redis = require('ioredis');

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
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function main() {
  const cluster = new Redis.Cluster([{ host: '127.0.0.1', port }], {
    clusterRetryStrategy: () => null,
    redisOptions: { maxRetriesPerRequest: 1 },
  });
  try {
    for (let i = 0; i < 300; i++) await cluster.set(`io:${i}`, String(i));
    const got = [];
    for (let i = 0; i < 300; i++) got.push(await cluster.get(`io:${i}`));
    check('300 keys read back', got, Array.from({ length: 300 }, (_, i) => String(i)));
    check('three masters', cluster.nodes('master').length, 3);
    let withKeys = 0;
    for (const node of cluster.nodes('master')) {
      if ((await node.dbsize()) > 0) withKeys++;
    }
    check('keys on every master', withKeys, 3);
    await cluster.mset('{io}:a', '1', '{io}:b', '2');
    check('MGET within one hash tag', await cluster.mget('{io}:a', '{io}:b'), ['1', '2']);
    const piped = await cluster.pipeline().get('{io}:a').get('{io}:b').exec();
    check('pipeline on one slot', piped.map(([err, v]) => [err, v]), [[null, '1'], [null, '2']]);
    await cluster.del('{io}:n');
    const txn = await cluster.multi().incr('{io}:n').incr('{io}:n').exec();
    check('MULTI/EXEC on one slot', txn.map(([err, v]) => [err, v]), [[null, 1], [null, 2]]);
  } finally {
    cluster.disconnect();
  }
}

withDeadline(main(), 60000, 'the whole check')
  .catch((e) => { failed++; console.log(`FAIL ${e.message}`); })
  .finally(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  });

// FFI overhead: the pulls dd_bench --direct-only makes from C++ (64 KiB blocks, batches of 1 and
// 64, random blocks of a cold 256 MiB region served by another process, same-host path), made
// again through @dd/sys (sync and async calls) and through @dd/core (async), with the same
// schedule and the same time/byte budget. Ratios are against the C++ figures of the same run.
// The per-call figure, µs added over C++ for one block, is taken against a C++ direct pull
// this section measures itself just before (a section cannot read another section's results).
// The process may use two CPUs: an async call runs on a thread of the completion queue, which
// needs a CPU of its own to cost little (docs/design/completions.md). `--one-cpu` (run under
// `taskset -c 1`) measures the one-block figures again with a single CPU for both threads.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { addedPerCall, againstSectionDirectX64, measureDirectPulls } from '../lib/ffi-added.mjs';
import { importCore, importSys } from '../lib/packages.mjs';
import { entry } from '../lib/report.mjs';
import { note, sectionArgs } from '../lib/section-args.mjs';

const { quick, write } = sectionArgs();
const oneCpu = process.argv.includes('--one-cpu');
const suffix = oneCpu ? ' (client on one CPU)' : '';
const { CachePlacement, LlmRole, StatusCode, loadNativeBindings } = await importSys();
const { LlmDataDist, DataType } = await importCore();

const BLOCK = 64 * 1024;
const REGION_BYTES = 256 * 1024 * 1024;
const BLOCKS = REGION_BYTES / BLOCK;
const BATCHES = oneCpu ? [1] : [1, 64];
const CONCURRENT = 1000;
// dd_bench's budgets: stop once the bytes and op count are reached, or the time is up.
const budget = quick ? { seconds: 0.12, bytes: 96 * 2 ** 20, ops: 64 } : { seconds: 0.6, bytes: 768 * 2 ** 20, ops: 256 };
// V8 optimises the loop and the call path while they run, which C++ never pays: each figure gets
// 4096 warm-up calls (100 ops left quick one-block figures at 27 µs against 18 µs in the full run)
// and is timed in ROUNDS rounds, the first discarded (it was ~2 µs per call above the next ones);
// the figure is the median of the others, as dd_bench reports the median of its rounds.
const warmupOps = (batch) => Math.max(100, Math.ceil(4096 / batch));
const ROUNDS = quick ? 2 : 5;

/** The median of every round but the first. */
function medianOfLater(rounds) {
  const later = rounds.slice(1).sort((a, b) => a - b);
  const mid = later.length >> 1;
  return later.length % 2 === 1 ? later[mid] : (later[mid - 1] + later[mid]) / 2;
}

/** A fixed pseudo-random permutation of [0, n). */
function permutation(n, seed) {
  const out = Array.from({ length: n }, (_, i) => i);
  let state = seed >>> 0;
  for (let i = n - 1; i > 0; i -= 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Batches of `batch` blocks covering the region in random order on both sides, so every pull touches cold memory. */
function schedule(batch, seed) {
  const src = permutation(BLOCKS, seed);
  const dst = permutation(BLOCKS, seed + 1);
  const out = [];
  for (let first = 0; first + batch <= BLOCKS; first += batch) {
    out.push({ src: BigUint64Array.from(src.slice(first, first + batch), BigInt), dst: BigUint64Array.from(dst.slice(first, first + batch), BigInt) });
  }
  return out;
}

const schedules = new Map([1, 64].map((batch) => [batch, schedule(batch, 7 + batch)]));

/** Mean ns per op of `op(batch)` over the schedule, cycling, within the budget, per round; see medianOfLater. */
async function measure(batch, op) {
  const plan = schedules.get(batch);
  for (let i = 0; i < warmupOps(batch); i += 1) await op(plan[i % plan.length]);
  const rounds = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    let ops = 0;
    const t0 = performance.now();
    let seconds = 0;
    while (!((ops * batch * BLOCK >= budget.bytes && ops >= budget.ops) || seconds >= budget.seconds)) {
      await op(plan[ops % plan.length]);
      ops += 1;
      seconds = (performance.now() - t0) / 1000;
    }
    rounds.push((seconds * 1e9) / ops);
  }
  return medianOfLater(rounds);
}

/** The same loop for a synchronous op: no await between calls, as a sync caller runs. */
function measureSync(batch, op) {
  const plan = schedules.get(batch);
  for (let i = 0; i < warmupOps(batch); i += 1) op(plan[i % plan.length]);
  const rounds = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    let ops = 0;
    const t0 = performance.now();
    let seconds = 0;
    while (!((ops * batch * BLOCK >= budget.bytes && ops >= budget.ops) || seconds >= budget.seconds)) {
      op(plan[ops % plan.length]);
      ops += 1;
      seconds = (performance.now() - t0) / 1000;
    }
    rounds.push((seconds * 1e9) / ops);
  }
  return medianOfLater(rounds);
}

/** Every byte of the pulled blocks: remote block b is filled with b & 0xff. */
function checkPulled(local, blocks) {
  blocks.dst.forEach((d, j) => {
    const expected = Number(blocks.src[j]) & 0xff;
    const at = Number(d) * BLOCK;
    const bytes = local.subarray(at, at + BLOCK);
    if (bytes.some((byte) => byte !== expected)) throw new Error(`local block ${d} does not hold remote block ${blocks.src[j]}`);
  });
}

// The serving process, on the other CPU where we can pin it (dd_bench pins its peer to CPU 0).
const pinned = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const direct = measureDirectPulls({ quick, pinned, log: note });
const serveScript = fileURLToPath(new URL('../fixtures/serve-cache.mjs', import.meta.url));
const serveArgs = [process.execPath, serveScript, String(BLOCKS), String(BLOCK)];
const server = pinned ? spawn('taskset', ['-c', '0', ...serveArgs], { stdio: ['pipe', 'pipe', 'inherit'] }) : spawn(serveArgs[0], serveArgs.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
const readyTimer = setTimeout(() => server.kill('SIGKILL'), 30_000);
const first = await createInterface({ input: server.stdout })[Symbol.asyncIterator]().next();
clearTimeout(readyTimer);
const ready = /^READY (\d+) (\d+)$/.exec(first.value ?? '');
if (first.done || ready === null) throw new Error(`the serving process did not get ready (said: ${first.value ?? 'nothing'})`);
const remote = { ip: '127.0.0.1', port: Number(ready[1]) };
const remoteCacheId = BigInt(ready[2]);
note(`serving process ${server.pid}${pinned ? ' on CPU 0' : ''}, ${REGION_BYTES / 2 ** 20} MiB of 64 KiB blocks; budget ${budget.seconds} s or ${budget.bytes / 2 ** 20} MiB per figure`);

const measured = {};

// @dd/sys: the generated bindings, called as a thin layer would.
{
  const b = loadNativeBindings();
  const check = (what, status) => {
    if (status !== StatusCode.LLM_SUCCESS) throw new Error(`${what}: status ${status}: ${b.lastError()}`);
  };
  const { handle } = b.LlmDataDist_create(2n, LlmRole.kDecoder);
  check('Initialize', b.LlmDataDist_Initialize(handle, { 'llm.DeviceId': '0', 'llm.SyncKvCacheWaitTime': '10000' }));
  const local = new Uint8Array(REGION_BYTES).fill(0); // touched, so no first-touch faults are timed
  const desc = { placement: CachePlacement.kHost, num_tensors: 1, data_type: DataType.DT_UINT8, shape: BigInt64Array.from([BigInt(BLOCKS), BigInt(BLOCK)]) };
  const reg = b.LlmDataDist_RegisterKvCache(handle, desc, BigUint64Array.from([b.addressOf(local)]));
  check('RegisterKvCache', reg.status);
  const cache = { cache_id: reg.cache_id, tensor_addrs: new BigUint64Array(0), cache_desc: desc };
  const cluster = { remote_cluster_id: 1n, remote_role_type: 0, local_ip_infos: [{ ip: '127.0.0.1', port: 0 }], remote_ip_infos: [remote] };
  check('LinkLlmClusters', (await b.LlmDataDist_LinkLlmClustersAsync(handle, [cluster], 5000)).status);
  const index = { cluster_id: 1n, cache_id: remoteCacheId, batch_index: 0 };
  const syncPull = (blocks) => check('PullKvBlocks', b.LlmDataDist_PullKvBlocks(handle, index, cache, blocks.src, blocks.dst));
  const asyncPull = async (blocks) => check('PullKvBlocksAsync', await b.LlmDataDist_PullKvBlocksAsync(handle, index, cache, blocks.src, blocks.dst));
  const probe = schedules.get(64)[3];
  syncPull(probe);
  checkPulled(local, probe);
  local.fill(0);
  await asyncPull(probe);
  checkPulled(local, probe);
  for (const batch of BATCHES) {
    measured[`sys-sync-${batch}`] = measureSync(batch, syncPull);
    measured[`sys-async-${batch}`] = await measure(batch, asyncPull);
  }
  check('UnlinkLlmClusters', (await b.LlmDataDist_UnlinkLlmClustersAsync(handle, [cluster], 5000, false)).status);
  check('UnregisterKvCache', b.LlmDataDist_UnregisterKvCache(handle, reg.cache_id));
  check('Finalize', b.LlmDataDist_Finalize(handle));
  b.LlmDataDist_destroy(handle);
}

// @dd/core: the idiomatic API (argument checks, block lists copied, tracing; async only).
{
  const engine = LlmDataDist.create({ clusterId: 3n, role: 'decoder', syncTimeoutMs: 10_000 });
  const cache = engine.registerHostCache({ placement: 'host', dataType: DataType.DT_UINT8, shape: [BLOCKS, BLOCK], numTensors: 1 });
  cache.tensor(0).fill(0);
  await engine.link({ clusterId: 1n, remote, local: { ip: '127.0.0.1', port: 0 } }, { timeoutMs: 5000 });
  const from = { clusterId: 1n, cacheId: remoteCacheId };
  const pull = (blocks) => engine.pullBlocks({ from, into: cache, srcBlocks: blocks.src, dstBlocks: blocks.dst });
  const probe = schedules.get(64)[5];
  await pull(probe);
  checkPulled(cache.tensor(0), probe);
  for (const batch of BATCHES) measured[`core-${batch}`] = await measure(batch, pull);
  if (!oneCpu) {
    // Many transfers in flight (issue 13): CONCURRENT one-block pulls at once, against one pull of
    // the same CONCURRENT blocks; rounds of the two alternate (so drift hits both alike), the best
    // of each kept (the first rounds warm up).
    const many = schedule(CONCURRENT, 91)[0];
    const oneBlock = Array.from({ length: CONCURRENT }, (_, i) => ({ src: many.src.subarray(i, i + 1), dst: many.dst.subarray(i, i + 1) }));
    const timed = async (op) => {
      const t0 = performance.now();
      await op();
      return performance.now() - t0;
    };
    cache.tensor(0).fill(0);
    await Promise.all(oneBlock.map((blocks) => pull(blocks)));
    checkPulled(cache.tensor(0), many);
    measured.concurrentMs = Infinity;
    measured.oneCallMs = Infinity;
    for (let round = 0; round < (quick ? 4 : 10); round += 1) {
      measured.concurrentMs = Math.min(measured.concurrentMs, await timed(() => Promise.all(oneBlock.map((blocks) => pull(blocks)))));
      measured.oneCallMs = Math.min(measured.oneCallMs, await timed(() => pull(many)));
    }
  }
  await engine.unlink(1n);
  cache.unregister();
  engine.close();
}

server.stdin.end();
const exitTimer = setTimeout(() => server.kill('SIGKILL'), 10_000);
await once(server, 'exit');
clearTimeout(exitTimer);

const results = [];
for (const batch of BATCHES) {
  const direct = `direct C++ pull same-host 64KiB x${batch} ns/op`;
  results.push(
    entry(`@dd/sys PullKvBlocks (sync) same-host 64KiB x${batch} ns/op${suffix}`, measured[`sys-sync-${batch}`], 'ns/op', direct),
    entry(`@dd/sys PullKvBlocksAsync same-host 64KiB x${batch} ns/op${suffix}`, measured[`sys-async-${batch}`], 'ns/op', direct),
    entry(`@dd/core pullBlocks same-host 64KiB x${batch} ns/op${suffix}`, measured[`core-${batch}`], 'ns/op', direct),
  );
}
results.push(...addedPerCall(direct[1], measured, suffix));
if (!oneCpu) results.push(...againstSectionDirectX64(direct[64], measured));
if (!oneCpu) {
  const concurrentBytes = CONCURRENT * BLOCK;
  const oneCall = `@dd/core one pullBlocks of ${CONCURRENT} blocks same-host 64KiB GB/s`;
  results.push(
    entry(oneCall, concurrentBytes / measured.oneCallMs / 1e6, 'GB/s'),
    entry(`@dd/core ${CONCURRENT} concurrent one-block pullBlocks same-host 64KiB GB/s`, concurrentBytes / measured.concurrentMs / 1e6, 'GB/s', oneCall),
  );
}
write(results);

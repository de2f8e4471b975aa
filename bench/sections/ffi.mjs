// FFI overhead: the pulls dd_bench --direct-only makes from C++ (64 KiB blocks, batches of 1 and
// 64, random blocks of a cold 256 MiB region served by another process, same-host path), made
// again through @dd/sys (sync and async calls) and through @dd/core (async). Ratios are against
// the C++ figures of the same run. The figures (µs added over C++ for one block, a 64-block
// pull against C++) are taken against C++ direct pulls this section makes itself, through
// dd_bench --direct-rounds: a round of C++ pulls, then a round of each TypeScript layer, the same
// number of pulls each, again and again, so that this machine's drift (tens of percent within a
// minute) hits every side alike. Both pull the same memory from the same serving process,
// dd_bench's peer (pinned to CPU 0 where taskset works), so they differ only in the caller.
// The process may use two CPUs: an async call runs on a thread of the completion queue, which
// needs a CPU of its own to cost little (docs/design/completions.md). `--one-cpu` (run under
// `taskset -c 1`) measures the one-block figures again with a single CPU for both threads.
// The async floor (bench/lib/async-floor.mjs) states what any async call adds on this machine,
// without dd or FFI: the bound under the one-block figures of the async layers.
import { spawnSync } from 'node:child_process';
import { measureAsyncFloor } from '../lib/async-floor.mjs';
import { addedPerCall, againstSectionDirectX64, checkPeerPattern, openDirectRounds } from '../lib/ffi-added.mjs';
import { importCore, importSys } from '../lib/packages.mjs';
import { entry } from '../lib/report.mjs';
import { medianOfLater } from '../lib/rounds.mjs';
import { note, sectionArgs } from '../lib/section-args.mjs';

const { quick, write } = sectionArgs();
const oneCpu = process.argv.includes('--one-cpu');
const suffix = oneCpu ? ' (client on one CPU)' : '';
const { CachePlacement, LlmRole, StatusCode, loadNativeBindings } = await importSys();
const { LlmDataDist, DataType, allocateHostTensors } = await importCore();

const BLOCK = 64 * 1024;
const REGION_BYTES = 256 * 1024 * 1024;
const BLOCKS = REGION_BYTES / BLOCK;
const BATCHES = oneCpu ? [1] : [1, 64];
const CONCURRENT = 1000;
// Pulls per round, the same for C++ and every TypeScript layer (about 0.1 s of one-block pulls).
const roundOps = (batch) => (quick ? Math.max(8, 1024 / batch) : Math.max(32, 4096 / batch));
// V8 optimises the loop and the call path while they run, which C++ never pays: each layer gets
// 4096 warm-up calls (100 ops left quick one-block figures at 27 µs against 18 µs in the full run),
// which also pass once over every block (a block's first pull costs ~140 µs here, both sides), and
// is timed in ROUNDS rounds, the first discarded; the figure is the median of the others, as
// dd_bench reports the median of its rounds.
const warmupOps = (batch) => Math.max(100, Math.ceil(4096 / batch));
const ROUNDS = quick ? 3 : 7;

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

/**
 * One layer's pulls of `batch` blocks: `round()` times roundOps(batch) calls of `op` (awaited when
 * `sync` is false, as an async caller runs; back to back when true) and returns ns per call. Each
 * continues through the schedule where its last round stopped, so it keeps reaching cold memory.
 */
function layerRounds(batch, op, sync) {
  const plan = schedules.get(batch);
  let next = 0;
  const ops = roundOps(batch);
  return {
    async warmUp() {
      for (let i = 0; i < warmupOps(batch); i += 1) await op(plan[next++ % plan.length]);
    },
    async round() {
      const t0 = performance.now();
      if (sync) for (let i = 0; i < ops; i += 1) op(plan[next++ % plan.length]);
      else for (let i = 0; i < ops; i += 1) await op(plan[next++ % plan.length]);
      return ((performance.now() - t0) * 1e6) / ops;
    },
  };
}

/**
 * ns per pull of `batch` blocks for C++ (`direct`) and every layer of `layers` ({ key: rounds }):
 * after each side's warm-up, ROUNDS times a C++ round then one round of each layer; each figure is
 * the median of its rounds but the first.
 */
async function alternate(batch, direct, layers) {
  await direct.round(batch, warmupOps(batch));
  for (const layer of Object.values(layers)) await layer.warmUp();
  const rounds = { direct: [], ...Object.fromEntries(Object.keys(layers).map((k) => [k, []])) };
  for (let round = 0; round < ROUNDS; round += 1) {
    rounds.direct.push(await direct.round(batch, roundOps(batch)));
    for (const [key, layer] of Object.entries(layers)) rounds[key].push(await layer.round());
  }
  return Object.fromEntries(Object.entries(rounds).map(([key, values]) => [key, medianOfLater(values)]));
}

/** The pulled blocks hold the peer's bytes. */
const checkPulled = (local, blocks) => checkPeerPattern(local, blocks, BLOCK);

// dd_bench pins its serving peer to CPU 0 and itself to CPU 1 where taskset works.
const pinned = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const directRounds = await openDirectRounds({ pinned, log: note });
const remote = { ip: '127.0.0.1', port: directRounds.peer.port };
const peerClusterId = directRounds.peer.clusterId;
const remoteCacheId = directRounds.peer.cacheId;
note(`dd_bench's peer on port ${remote.port}, ${REGION_BYTES / 2 ** 20} MiB of 64 KiB blocks; ${ROUNDS} rounds of ${roundOps(1)} one-block and ${roundOps(64)} 64-block pulls per layer, alternating with C++`);

const measured = {};
const direct = {};

// @dd/sys: the generated bindings, called as a thin layer would.
const b = loadNativeBindings();
const check = (what, status) => {
  if (status !== StatusCode.LLM_SUCCESS) throw new Error(`${what}: status ${status}: ${b.lastError()}`);
};
const { handle } = b.LlmDataDist_create(2n, LlmRole.kDecoder);
check('Initialize', b.LlmDataDist_Initialize(handle, { 'llm.DeviceId': '0', 'llm.SyncKvCacheWaitTime': '10000' }));
// Page-aligned, as dd_bench's region is (mmap) and @dd/core's registerHostCache gives; touched, so
// no first-touch faults are timed.
const [local] = allocateHostTensors({ placement: 'host', dataType: DataType.DT_UINT8, shape: [BLOCKS, BLOCK], numTensors: 1 }, b);
local.fill(0);
const desc = { placement: CachePlacement.kHost, num_tensors: 1, data_type: DataType.DT_UINT8, shape: BigInt64Array.from([BigInt(BLOCKS), BigInt(BLOCK)]) };
const reg = b.LlmDataDist_RegisterKvCache(handle, desc, BigUint64Array.from([b.addressOf(local)]));
check('RegisterKvCache', reg.status);
const sysCache = { cache_id: reg.cache_id, tensor_addrs: new BigUint64Array(0), cache_desc: desc };
const cluster = { remote_cluster_id: peerClusterId, remote_role_type: 0, local_ip_infos: [{ ip: '127.0.0.1', port: 0 }], remote_ip_infos: [remote] };
check('LinkLlmClusters', (await b.LlmDataDist_LinkLlmClustersAsync(handle, [cluster], 5000)).status);
const index = { cluster_id: peerClusterId, cache_id: remoteCacheId, batch_index: 0 };
const syncPull = (blocks) => check('PullKvBlocks', b.LlmDataDist_PullKvBlocks(handle, index, sysCache, blocks.src, blocks.dst));
const asyncPull = async (blocks) => check('PullKvBlocksAsync', await b.LlmDataDist_PullKvBlocksAsync(handle, index, sysCache, blocks.src, blocks.dst));
{
  const probe = schedules.get(64)[3];
  syncPull(probe);
  checkPulled(local, probe);
  local.fill(0);
  await asyncPull(probe);
  checkPulled(local, probe);
}

// @dd/core: the idiomatic API (argument checks, block lists copied, tracing; async only).
const engine = LlmDataDist.create({ clusterId: 3n, role: 'decoder', syncTimeoutMs: 10_000 });
const cache = engine.registerHostCache({ placement: 'host', dataType: DataType.DT_UINT8, shape: [BLOCKS, BLOCK], numTensors: 1 });
cache.tensor(0).fill(0);
await engine.link({ clusterId: peerClusterId, remote, local: { ip: '127.0.0.1', port: 0 } }, { timeoutMs: 5000 });
const from = { clusterId: peerClusterId, cacheId: remoteCacheId };
const pull = (blocks) => engine.pullBlocks({ from, into: cache, srcBlocks: blocks.src, dstBlocks: blocks.dst });
{
  const probe = schedules.get(64)[5];
  await pull(probe);
  checkPulled(cache.tensor(0), probe);
}

for (const batch of BATCHES) {
  const figures = await alternate(batch, directRounds, {
    [`sys-sync-${batch}`]: layerRounds(batch, syncPull, true),
    [`sys-async-${batch}`]: layerRounds(batch, asyncPull, false),
    [`core-${batch}`]: layerRounds(batch, pull, false),
  });
  direct[batch] = figures.direct;
  delete figures.direct;
  Object.assign(measured, figures);
}
check('UnlinkLlmClusters', (await b.LlmDataDist_UnlinkLlmClustersAsync(handle, [cluster], 5000, false)).status);
check('UnregisterKvCache', b.LlmDataDist_UnregisterKvCache(handle, reg.cache_id));
check('Finalize', b.LlmDataDist_Finalize(handle));
b.LlmDataDist_destroy(handle);

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
if (!oneCpu) {
  // What any async call adds here at best (no dd, no FFI): the one-block C++ time of busy work,
  // inline, and on a spinning worker thread awaited through a promise.
  note('async floor: the C++ one-block time of busy work inline, and on a worker thread awaited');
  Object.assign(measured, await measureAsyncFloor({ workNs: direct[1], calls: roundOps(1), rounds: ROUNDS }));
}
await engine.unlink(peerClusterId);
cache.unregister();
engine.close();
await directRounds.close();

const results = [];
for (const batch of BATCHES) {
  const base = `direct C++ pull same-host 64KiB x${batch} ns/op`;
  results.push(
    entry(`@dd/sys PullKvBlocks (sync) same-host 64KiB x${batch} ns/op${suffix}`, measured[`sys-sync-${batch}`], 'ns/op', base),
    entry(`@dd/sys PullKvBlocksAsync same-host 64KiB x${batch} ns/op${suffix}`, measured[`sys-async-${batch}`], 'ns/op', base),
    entry(`@dd/core pullBlocks same-host 64KiB x${batch} ns/op${suffix}`, measured[`core-${batch}`], 'ns/op', base),
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
if (!oneCpu) {
  const inline = 'async floor: busy work at least as long as a one-block C++ direct pull, inline on the JS thread us/op';
  results.push(
    entry(inline, measured.inlineNs / 1000, 'us'),
    entry('async floor: added us per call when a spinning worker thread does that work and a promise awaits it (no dd, no FFI)', (measured.awaitedNs - measured.inlineNs) / 1000, 'us', inline),
  );
}
write(results);

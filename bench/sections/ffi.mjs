// FFI overhead: the same pulls of 64 KiB blocks (1 block, and 64 blocks) through @dd/sys (sync and
// async koffi calls) and through @dd/core (async), from a cache served by another process, against
// the C++ host backend called directly by dd_bench in the same run.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { importCore, importSys } from '../lib/packages.mjs';
import { median, result } from '../lib/report.mjs';
import { note, sectionArgs } from '../lib/section-args.mjs';
import { directPullBaseline } from '../lib/native-bench.mjs';

const { quick, value, write } = sectionArgs();
const native = JSON.parse(value('--native') ?? '[]');
const sys = await importSys();
const { LlmDataDist, DataType } = await importCore();
const { CachePlacement, LlmRole, StatusCode, loadNativeBindings } = sys;

const BLOCK = 64 * 1024;
const REMOTE_BLOCKS = 128;
const LOCAL_BLOCKS = 64;
const ONE = { src: [5], dst: [0] };
// Every other remote block: 64 separate runs, nothing to merge.
const MANY = { src: Array.from({ length: LOCAL_BLOCKS }, (_, i) => 2 * i + 1), dst: Array.from({ length: LOCAL_BLOCKS }, (_, i) => i) };
const rounds = { one: quick ? 2000 : 20_000, many: quick ? 200 : 2000 };

// The serving process.
const server = spawn(process.execPath, [fileURLToPath(new URL('../fixtures/serve-cache.mjs', import.meta.url)), String(REMOTE_BLOCKS), String(BLOCK)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
const readyTimer = setTimeout(() => server.kill('SIGKILL'), 20_000);
const first = await lines.next();
clearTimeout(readyTimer);
const ready = /^READY (\d+) (\d+)$/.exec(first.value ?? '');
if (first.done || ready === null) throw new Error(`the serving process did not get ready (said: ${first.value ?? 'nothing'})`);
const port = Number(ready[1]);
const remoteCacheId = BigInt(ready[2]);
const remote = { ip: '127.0.0.1', port };

/** Pulls with `pull(blocks)` and checks every byte: block b of the server holds b & 0xff. */
async function checkBytes(local, pull) {
  local.fill(0);
  await pull(MANY);
  MANY.dst.forEach((d, j) => {
    const expected = MANY.src[j] & 0xff;
    const block = local.subarray(d * BLOCK, (d + 1) * BLOCK);
    if (block.some((byte) => byte !== expected)) throw new Error(`block ${d} does not hold remote block ${MANY.src[j]}`);
  });
}

/** Median µs per call of `pull(blocks)`. */
async function measure(pull, blocks, count) {
  for (let i = 0; i < Math.min(50, count); i += 1) await pull(blocks);
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i += 1) {
    const t0 = performance.now();
    await pull(blocks);
    samples[i] = performance.now() - t0;
  }
  return median([...samples]) * 1000;
}

const measured = {};

// @dd/sys: the generated bindings, sync and async.
{
  const b = loadNativeBindings();
  const check = (what, status) => {
    if (status !== StatusCode.LLM_SUCCESS) throw new Error(`${what}: status ${status}: ${b.lastError()}`);
  };
  const { handle } = b.LlmDataDist_create(2n, LlmRole.kDecoder);
  check('Initialize', b.LlmDataDist_Initialize(handle, { 'llm.DeviceId': '0', 'llm.SyncKvCacheWaitTime': '10000' }));
  const memory = new Uint8Array(LOCAL_BLOCKS * BLOCK);
  const desc = { placement: CachePlacement.kHost, num_tensors: 1, data_type: DataType.DT_UINT8, shape: BigInt64Array.from([BigInt(LOCAL_BLOCKS), BigInt(BLOCK)]) };
  const reg = b.LlmDataDist_RegisterKvCache(handle, desc, BigUint64Array.from([b.addressOf(memory)]));
  check('RegisterKvCache', reg.status);
  const cache = { cache_id: reg.cache_id, tensor_addrs: new BigUint64Array(0), cache_desc: desc };
  const linked = await b.LlmDataDist_LinkLlmClustersAsync(
    handle,
    [{ remote_cluster_id: 1n, remote_role_type: 0, local_ip_infos: [{ ip: '127.0.0.1', port: 0 }], remote_ip_infos: [remote] }],
    5000,
  );
  check('LinkLlmClusters', linked.status);
  const index = { cluster_id: 1n, cache_id: remoteCacheId, batch_index: 0 };
  const lists = (blocks) => [BigUint64Array.from(blocks.src, BigInt), BigUint64Array.from(blocks.dst, BigInt)];
  const typed = new Map([ONE, MANY].map((blocks) => [blocks, lists(blocks)]));
  const syncPull = async (blocks) => check('PullKvBlocks', b.LlmDataDist_PullKvBlocks(handle, index, cache, ...typed.get(blocks)));
  const asyncPull = async (blocks) => check('PullKvBlocksAsync', await b.LlmDataDist_PullKvBlocksAsync(handle, index, cache, ...typed.get(blocks)));
  await checkBytes(memory, asyncPull);
  await checkBytes(memory, syncPull);
  note(`@dd/sys: ${rounds.one} + ${rounds.many} pulls, sync and async`);
  measured.sysSyncOne = await measure(syncPull, ONE, rounds.one);
  measured.sysSyncMany = await measure(syncPull, MANY, rounds.many);
  measured.sysAsyncOne = await measure(asyncPull, ONE, rounds.one);
  measured.sysAsyncMany = await measure(asyncPull, MANY, rounds.many);
  const unlinked = await b.LlmDataDist_UnlinkLlmClustersAsync(handle, [{ remote_cluster_id: 1n, remote_role_type: 0, local_ip_infos: [{ ip: '127.0.0.1', port: 0 }], remote_ip_infos: [remote] }], 5000, false);
  check('UnlinkLlmClusters', unlinked.status);
  check('UnregisterKvCache', b.LlmDataDist_UnregisterKvCache(handle, reg.cache_id));
  check('Finalize', b.LlmDataDist_Finalize(handle));
  b.LlmDataDist_destroy(handle);
}

// @dd/core: the idiomatic API (validation, typed arrays, tracing, async only).
{
  const engine = LlmDataDist.create({ clusterId: 3n, role: 'decoder', syncTimeoutMs: 10_000 });
  const cache = engine.registerHostCache({ placement: 'host', dataType: DataType.DT_UINT8, shape: [LOCAL_BLOCKS, BLOCK], numTensors: 1 });
  await engine.link({ clusterId: 1n, remote, local: { ip: '127.0.0.1', port: 0 } }, { timeoutMs: 5000 });
  const from = { clusterId: 1n, cacheId: remoteCacheId };
  const pull = (blocks) => engine.pullBlocks({ from, into: cache, srcBlocks: blocks.src, dstBlocks: blocks.dst });
  await checkBytes(cache.tensor(0), pull);
  note(`@dd/core: ${rounds.one} + ${rounds.many} pulls`);
  measured.coreOne = await measure(pull, ONE, rounds.one);
  measured.coreMany = await measure(pull, MANY, rounds.many);
  await engine.unlink(1n);
  cache.unregister();
  engine.close();
}

server.stdin.end();
await once(server, 'exit');

const direct = directPullBaseline(native);
const gbps = (us, blocks) => (blocks * BLOCK) / us / 1e3;
write([
  result('@dd/sys PullKvBlocks sync, 1×64 KiB, median (vs C++ direct)', measured.sysSyncOne, 'µs', direct.oneBlockUs),
  result('@dd/sys PullKvBlocksAsync, 1×64 KiB, median (vs C++ direct)', measured.sysAsyncOne, 'µs', direct.oneBlockUs),
  result('@dd/core pullBlocks, 1×64 KiB, median (vs C++ direct)', measured.coreOne, 'µs', direct.oneBlockUs),
  result('@dd/sys PullKvBlocks sync, 64×64 KiB, median (vs C++ direct)', measured.sysSyncMany, 'µs', direct.manyBlocksUs),
  result('@dd/sys PullKvBlocksAsync, 64×64 KiB, median (vs C++ direct)', measured.sysAsyncMany, 'µs', direct.manyBlocksUs),
  result('@dd/core pullBlocks, 64×64 KiB, median (vs C++ direct)', measured.coreMany, 'µs', direct.manyBlocksUs),
  result('@dd/core pullBlocks, 64×64 KiB bandwidth (vs C++ direct)', gbps(measured.coreMany, LOCAL_BLOCKS), 'GB/s', gbps(direct.manyBlocksUs, LOCAL_BLOCKS)),
  result('@dd/core pullBlocks 1×64 KiB, cost over @dd/sys sync (vs @dd/sys sync)', measured.coreOne, 'µs', measured.sysSyncOne),
]);

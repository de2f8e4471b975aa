// Fake throughput: pulls through @dd/core over FakeNetwork (all in process), against copying the
// same bytes with Uint8Array.set, which is the least the fake has to do.
import { importCore, importTesting } from '../lib/packages.mjs';
import { entry } from '../lib/report.mjs';
import { note, sectionArgs } from '../lib/section-args.mjs';

const { quick, write } = sectionArgs();
const { LlmDataDist, DataType } = await importCore();
const { FakeNetwork } = await importTesting();

const BLOCK = 64 * 1024;
const BLOCKS = 64;
const desc = { placement: 'host', dataType: DataType.DT_UINT8, shape: [BLOCKS * 2, BLOCK], numTensors: 1 };

const net = new FakeNetwork();
const prompt = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen: { ip: '127.0.0.1', port: 26000 }, bindings: net.bindings });
const promptCache = prompt.registerHostCache(desc);
for (let b = 0; b < promptCache.numBlocks; b += 1) promptCache.block(0, b).fill(b & 0xff);
const decoder = LlmDataDist.create({ clusterId: 2n, role: 'decoder', bindings: net.bindings });
const decoderCache = decoder.registerHostCache(desc);
await decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: 26000 }, local: { ip: '127.0.0.1', port: 0 } });

const from = { clusterId: 1n, cacheId: promptCache.id };
const one = { src: [7], dst: [3] };
const many = { src: Array.from({ length: BLOCKS }, (_, i) => 2 * i), dst: Array.from({ length: BLOCKS }, (_, i) => i) };

/** Mean ns per pull over `count` pulls. */
async function pullNs(blocks, count) {
  const t0 = performance.now();
  for (let i = 0; i < count; i += 1) await decoder.pullBlocks({ from, into: decoderCache, srcBlocks: blocks.src, dstBlocks: blocks.dst });
  return ((performance.now() - t0) * 1e6) / count;
}

/** The same block copies as plain JS, views made up front: the floor under any in-process fake. */
function copyNs(blocks, count) {
  const pairs = blocks.src.map((s, j) => [promptCache.block(0, s), decoderCache.block(0, blocks.dst[j])]);
  const t0 = performance.now();
  for (let i = 0; i < count; i += 1) for (const [src, dst] of pairs) dst.set(src);
  return ((performance.now() - t0) * 1e6) / count;
}

/** The fake must really move the bytes: pull into zeroed blocks and compare. */
async function checkPull(blocks) {
  decoderCache.tensor(0).fill(0);
  await decoder.pullBlocks({ from, into: decoderCache, srcBlocks: blocks.src, dstBlocks: blocks.dst });
  blocks.dst.forEach((d, j) => {
    const expected = blocks.src[j] & 0xff;
    if (decoderCache.block(0, d).some((byte) => byte !== expected)) throw new Error(`fake pull delivered wrong bytes in block ${d}`);
  });
}

const rounds = quick ? 2000 : 20_000;
await checkPull(many);
await pullNs(one, 200);
await pullNs(many, 20);
copyNs(many, 20);
note(`fake: ${rounds} pulls of 1 block and ${rounds / 20} of ${BLOCKS} blocks of 64 KiB, and the same copies in plain JS`);
const pullOne = await pullNs(one, rounds);
const copyOne = copyNs(one, rounds);
const pullMany = await pullNs(many, rounds / 20);
const copyMany = copyNs(many, rounds / 20);
const gbps = (ns) => (BLOCKS * BLOCK) / ns;

await decoder.unlink(1n);
decoderCache.unregister();
decoder.close();
promptCache.unregister();
prompt.close();

write([
  entry('Uint8Array.set 64KiB x64 GB/s', gbps(copyMany), 'GB/s'),
  entry('fake pullBlocks via @dd/core 64KiB x64 GB/s', gbps(pullMany), 'GB/s', 'Uint8Array.set 64KiB x64 GB/s'),
  entry('Uint8Array.set 64KiB x1 ns/op', copyOne, 'ns/op'),
  entry('fake pullBlocks via @dd/core 64KiB x1 ns/op', pullOne, 'ns/op', 'Uint8Array.set 64KiB x1 ns/op'),
  entry('fake pullBlocks via @dd/core 64KiB x1 ops/s', 1e9 / pullOne, 'ops/s'),
]);

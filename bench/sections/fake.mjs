// Fake throughput: pulls through @dd/core over FakeNetwork (all in process), against copying the
// same bytes with Uint8Array.set, which is the least the fake has to do.
import { importCore, importTesting } from '../lib/packages.mjs';
import { median, result } from '../lib/report.mjs';
import { note, sectionArgs } from '../lib/section-args.mjs';

const { quick, write } = sectionArgs();
const { LlmDataDist, DataType } = await importCore();
const { FakeNetwork } = await importTesting();

const BLOCK = 64 * 1024;
const BLOCKS = 64;
const desc = { placement: 'device', dataType: DataType.DT_UINT8, shape: [BLOCKS * 2, BLOCK], numTensors: 1 };

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

async function pullLatencies(blocks, count) {
  const samples = [];
  for (let i = 0; i < count; i += 1) {
    const t0 = performance.now();
    await decoder.pullBlocks({ from, into: decoderCache, srcBlocks: blocks.src, dstBlocks: blocks.dst });
    samples.push(performance.now() - t0);
  }
  return samples;
}

/** The same block copies as plain JS, views made up front: the floor under any in-process fake. */
function copyLatencies(blocks, count) {
  const pairs = blocks.src.map((s, j) => [promptCache.block(0, s), decoderCache.block(0, blocks.dst[j])]);
  const samples = [];
  for (let i = 0; i < count; i += 1) {
    const t0 = performance.now();
    for (const [src, dst] of pairs) dst.set(src);
    samples.push(performance.now() - t0);
  }
  return samples;
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

const rounds = quick ? 300 : 3000;
await checkPull(many);
await pullLatencies(one, 50);
await pullLatencies(many, 10);
copyLatencies(many, 10);
note(`fake: ${rounds} pulls of 1 block and ${rounds / 10} of ${BLOCKS} blocks of 64 KiB`);
const pullOne = median(await pullLatencies(one, rounds)) * 1000;
const copyOne = median(copyLatencies(one, rounds)) * 1000;
const pullMany = await pullLatencies(many, rounds / 10);
const copyMany = copyLatencies(many, rounds / 10);
const bytes = BLOCKS * BLOCK;
const gbps = (samples) => (bytes * samples.length) / samples.reduce((a, b) => a + b, 0) / 1e6;

await decoder.unlink(1n);
decoderCache.unregister();
decoder.close();
promptCache.unregister();
prompt.close();

write([
  result('fake pullBlocks 64×64 KiB through @dd/core (vs Uint8Array.set of the same blocks)', gbps(pullMany), 'GB/s', gbps(copyMany)),
  result('fake pullBlocks 1×64 KiB through @dd/core, median (vs Uint8Array.set)', pullOne, 'µs', copyOne),
  result('fake pullBlocks 1×64 KiB through @dd/core', 1e6 / pullOne, 'ops/s'),
]);

// The issues' FFI figures stated directly: µs a TypeScript layer adds to one one-block pull over the
// same pull made from C++, and a 64-block pull's time against the same pull made from C++. The C++
// figures come from rounds of dd_bench --direct-rounds that the FFI section alternates with its
// TypeScript rounds.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { findNativeBench } from './native-bench.mjs';
import { entry } from './report.mjs';

/** The TypeScript layers the FFI section measures, and the key of their figures in `measured` (plus `-<batch>`). */
const LAYERS = [
  ['@dd/sys PullKvBlocks (sync)', 'sys-sync'],
  ['@dd/sys PullKvBlocksAsync', 'sys-async'],
  ['@dd/core pullBlocks', 'core'],
];

/**
 * dd_bench --direct-rounds (pinned to CPU 1 where possible), serving one timed round of C++-direct
 * pulls per request, so the FFI section can alternate them with its TypeScript rounds: this
 * machine drifts by tens of percent within a minute, which a baseline measured before (or in
 * another section) would put into the ratios. `round(batch, ops)` resolves with ns per pull;
 * `peer` is the process it pulls from ({ port, clusterId, cacheId }): the TypeScript layers pull
 * the same memory from it, so both sides differ only in the caller.
 */
export async function openDirectRounds({ pinned, log }) {
  const binary = findNativeBench({ env: process.env, log });
  const args = ['--direct-rounds'];
  const child = pinned ? spawn('taskset', ['-c', '1', binary, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }) : spawn(binary, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (what) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    try {
      const line = await lines.next();
      if (line.done) throw new Error(`dd_bench --direct-rounds ended while ${what}`);
      return line.value;
    } finally {
      clearTimeout(timer);
    }
  };
  const ready = /^READY (\d+) (\d+) (\d+)$/.exec(await next('starting'));
  if (ready === null) throw new Error('dd_bench --direct-rounds did not say READY <port> <cluster id> <cache id>');
  return {
    peer: { port: Number(ready[1]), clusterId: BigInt(ready[2]), cacheId: BigInt(ready[3]) },
    async round(batch, ops) {
      child.stdin.write(`${batch} ${ops}\n`);
      const reply = await next(`running a round of ${ops} pulls of ${batch} blocks`);
      const m = /^ROUND (\d+) (\d+)$/.exec(reply);
      if (m === null || Number(m[1]) !== batch) throw new Error(`dd_bench --direct-rounds answered '${reply}' to a round of ${batch} blocks`);
      return Number(m[2]);
    },
    async close() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const [code, signal] = await once(child, 'exit');
      clearTimeout(timer);
      if (code !== 0) throw new Error(`dd_bench --direct-rounds exited with ${code ?? signal}`);
    },
  };
}

/**
 * The 64-block figures against C++ direct 64-block pulls measured by the FFI section itself, in
 * rounds alternating with the TypeScript ones (the C++ section's own figure is minutes older).
 */
export function againstSectionDirectX64(directNs, measured, suffix = '') {
  const base = `direct C++ pull same-host 64KiB x64 us/op (measured by the FFI section${suffix})`;
  return [
    entry(base, directNs / 1000, 'us'),
    ...LAYERS.map(([layer, key]) => entry(`${layer} same-host 64KiB x64 us/op vs C++ direct of the FFI section${suffix}`, measured[`${key}-64`] / 1000, 'us', base)),
  ];
}

/**
 * "added us per call" entries: (per-op time of each TypeScript layer − the C++ direct per-op time)
 * for one 64 KiB block, each against the C++ figure restated in µs (so its ratio is the fraction
 * added). `suffix` names the run's condition (" (client on one CPU)").
 */
export function addedPerCall(directNs, measured, suffix = '') {
  const base = `direct C++ pull same-host 64KiB x1 us/op (measured by the FFI section${suffix})`;
  return [
    entry(base, directNs / 1000, 'us'),
    ...LAYERS.map(([layer, key]) => entry(`${layer} same-host 64KiB x1 added us per call over C++ direct${suffix}`, (measured[`${key}-1`] - directNs) / 1000, 'us', base)),
  ];
}

/** dd_bench's peer fills its region so that the 8-byte word at offset o holds o × 0x9E3779B97F4A7C15. */
const PATTERN = 0x9e3779b97f4a7c15n;
/** Words checked per block: every 61st (and the last), about 135 of 8192. */
const WORD_STRIDE = 61;

/**
 * Throws unless each pulled block holds the peer's bytes: local block dst[j] must hold remote
 * block src[j] of `blockBytes` bytes.
 */
export function checkPeerPattern(local, blocks, blockBytes) {
  const words = new BigUint64Array(local.buffer, local.byteOffset, local.byteLength / 8);
  blocks.dst.forEach((d, j) => {
    const from = BigInt(blocks.src[j]) * BigInt(blockBytes);
    const at = (Number(d) * blockBytes) / 8;
    for (let w = 0; w < blockBytes / 8; w = w === blockBytes / 8 - 1 ? blockBytes : Math.min(w + WORD_STRIDE, blockBytes / 8 - 1)) {
      const expected = ((from + BigInt(w * 8)) * PATTERN) & 0xffffffffffffffffn;
      if (words[at + w] !== expected) throw new Error(`local block ${d} does not hold remote block ${blocks.src[j]} (word ${w})`);
    }
  });
}

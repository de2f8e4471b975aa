// The issues' FFI figures stated directly: µs a TypeScript layer adds to one one-block pull over the
// same pull made from C++, and a 64-block pull's time against the same pull made from C++. The C++
// figures come from dd_bench --direct-only run by the FFI section itself, right before the
// TypeScript pulls.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNativeBench } from './native-bench.mjs';
import { checkResults, entry } from './report.mjs';

/** The TypeScript layers the FFI section measures, and the key of their figures in `measured` (plus `-<batch>`). */
const LAYERS = [
  ['@dd/sys PullKvBlocks (sync)', 'sys-sync'],
  ['@dd/sys PullKvBlocksAsync', 'sys-async'],
  ['@dd/core pullBlocks', 'core'],
];
const DIRECT = (batch) => `direct C++ pull same-host 64KiB x${batch} ns/op`;

/**
 * ns/op of dd_bench's C++-direct pulls of 1 and 64 blocks, measured now (pinned to CPU 1 where
 * possible), as { 1: ns, 64: ns }.
 */
export function measureDirectPulls({ quick, pinned, log }) {
  const binary = findNativeBench({ env: process.env, log });
  const dir = mkdtempSync(join(tmpdir(), 'dd-ffi-direct-'));
  try {
    const out = join(dir, 'direct.json');
    const args = ['--direct-only', ...(quick ? ['--quick'] : []), '--json', out];
    const r = pinned ? spawnSync('taskset', ['-c', '1', binary, ...args], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 }) : spawnSync(binary, args, { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
    if (r.status !== 0) throw new Error(`dd_bench --direct-only exited with ${r.status ?? r.signal}`);
    const results = checkResults(out, JSON.parse(readFileSync(out, 'utf8')));
    const ns = {};
    for (const batch of [1, 64]) {
      const found = results.find((x) => x.name === DIRECT(batch));
      if (found === undefined) throw new Error(`dd_bench --direct-only reported no '${DIRECT(batch)}'`);
      ns[batch] = found.value;
    }
    return ns;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The 64-block figures against a C++ direct 64-block pull measured by the FFI section itself, just
 * before (the C++ section's own figure is minutes older, and this machine drifts between them).
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

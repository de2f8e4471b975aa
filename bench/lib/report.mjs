// The results every section contributes, in the same shape dd_bench writes: a flat list of
// { name, value, unit, baseline?, ratio? } where `baseline` is the name of another entry of the
// same report, measured in the same run and in the same unit, and `ratio` = value ÷ that value.
// (For GB/s and ops/s higher is better; for ns/op and ms lower is better: the unit says which.)

import { readFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';

/**
 * @typedef {{ name: string, value: number, unit: string, baseline?: string, ratio?: number }} BenchResult
 */

/** Four significant digits: these machines drift ±20 % between runs, more would be noise. */
function round(x) {
  return Number(x.toPrecision(4));
}

/**
 * One figure, optionally against the entry named `baseline` (resolved by {@link resolveRatios}).
 * @returns {BenchResult}
 */
export function entry(name, value, unit, baseline) {
  if (!Number.isFinite(value)) throw new Error(`benchmark '${name}': value ${value} is not a finite number`);
  return baseline === undefined ? { name, value: round(value), unit } : { name, value: round(value), unit, baseline };
}

/** Checks that `value` is a list of results in this report's shape (e.g. what dd_bench wrote). */
export function checkResults(source, value) {
  if (!Array.isArray(value)) throw new Error(`${source}: expected a JSON list of results`);
  for (const [i, r] of value.entries()) {
    const ok =
      r !== null &&
      typeof r === 'object' &&
      typeof r.name === 'string' &&
      typeof r.value === 'number' &&
      typeof r.unit === 'string' &&
      (r.baseline === undefined || typeof r.baseline === 'string') &&
      (r.ratio === undefined || typeof r.ratio === 'number');
    if (!ok) throw new Error(`${source}: result ${i} is not { name, value, unit, baseline?, ratio? }: ${JSON.stringify(r)}`);
  }
  return value;
}

/**
 * `results` with every ratio computed against its baseline, looked up among `earlier` and
 * `results` themselves. Throws when a name repeats, or a baseline is missing, in another unit, or 0.
 */
export function resolveRatios(results, earlier) {
  const byName = new Map(earlier.map((r) => [r.name, r]));
  for (const r of results) {
    if (byName.has(r.name)) throw new Error(`two results are named '${r.name}'`);
    byName.set(r.name, r);
  }
  return results.map((r) => {
    if (r.baseline === undefined) return { name: r.name, value: r.value, unit: r.unit };
    const base = byName.get(r.baseline);
    if (base === undefined) throw new Error(`'${r.name}' is measured against '${r.baseline}', which this run did not report`);
    if (base.unit !== r.unit) throw new Error(`'${r.name}' (${r.unit}) is measured against '${r.baseline}' in another unit (${base.unit})`);
    if (!(base.value > 0)) throw new Error(`'${r.name}' is measured against '${r.baseline}', whose value is ${base.value}`);
    return { name: r.name, value: r.value, unit: r.unit, baseline: r.baseline, ratio: round(r.value / base.value) };
  });
}

/** The mean of a list of numbers. */
export function mean(samples) {
  return samples.reduce((a, b) => a + b, 0) / samples.length;
}

/** The median of a list of numbers. */
export function median(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function format(x) {
  const abs = Math.abs(x);
  if (abs >= 1000) return x.toFixed(0);
  if (abs >= 100) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

/** The readable table: one block per section, one row per result, its ratio and baseline. */
export function formatTable(sections) {
  const header = ['benchmark', 'value', 'unit', 'ratio', 'baseline (same run)'];
  const rows = [];
  for (const { title, results } of sections) {
    rows.push([title, '', '', '', '']);
    for (const r of results) rows.push([`  ${r.name}`, format(r.value), r.unit, r.ratio === undefined ? '' : `${format(r.ratio)}×`, r.baseline ?? '']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 1 || i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * What a report says about its run: the command, when, the machine (CPUs, memory, OS, kernel,
 * Node.js) and the 1-minute load average at its start and end, since these machines are shared.
 */
export function describeRun({ quick, only, loadAverage, seconds }) {
  let os = `${platform()} ${release()}`;
  try {
    os = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    // Not Linux, or no os-release: the platform name stands in.
  }
  return {
    command: `pnpm bench${quick ? ' --quick' : ''}${only === undefined ? '' : ` --only ${only}`}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    os,
    kernel: `${platform() === 'linux' ? 'Linux' : platform()} ${release()}`,
    node: process.version,
    loadAverage: loadAverage.map((l) => Number(l.toFixed(2))),
    seconds: Number(seconds.toFixed(1)),
  };
}

// The report every section contributes to: a flat list of results, each
// { name, value, unit, baseline?, ratio? }. `baseline` is the value of the reference measured in the
// same run, in the same unit; `ratio` is value ÷ baseline (for GB/s higher is better, for time
// lower is better: the unit says which).

/**
 * @typedef {{ name: string, value: number, unit: string, baseline?: number, ratio?: number }} BenchResult
 */

/** Rounds to 4 significant digits, so the report does not pretend to more precision than it has. */
function round(x) {
  return Number.isFinite(x) ? Number(x.toPrecision(4)) : x;
}

/**
 * A result, with its ratio when a baseline is given.
 * @param {string} name
 * @param {number} value
 * @param {string} unit
 * @param {number} [baseline]
 * @returns {BenchResult}
 */
export function result(name, value, unit, baseline) {
  if (!Number.isFinite(value)) throw new Error(`benchmark ${name}: value ${value} is not a finite number`);
  if (baseline === undefined) return { name, value: round(value), unit };
  if (!Number.isFinite(baseline) || baseline <= 0) throw new Error(`benchmark ${name}: baseline ${baseline} is not a positive number`);
  return { name, value: round(value), unit, baseline: round(baseline), ratio: round(value / baseline) };
}

/** Checks that `value` is a list of results as this report defines them. */
export function checkResults(source, value) {
  if (!Array.isArray(value)) throw new Error(`${source}: expected a JSON list of results`);
  for (const [i, r] of value.entries()) {
    const ok =
      r !== null &&
      typeof r === 'object' &&
      typeof r.name === 'string' &&
      typeof r.value === 'number' &&
      typeof r.unit === 'string' &&
      (r.baseline === undefined || typeof r.baseline === 'number') &&
      (r.ratio === undefined || typeof r.ratio === 'number');
    if (!ok) throw new Error(`${source}: result ${i} is not { name, value, unit, baseline?, ratio? }: ${JSON.stringify(r)}`);
  }
  return value;
}

/** The median of a list of numbers. */
export function median(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The value below which `fraction` of the samples fall (nearest rank). */
export function percentile(samples, fraction) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length))) - 1];
}

function format(x) {
  if (x === undefined) return '';
  const abs = Math.abs(x);
  if (abs >= 1000) return x.toFixed(0);
  if (abs >= 100) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

/** The readable table: one row per result, sections separated by a blank line. */
export function formatTable(sections) {
  const header = ['benchmark', 'value', 'unit', 'baseline', 'ratio'];
  const rows = [];
  for (const { title, results } of sections) {
    rows.push([`${title}`, '', '', '', '']);
    for (const r of results) rows.push([`  ${r.name}`, format(r.value), r.unit, format(r.baseline), r.ratio === undefined ? '' : `${format(r.ratio)}×`]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

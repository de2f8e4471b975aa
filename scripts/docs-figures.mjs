#!/usr/bin/env node
// The benchmark figures the docs quote, written from committed `pnpm bench` reports
// (docs/bench/report.json: every section; docs/bench/link-health.json: the section 'link-health',
// run with its full rounds) into the places the docs mark:
//   <!-- bench:NAME --> … <!-- /bench:NAME -->   a generated block (the run, a table)
//   <!-- fig:KEY -->…<!-- /fig -->                one figure inside a sentence
// and a guard that no measured figure (a number with a unit or a ×) sits outside those marks in
// the docs that quote a report. Nothing is typed by hand, so the docs cannot contradict each
// other or the reports.
//   node scripts/docs-figures.mjs           rewrite the marked places from the reports
//   node scripts/docs-figures.mjs --check   exit 1 when a doc differs from what its report gives
// To quote a new run: npx -y pnpm@12.4.2 bench --json docs/bench/report.json, or
// npx -y pnpm@12.4.2 bench --only link-health --json docs/bench/link-health.json, then this.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatTable } from '../bench/lib/report.mjs';
import { repoRoot } from './lib/packs.mjs';


/** Three significant digits, as the figures are good for on these machines (±20 % between runs). */
function sig(x) {
  const abs = Math.abs(x);
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}
const gbs = (v) => `${sig(v)} GB/s`;
const us = (v) => `${sig(v)} µs`;
const ms = (v) => `${sig(v)} ms`;
const times = (v) => `${sig(v)}×`;
/** "a–b unit" for a list of values in one unit. */
function span(values, unit) {
  const lo = sig(Math.min(...values));
  const hi = sig(Math.max(...values));
  return lo === hi ? `${lo}${unit}` : `${lo}–${hi}${unit}`;
}

/** Lookups into one report (at `path`, from the repository root); every name must be there, or the docs would quote nothing. */
function lookups(report, path) {
  const byName = new Map(report.results.map((r) => [r.name, r]));
  const get = (name) => {
    const r = byName.get(name);
    if (r === undefined) throw new Error(`${path} has no result named '${name}'`);
    return r;
  };
  const matching = (pattern) => {
    const found = report.results.filter((r) => pattern.test(r.name));
    if (found.length === 0) throw new Error(`${path} has no result matching ${pattern}`);
    return found;
  };
  return { get, has: (name) => byName.has(name), value: (name) => get(name).value, ratio: (name) => get(name).ratio, matching };
}

const FFI_X1 = {
  sync: '@dd/sys PullKvBlocks (sync) same-host 64KiB x1 ns/op',
  async: '@dd/sys PullKvBlocksAsync same-host 64KiB x1 ns/op',
  core: '@dd/core pullBlocks same-host 64KiB x1 ns/op',
};
const ADDED = {
  sync: '@dd/sys PullKvBlocks (sync) same-host 64KiB x1 added us per call over C++ direct',
  async: '@dd/sys PullKvBlocksAsync same-host 64KiB x1 added us per call over C++ direct',
  core: '@dd/core pullBlocks same-host 64KiB x1 added us per call over C++ direct',
};
const ONE_CPU = ' (client on one CPU)';
const ASYNC_FLOOR = 'async floor: added us per call when a spinning worker thread does that work and a promise awaits it (no dd, no FFI)';
const DIRECT_X1 = 'direct C++ pull same-host 64KiB x1 ns/op';
const DIRECT_X1_FFI = 'direct C++ pull same-host 64KiB x1 us/op (measured by the FFI section)';
const DIRECT_X64 = 'direct C++ pull same-host 64KiB x64 ns/op';
const X64_BYTES = 64 * 64 * 1024;
const X64_VS_SECTION = (layer) => `${layer} same-host 64KiB x64 us/op vs C++ direct of the FFI section`;

const ZERO_COPY = { pull: 'pull same-host zero-copy 64KiB x64 GB/s', push: 'push same-host zero-copy 64KiB x64 GB/s' };
const PROMPT_NAME = 'prompt 4k tokens (16384 x 32KiB)';
const PROMPT = (path, per) => `pull ${path} ${PROMPT_NAME}, one pullBlocks per ${per} GB/s`;
const CONCURRENT = '@dd/core 1000 concurrent one-block pullBlocks same-host 64KiB GB/s';
const UCX = (size, transport) => `UCX ucp_put_bw ${size} (ucx_perftest, ${transport}) GB/s`;

/** The figures sentences quote, by key. */
const figures = {
  'pull-x64': (f) => gbs(f.value('pull same-host 64KiB x64 GB/s')),
  'pull-x64-vs-raw': (f) => times(f.ratio('pull same-host 64KiB x64 GB/s')),
  'tcp-pull-x64': (f) => gbs(f.value('pull tcp 64KiB x64 GB/s')),
  'same-host-x64-vs-raw': (f) => span(f.matching(/^(pull|push) same-host (4KiB|64KiB|1MiB) x64 GB\/s$/).map((r) => r.ratio), '×'),
  'same-host-x64-vs-memcpy': (f) => span(f.matching(/^(pull|push) same-host (4KiB|64KiB|1MiB) x64 GB\/s vs memcpy$/).map((r) => r.ratio), '×'),
  'memcpy-large': (f) => span([f.value('memcpy 64KiB x64 GB/s'), f.value('memcpy 1MiB x64 GB/s')], ' GB/s'),
  'raw-vs-memcpy': (f) => times(f.value('raw process_vm_readv 64KiB x64 GB/s') / f.value('memcpy 64KiB x64 GB/s')),
  'direct-x1': (f) => us(f.value(DIRECT_X1) / 1000),
  'ffi-x64-vs-direct': (f) => span(f.matching(/^@dd\/(sys|core) .* same-host 64KiB x64 ns\/op$/).map((r) => r.ratio), '×'),
  'sync-added': (f) => us(f.value(ADDED.sync)),
  'async-added': (f) => us(f.value(ADDED.async)),
  'core-over-async': (f) => us((f.value(FFI_X1.core) - f.value(FFI_X1.async)) / 1000),
  'tcp-x64': (f) => span(f.matching(/^(pull|push) tcp (4KiB|64KiB|1MiB) x64 GB\/s$/).map((r) => r.value), ' GB/s'),
  'tcp-vs-raw': (f) => span(f.matching(/^(pull|push) tcp (64KiB|1MiB) x(1|64) GB\/s$/).map((r) => r.ratio), '×'),
  'link-mean': (f) => ms(f.value('link setup (mean)')),
  'dead-same-host': (f) => ms(f.value('dead peer detected same-host')),
  'dead-tcp': (f) => ms(f.value('dead peer detected tcp')),
  'fake-x1-ops': (f) => `${Math.round(f.value('fake pullBlocks via @dd/core 64KiB x1 ops/s')).toLocaleString('en-US')}`,
  'fake-x64': (f) => gbs(f.value('fake pullBlocks via @dd/core 64KiB x64 GB/s')),
  'core-added': (f) => us(f.value(ADDED.core)),
  'async-floor-added': (f) => us(f.value(ASYNC_FLOOR)),
  'async-added-one-cpu': (f) => us(f.value(ADDED.async + ONE_CPU)),
  'core-added-one-cpu': (f) => us(f.value(ADDED.core + ONE_CPU)),
  'core-x64-vs-direct': (f) => times(f.ratio('@dd/core pullBlocks same-host 64KiB x64 ns/op')),
  'sync-x64-vs-direct': (f) => times(f.ratio('@dd/sys PullKvBlocks (sync) same-host 64KiB x64 ns/op')),
  'x64-vs-section-direct': (f) => span(f.matching(/^@dd\/(sys|core) .* same-host 64KiB x64 us\/op vs C\+\+ direct of the FFI section$/).map((r) => r.ratio), '×'),
  'core-x64-vs-section-direct': (f) => times(f.ratio(X64_VS_SECTION('@dd/core pullBlocks'))),
  'zero-copy-x64-vs-memcpy': (f) => span(f.matching(/^(pull|push) same-host zero-copy (4KiB|64KiB|1MiB) x64 GB\/s$/).map((r) => r.ratio), '×'),
  'zero-copy-pull-x64': (f) => gbs(f.value(ZERO_COPY.pull)),
  'zero-copy-pull-x64-vs-memcpy': (f) => times(f.ratio(ZERO_COPY.pull)),
  'zero-copy-push-x64-vs-memcpy': (f) => times(f.ratio(ZERO_COPY.push)),
  'prompt-same-host': (f) => gbs(f.value(PROMPT('same-host', 'request'))),
  'prompt-same-host-vs-memcpy': (f) => times(f.ratio(PROMPT('same-host', 'request'))),
  'prompt-tcp': (f) => gbs(f.value(PROMPT('tcp', 'request'))),
  'concurrent-vs-one-call': (f) => times(f.ratio(CONCURRENT)),
};

function keyFigures(f) {
  const raw = (name) => f.get(name).baseline ?? '';
  const vsMemcpy = (name) => `${times(f.ratio(`${name} vs memcpy`))} memcpy`;
  const direct = (name) => `${times(f.ratio(name))} C++ direct (${us(f.value(f.get(name).baseline) / 1000)})`;
  const rows = [
    ['pull same-host, 64 KiB blocks x64', gbs(f.value('pull same-host 64KiB x64 GB/s')), `${times(f.ratio('pull same-host 64KiB x64 GB/s'))} raw \`process_vm_readv\` (${gbs(f.value(raw('pull same-host 64KiB x64 GB/s')))}); ${vsMemcpy('pull same-host 64KiB x64 GB/s')} (${gbs(f.value('memcpy 64KiB x64 GB/s'))})`],
    ['**pull same-host zero-copy**, 64 KiB blocks x64', gbs(f.value(ZERO_COPY.pull)), `${times(f.ratio(ZERO_COPY.pull))} memcpy of the same blocks (${gbs(f.value('memcpy 64KiB x64 GB/s'))})`],
    ['**push same-host zero-copy**, 64 KiB blocks x64', gbs(f.value(ZERO_COPY.push)), `${times(f.ratio(ZERO_COPY.push))} memcpy`],
    ['pull same-host zero-copy, 64 KiB x1, latency', us(f.value('pull same-host zero-copy 64KiB x1 latency')), `${times(f.ratio('pull same-host zero-copy 64KiB x1 latency'))} memcpy`],
    ...['same-host', 'tcp'].flatMap((path) =>
      ['layer', 'request'].map((per) => [
        `prompt-shaped pull (16,384 scattered 32 KiB blocks), ${path === 'tcp' ? 'TCP' : path}, one call per ${per}`,
        gbs(f.value(PROMPT(path, per))),
        `${times(f.ratio(PROMPT(path, per)))} memcpy (${gbs(f.value(f.get(PROMPT(path, per)).baseline))}); ${times(f.ratio(`${PROMPT(path, per)} vs raw process_vm_readv`))} raw \`process_vm_readv\` (${gbs(f.value(f.get(`${PROMPT(path, per)} vs raw process_vm_readv`).baseline))})`,
      ]),
    ),
    ['pull same-host, 1 MiB blocks x64', gbs(f.value('pull same-host 1MiB x64 GB/s')), `${times(f.ratio('pull same-host 1MiB x64 GB/s'))} raw \`process_vm_readv\`; ${vsMemcpy('pull same-host 1MiB x64 GB/s')}`],
    ['push same-host, 64 KiB blocks x64', gbs(f.value('push same-host 64KiB x64 GB/s')), `${times(f.ratio('push same-host 64KiB x64 GB/s'))} raw \`process_vm_writev\`; ${vsMemcpy('push same-host 64KiB x64 GB/s')}`],
    ['pull same-host, 64 KiB x1, latency', us(f.value('pull same-host 64KiB x1 latency')), `${times(f.ratio('pull same-host 64KiB x1 latency'))} raw \`process_vm_readv\``],
    ['pull TCP, 64 KiB blocks x64', gbs(f.value('pull tcp 64KiB x64 GB/s')), `${times(f.ratio('pull tcp 64KiB x64 GB/s'))} the raw TCP block server (one request per block)`],
    ['pull TCP, 64 KiB x1, latency', us(f.value('pull tcp 64KiB x1 latency')), `${times(f.ratio('pull tcp 64KiB x1 latency'))} raw TCP`],
    ['link setup (mean)', ms(f.value('link setup (mean)')), '—'],
    ['dead peer detected, same-host / TCP', `${ms(f.value('dead peer detected same-host'))} / ${ms(f.value('dead peer detected tcp'))}`, '—'],
    ['`@dd/sys` sync pull, 64 KiB x1', us(f.value(FFI_X1.sync) / 1000), `${direct(FFI_X1.sync)}; **+${us(f.value(ADDED.sync))} per call** over C++ direct (${us(f.value(DIRECT_X1_FFI))} in the FFI section)`],
    ['`@dd/sys` async pull, 64 KiB x1', us(f.value(FFI_X1.async) / 1000), `${direct(FFI_X1.async)}; +${us(f.value(ADDED.async))} per call`],
    ['`@dd/core` `pullBlocks`, 64 KiB x1', us(f.value(FFI_X1.core) / 1000), `${direct(FFI_X1.core)}; **+${us(f.value(ADDED.core))} per call**`],
    ['async floor: the same work on a spinning worker thread, awaited (no dd, no FFI)', `+${us(f.value(ASYNC_FLOOR))} per call`, `over the work inline (${us(f.value(f.get(ASYNC_FLOOR).baseline))}): the least any async call adds here`],
    ['`@dd/sys` async pull, 64 KiB x1, client on one CPU', us(f.value(FFI_X1.async + ONE_CPU) / 1000), `+${us(f.value(ADDED.async + ONE_CPU))} per call over C++ direct (${us(f.value(f.get(ADDED.async + ONE_CPU).baseline))})`],
    ['`@dd/core` `pullBlocks`, 64 KiB x1, client on one CPU', us(f.value(FFI_X1.core + ONE_CPU) / 1000), `+${us(f.value(ADDED.core + ONE_CPU))} per call`],
    ['`@dd/sys` sync pull, 64 KiB x64', us(f.value('@dd/sys PullKvBlocks (sync) same-host 64KiB x64 ns/op') / 1000), `${times(f.ratio('@dd/sys PullKvBlocks (sync) same-host 64KiB x64 ns/op'))} C++ direct (${us(f.value(DIRECT_X64) / 1000)})`],
    ['`@dd/core` `pullBlocks`, 64 KiB x64', `${us(f.value('@dd/core pullBlocks same-host 64KiB x64 ns/op') / 1000)} (${gbs(X64_BYTES / f.value('@dd/core pullBlocks same-host 64KiB x64 ns/op'))})`, `${times(f.ratio('@dd/core pullBlocks same-host 64KiB x64 ns/op'))} C++ direct; **${times(f.ratio(X64_VS_SECTION('@dd/core pullBlocks')))}** C++ direct pulls alternating with it in the FFI section (${us(f.value(f.get(X64_VS_SECTION('@dd/core pullBlocks')).baseline))})`],
    ['`@dd/core`: 1,000 concurrent one-block pulls, 64 KiB', gbs(f.value(CONCURRENT)), `${times(f.ratio(CONCURRENT))} one \`pullBlocks\` of the same 1,000 blocks (${gbs(f.value(f.get(CONCURRENT).baseline))})`],
    ...(f.has(UCX('64KiB', 'default transports'))
      ? [
          ['UCX `ucp_put_bw`, 64 KiB, its same-host transports (buffer reused, cache-warm)', gbs(f.value(UCX('64KiB', 'default transports'))), `dd's zero-copy push x64: ${times(f.ratio('push same-host zero-copy 64KiB x64 GB/s vs UCX put'))} of it`],
          ['UCX `ucp_put_bw`, 64 KiB, `UCX_TLS=tcp`', gbs(f.value(UCX('64KiB', 'UCX_TLS=tcp'))), `dd's TCP push x64: ${times(f.ratio('push tcp 64KiB x64 GB/s vs UCX put'))} of it`],
        ]
      : [['UCX baseline', 'not measured', 'ucx-utils was not installed on the machine of that run']]),
    ['fake `pullBlocks`, 64 KiB x64', gbs(f.value('fake pullBlocks via @dd/core 64KiB x64 GB/s')), `${times(f.ratio('fake pullBlocks via @dd/core 64KiB x64 GB/s'))} \`Uint8Array.set\``],
    ['fake `pullBlocks`, 64 KiB x1', `${us(f.value('fake pullBlocks via @dd/core 64KiB x1 ns/op') / 1000)} (${figures['fake-x1-ops'](f)} ops/s)`, `${times(f.ratio('fake pullBlocks via @dd/core 64KiB x1 ns/op'))} \`Uint8Array.set\``],
    ['`pnpm codegen --check`', ms(f.value('pnpm codegen --check, wall time')), `${times(f.ratio('pnpm codegen --check, wall time'))} a bare Node start (${ms(f.value('node startup, wall time (a process that only starts)'))})`],
  ];
  return ['| what | value | ratio to its same-run baseline |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Who ran the report at `path` and how, linked from `file` (both from the repository root). */
function runParagraph(report, path, file) {
  const r = report.run;
  const when = (iso) => {
    const [date, time] = iso.replace('Z', '').split('T');
    return `${date} at ${time.slice(0, 5)} UTC`;
  };
  const load = ([start, end]) => (start === end ? `${start}` : `${start}–${end}`);
  const lines = [
    `\`npx -y pnpm@12.4.2 ${r.command.replace(/^pnpm /, '')}\`, run on ${when(r.date)}: ${r.cpus} vCPUs ` +
      `(${r.cpuModel}), ${r.memoryGiB} GiB, ${r.os}, ${r.kernel}, Node.js ${r.node.replace(/^v/, '')}; 1-minute load ` +
      `average ${load(r.loadAverage)} (${r.loadAverage[0] >= r.cpus ? 'other builds and test suites shared the cores, as on a busy CI machine' : 'a fairly quiet machine'}); ` +
      `the run took ${Math.round(r.seconds)} s.`,
  ];
  const later = report.laterRun;
  if (later !== undefined) {
    lines.push(
      `The sections ${later.sections.map((t) => `"${t}"`).join(' and ')} come from the same command run again on ` +
        `${when(later.date)} (load average ${load(later.loadAverage)}): ${later.why}.`,
    );
  }
  if (r.source !== undefined) lines.push(`${r.source}.`);
  lines.push(`The report, with all ${report.results.length} results, is [\`${path}\`](${relative(dirname(file), path)}).`);
  return wrap(lines.join(' '));
}

/** Markdown prose wrapped at 100 columns, as the hand-written pages are. */
function wrap(text, width = 100) {
  const out = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...out, line].join('\n');
}

function wholeTable(report) {
  const sections = [];
  for (const r of report.results) {
    if (sections.at(-1)?.title !== r.section) sections.push({ title: r.section, results: [] });
    sections.at(-1).results.push(r);
  }
  return ['```', formatTable(sections), '```'].join('\n');
}

/** The link-health section's figures: the host backend per data path, and the fake. */
const LH = {
  reaped: (path) => `kill -9 → peer process reaped (exit event), ${path}, median ms`,
  event: (path, poll, which) => `kill -9 → linkstatechange, ${path}, poll ${poll} ms, ${which} ms`,
  relink: (path) => `relink() after the peer restarted, ${path}, median ms`,
  checked: (path) => `KiB pulled and checked after each relink, ${path}`,
};
const kib = (v) => `${sig(v)} KiB`;

function linkHealthTable(f) {
  const paths = ['same-host', 'TCP'];
  const cells = (figure) => paths.map((path) => figure(path)).join(' | ');
  const rows = [
    ['kill -9 → process reaped (median)', cells((p) => ms(f.value(LH.reaped(p))))],
    ...[100, 20].map((poll) => [
      `kill -9 → \`linkstatechange\`, poll ${poll} ms (median / max)`,
      cells((p) => `${ms(f.value(LH.event(p, poll, 'median')))} / ${ms(f.value(LH.event(p, poll, 'max')))}`),
    ]),
    ['`relink()` after the peer restarted (median)', cells((p) => ms(f.value(LH.relink(p))))],
    ['then one pull of every block, checked byte for byte', cells((p) => kib(f.value(LH.checked(p))))],
  ];
  return ['| | same-host path | TCP |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Each committed report, the docs that quote it (in these, every measured figure must come from it), and what they can quote. */
export const quotations = [
  {
    report: 'docs/bench/report.json',
    docs: ['docs/performance.md', 'docs/architecture.md'],
    blocks: { run: runParagraph, 'key-figures': (report, path) => keyFigures(lookups(report, path)), all: wholeTable },
    figures,
    check: checkReport,
  },
  {
    report: 'docs/bench/link-health.json',
    docs: ['docs/design/link-health.md'],
    blocks: { run: runParagraph, 'link-health': (report, path) => linkHealthTable(lookups(report, path)) },
    figures: {
      'fake-event': (f) => ms(f.value('fake vanish → linkstatechange, poll 100 ms, median ms')),
      'fake-relink': (f) => ms(f.value('fake relink() after the peer restarted, median ms')),
      'fake-checked': (f) => kib(f.value('fake KiB pulled and checked after each relink')),
    },
    check: () => {},
  },
];

/**
 * The report must describe one undisturbed run: each FFI figure is compared with C++ direct pulls
 * in rounds alternating with it, and a neighbour that stalls one side makes "µs added" meaningless.
 * A TypeScript layer calls the same C++ pull, so it cannot be faster by more than noise (5 %).
 */
function checkReport(report, path) {
  const f = lookups(report, path);
  const problems = [];
  for (const [what, name] of Object.entries(ADDED)) {
    if (!(f.value(name) > -0.05 * f.value(f.get(name).baseline))) problems.push(`${what} adds ${f.value(name)} µs over C++ direct`);
  }
  const directHere = f.value(DIRECT_X1) / 1000;
  const directFfi = f.value(DIRECT_X1_FFI);
  if (Math.max(directHere, directFfi) / Math.min(directHere, directFfi) > 1.5) {
    problems.push(`the C++ direct one-block pull took ${sig(directHere)} µs in its own section and ${sig(directFfi)} µs in the FFI section`);
  }
  if (problems.length > 0) throw new Error(`the report's FFI figures were disturbed (${problems.join('; ')}); run the bench again on a quieter machine`);
}

/** `text` (the doc `file`) with every marked place rewritten from `report`, quoted as `quotation` says. */
export function render(text, report, file, quotation = quotations[0]) {
  const f = lookups(report, quotation.report);
  let out = text.replace(/(<!-- bench:([\w-]+) -->\n)([\s\S]*?)(<!-- \/bench:\2 -->)/g, (_, open, name, _old, close) => {
    if (!(name in quotation.blocks)) throw new Error(`${file}: unknown block <!-- bench:${name} -->`);
    return `${open}${quotation.blocks[name](report, quotation.report, file)}\n${close}`;
  });
  out = out.replace(/(<!-- fig:([\w-]+) -->)([\s\S]*?)(<!-- \/fig -->)/g, (_, open, key, _old, close) => {
    if (!(key in quotation.figures)) throw new Error(`${file}: unknown figure <!-- fig:${key} -->`);
    return `${open}${quotation.figures[key](f)}${close}`;
  });
  return out;
}

/** Measured-looking figures outside the marked places (not counting code, requirements such as "≤ 5 µs", or settings). */
export function handWrittenFigures(text) {
  const stripped = text
    .replace(/<!-- bench:([\w-]+) -->[\s\S]*?<!-- \/bench:\1 -->/g, '')
    .replace(/<!-- fig:[\w-]+ -->[\s\S]*?<!-- \/fig -->/g, '')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/`[^`\n]*`/g, '')
    // Requirements ("issue 4 asks ≤ 5 µs") and settings ("default 1000 ms") are not measurements.
    .replace(/(?:[≤≥<>~]|\bdefault)\s?\d[\d.,]*\s?\S*/g, '');
  const figure = /(?<![≤≥<>~\w.])\d[\d.,]*(?:\s?[–-]\s?\d[\d.,]*)?\s?(?:µs|us|ns|ms|GB\/s|MB\/s|GiB\/s|ops\/s|×)(?!\w)/g;
  return [...stripped.matchAll(figure)].map((m) => m[0]);
}

/** Every quoting doc rendered from its committed report: { file, report, current, expected, handWritten }. */
export function quotedDocs() {
  return quotations.flatMap((quotation) => {
    const report = JSON.parse(readFileSync(join(repoRoot, quotation.report), 'utf8'));
    quotation.check(report, quotation.report);
    return quotation.docs.map((file) => {
      const current = readFileSync(join(repoRoot, file), 'utf8');
      return { file, report: quotation.report, current, expected: render(current, report, file, quotation), handWritten: handWrittenFigures(current) };
    });
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const check = process.argv.includes('--check');
  let failed = false;
  for (const doc of quotedDocs()) {
    if (doc.handWritten.length > 0) {
      console.error(`${doc.file}: figures typed by hand, not taken from the report: ${doc.handWritten.join(', ')}`);
      failed = true;
    }
    if (doc.current === doc.expected) continue;
    if (check) {
      console.error(`${doc.file}: its figures differ from ${doc.report}; run node scripts/docs-figures.mjs`);
      failed = true;
    } else {
      writeFileSync(join(repoRoot, doc.file), doc.expected);
      console.log(`${doc.file}: figures written from ${doc.report}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

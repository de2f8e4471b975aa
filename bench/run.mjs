#!/usr/bin/env node
// `pnpm bench [--quick] [--only <section>] [--json <file>]`: every benchmark of the project (or the
// one section named), each section in its own process with its own progress line, then one
// readable table and one JSON report: the run (when, on what, under which load) and its results, a
// list of { section, name, value, unit, baseline?, ratio? }. Ratios are against baselines measured
// in the same run, because these machines drift ±20 % between runs. docs/performance.md and
// docs/architecture.md quote a committed report, docs/design/link-health.md one of the section
// 'link-health' (scripts/docs-figures.mjs).
// `pnpm bench --hosts [--quick]` (= `--only hosts`): only the cross-host figures (network
// namespaces; needs root); not part of the default run.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { findNativeBench, isDirectPullFigure, versusMemcpy } from './lib/native-bench.mjs';
import { repoRoot } from './lib/packages.mjs';
import { describeRun, formatTable, resolveRatios } from './lib/report.mjs';
import { runSection } from './lib/section-process.mjs';
import { hasUcxPerftest, ucxBaselines, versusUcx } from './lib/ucx-baseline.mjs';

const argv = process.argv.slice(2).filter((a) => a !== '--');
const quick = argv.includes('--quick');
const hostsOnly = argv.includes('--hosts');
const jsonAt = argv.indexOf('--json');
const onlyAt = argv.indexOf('--only');
for (const [flag, at, what] of [['--json', jsonAt, 'a file name'], ['--only', onlyAt, 'a section']]) {
  if (at >= 0 && (argv[at + 1] === undefined || argv[at + 1].startsWith('--'))) {
    console.error(`bench: ${flag} needs ${what}`);
    process.exit(2);
  }
}
const unknown = argv.filter((a, i) => !['--quick', '--json', '--only', '--hosts'].includes(a) && !(jsonAt >= 0 && i === jsonAt + 1) && !(onlyAt >= 0 && i === onlyAt + 1));
const usage =
  'Usage: pnpm bench [--quick] [--only <section>] [--hosts] [--json <file>]\n  --quick           the short run (< 60 s; with --hosts about 2 min)\n' +
  '  --only <section>  one section that stands alone: codegen, host-backend, ffi, link-health, fake or hosts\n' +
  '  --hosts           the same as --only hosts: the host backend between network namespaces against iperf3 (root; about 4 min)\n' +
  '  --json <file>     where the JSON report goes (default bench-report.json)';
if (unknown.length > 0 || argv.includes('--help')) {
  console.error(usage);
  process.exit(unknown.length > 0 ? 2 : 0);
}
const only = hostsOnly ? 'hosts' : onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
const reportFile = resolve(process.env.INIT_CWD ?? process.cwd(), jsonAt >= 0 ? argv[jsonAt + 1] : join(repoRoot, 'bench-report.json'));
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr' };
const node = process.execPath;
const mode = quick ? ['--quick'] : [];
const started = performance.now();
const loadAtStart = loadavg()[0];

console.error(`bench: ${quick ? 'quick' : 'full'} run on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`);
console.error('[build] @dd/sys with the native host backend, @dd/core, @dd/testing, @dd/codegen (cached by turbo)');
const build = spawnSync(
  'npx',
  ['-y', 'pnpm@12.4.2', 'exec', 'turbo', 'run', 'build', '--filter=@dd/core...', '--filter=@dd/testing...', '--filter=@dd/codegen', '--output-logs=errors-only'],
  { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'inherit'] },
);
if (build.status !== 0) {
  console.error(`bench: the build failed (exit ${build.status ?? build.signal}); run \`npx -y pnpm@12.4.2 build\` to see why`);
  process.exit(1);
}

const hasTaskset = spawnSync('taskset', ['-c', '1', 'true']).status === 0;
/** Runs a JS section on CPU 1 only (taskset): dd_bench measures its C++ client there. */
const onClientCpu = (script, extra = []) => ['taskset', ['-c', '1', node, script, ...mode, ...extra]];
let ddBench;

const hostsSection = {
  key: 'hosts',
  title: 'cross-host (network namespaces, vs iperf3)',
  what: 'pulls over a wire with a rate, round trip and loss against iperf3 and raw TCP; long pulls, cable pull, stalled peer',
  run: () => runSection(node, ['bench/sections/hosts.mjs', ...mode], { cwd: repoRoot, env, timeoutMs: quick ? 300_000 : 600_000 }),
};

const allSections = [
  {
    key: 'codegen',
    title: 'codegen',
    what: 'pnpm codegen --check and generate(), vs node startup',
    run: () => runSection(node, ['bench/sections/codegen.mjs', ...mode], { cwd: repoRoot, env, timeoutMs: quick ? 40_000 : 120_000 }),
  },
  {
    key: 'host-backend',
    title: 'host backend (dd_bench, C++)',
    what: 'pull/push bandwidth and latency vs memcpy, raw process_vm_readv/writev and raw TCP; link setup; dead-peer detection',
    run: () => {
      ddBench = findNativeBench({ env, log: (line) => console.error(`    ${line}`) });
      return runSection(ddBench, mode, { cwd: repoRoot, env, timeoutMs: quick ? 180_000 : 600_000, outFlag: '--json' });
    },
  },
  {
    title: 'host backend vs memcpy (dd_bench figures above, restated)',
    what: 'same-host pull/push GB/s against a memcpy of the same blocks',
    run: async () => {
      const restated = versusMemcpy(done.flatMap((d) => d.results));
      if (restated.length === 0) throw new Error('dd_bench reported no same-host figures with a memcpy counterpart');
      return restated;
    },
  },
  {
    key: 'ffi',
    title: 'C++ direct pulls (dd_bench --direct-only)',
    what: 'the reference for the FFI overhead: PullKvBlocks called from C++, 64 KiB blocks, x1 and x64',
    run: async () => {
      ddBench ??= findNativeBench({ env, log: (line) => console.error(`    ${line}`) });
      const results = await runSection(ddBench, ['--direct-only', ...mode], { cwd: repoRoot, env, timeoutMs: 60_000, outFlag: '--json' });
      return results.filter(isDirectPullFigure);
    },
  },
  {
    key: 'ffi',
    title: 'FFI overhead (@dd/sys, @dd/core)',
    what: 'the same pulls through the bindings (sync and async) and through @dd/core, vs C++ direct; the client may use both CPUs',
    run: () => runSection(node, ['bench/sections/ffi.mjs', ...mode], { cwd: repoRoot, env, timeoutMs: quick ? 60_000 : 180_000 }),
  },
  {
    key: 'ffi',
    title: 'FFI overhead on one CPU (@dd/sys, @dd/core)',
    what: 'the one-block pulls again with the client process on one CPU (the async call and the event loop share it)',
    run: async () => {
      if (!hasTaskset) {
        console.error('    taskset is not installed (util-linux): no one-CPU figures in this run');
        return [];
      }
      return runSection(...onClientCpu('bench/sections/ffi.mjs', ['--one-cpu']), { cwd: repoRoot, env, timeoutMs: quick ? 60_000 : 120_000 });
    },
  },
  {
    title: 'UCX baseline (ucx_perftest)',
    what: 'UCX put bandwidth at the same sizes (its own same-host transports, and TCP), and dd against it',
    run: async () => {
      if (!hasUcxPerftest()) {
        console.error('    ucx-utils is not installed (apt-get install ucx-utils): no UCX baseline in this run');
        return [];
      }
      const ucx = await ucxBaselines({ quick });
      return [...ucx, ...versusUcx([...done.flatMap((d) => d.results), ...ucx])];
    },
  },
  {
    key: 'link-health',
    title: 'link health (@dd/core)',
    what: 'kill -9 of a peer process → linkstatechange, same-host and TCP; relink() after its restart; the fake',
    run: () => runSection(node, ['bench/sections/link-health.mjs', ...mode], { cwd: repoRoot, env, timeoutMs: quick ? 60_000 : 240_000 }),
  },
  {
    key: 'fake',
    title: 'fake (FakeNetwork)',
    what: 'pullBlocks through @dd/core over the in-process fake, vs Uint8Array.set',
    run: () => runSection(node, ['bench/sections/fake.mjs', ...mode], { cwd: repoRoot, env, timeoutMs: quick ? 30_000 : 120_000 }),
  },
];
// The restated and direct-pull sections need the host backend's section first: they have no key.
// The cross-host section runs only when asked for.
const chosen = only === undefined ? allSections : [...allSections, hostsSection].filter((s) => s.key === only);
if (chosen.length === 0) {
  console.error(`bench: no section '${only}'\n${usage}`);
  process.exit(2);
}
const done = [];
const failed = [];
for (const [i, section] of chosen.entries()) {
  console.error(`[${i + 1}/${chosen.length}] ${section.title}: ${section.what}`);
  const t0 = performance.now();
  try {
    const results = resolveRatios(await section.run(), done.flatMap((d) => d.results));
    done.push({ title: section.title, results });
    console.error(`    ✓ ${results.length} results in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  } catch (error) {
    failed.push(section.title);
    console.error(`    ✗ ${section.title} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const all = done.flatMap((s) => s.results.map((r) => ({ section: s.title, ...r })));
console.log(`\n${formatTable(done)}\n`);
console.log('ratio = value ÷ the baseline entry named on the right, measured in this run (GB/s, ops/s: higher is better; ns/op, us/op, ms: lower is better)');
const run = describeRun({ quick, only, loadAverage: [loadAtStart, loadavg()[0]], seconds: (performance.now() - started) / 1000 });
writeFileSync(reportFile, `${JSON.stringify({ run, results: all }, null, 2)}\n`);
console.log(`report: ${reportFile} (${all.length} results), ${((performance.now() - started) / 1000).toFixed(1)}s in all`);
if (failed.length > 0) {
  console.error(`bench: ${failed.length} section(s) failed: ${failed.join(', ')}`);
  process.exit(1);
}

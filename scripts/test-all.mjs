#!/usr/bin/env node
// The whole test suite, in dependency order: headers → codegen → build → native → packages →
// packed packages → lint → docs. Quiet by design: each step's output goes to its own log file under
// test-logs/, and the console gets one line when a step starts and one when it ends (duration and
// test counts). A failing step prints the tail of its log and stops the run with its exit code.
// `--verbose` (or DD_TEST_VERBOSE=1) streams every step's output too. Colour only on a terminal.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countTests, formatCounts, sumCounts } from './lib/test-counts.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const verbose = process.argv.includes('--verbose') || process.env.DD_TEST_VERBOSE === '1';
const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
// Children never see a terminal (their output goes to a file), and some tools colour anyway when
// FORCE_COLOR or CI is set: NO_COLOR keeps escape codes out of the logs.
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr', NO_COLOR: '1' };
delete env.FORCE_COLOR;
const pnpm = ['npx', '-y', 'pnpm@12.4.2'];
const logDir = join(root, 'test-logs');
/** No step may run longer: a hang fails the run with the step's log instead of stalling CI. */
const stepLimitMs = 20 * 60 * 1000;
const tailLines = 80;

const steps = [
  { name: 'headers: layouts equal the documented ones', run: ['bash', 'headers/test/run.sh'] },
  { name: 'codegen: generated files are up to date', when: 'tools/codegen/bin/dd-codegen.mjs', run: [...pnpm, '--silent', 'codegen', '--check'] },
  { name: 'build: every package', run: [...pnpm, 'exec', 'turbo', 'run', 'build', '--output-logs=errors-only'] },
  { name: 'native: C++ unit, multi-process and fault tests (+ASan/UBSan)', when: 'packages/sys/native/CMakeLists.txt', run: ['node', 'packages/sys/scripts/native-test.mjs'] },
  { name: 'native arm64: cross-built for linux-arm64, the C++ tests under qemu-user', when: 'packages/sys/native/cmake/aarch64-linux-gnu.cmake', run: ['node', 'packages/sys/scripts/native-test.mjs', '--only', 'arm64'] },
  { name: 'cross-host tier: the host backend between network namespaces (rate, delay, loss, cable pull, stalled peer)', when: 'packages/sys/scripts/hosts-test.mjs', run: ['node', 'packages/sys/scripts/hosts-test.mjs'] },
  { name: 'packages: vitest suites', run: [...pnpm, 'exec', 'turbo', 'run', 'test', '--concurrency=1', '--output-logs=new-only'] },
  { name: 'pack: every package into packs/ (pnpm pack:all)', run: ['node', 'scripts/pack-all.mjs'] },
  { name: 'outside project: npm install of the tarballs, the getting-started program, the installed codegen', run: ['node', 'scripts/test-outside-project.mjs', '--packs', 'packs'] },
  { name: 'example: router tests on the packed packages, installed like an outside project', when: 'examples/router/scripts/test-packed.mjs', run: ['node', 'examples/router/scripts/test-packed.mjs', '--packs', 'packs'] },
  { name: '@dd/sys: the packed tarball installs and runs on its own', run: ['node', 'packages/sys/scripts/verify-packed.mjs', '--packs', 'packs'] },
  { name: '@dd/sys: the CANN build path against a stand-in toolkit tree', run: ['node', 'packages/sys/scripts/verify-cann-build.mjs'] },
  { name: 'codegen: regenerating for a CANN release, end to end (docs/regenerating.md on a vendor-shaped toolkit)', run: ['node', 'tools/codegen/scripts/verify-regeneration.mjs'] },
  { name: 'lint: publint + attw on every package', run: [...pnpm, 'exec', 'turbo', 'run', 'lint', '--output-logs=errors-only'] },
  { name: 'docs: links stay in the repository and resolve in the API site, figures match the bench report', run: ['node', 'scripts/check-docs.mjs'] },
];

const paint = (code, text) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
const stripEscapes = (text) => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
/** A step that reports no counts is summed up by its last line, when that is short enough. */
const lastLine = (output) => output.trimEnd().split('\n').at(-1)?.trim().slice(0, 160);
const slug = (name) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48);

/** Runs one step with its output in `logFile` (and on the console with --verbose); resolves to its exit status. */
function runStep(step, logFile) {
  return new Promise((resolve) => {
    const log = createWriteStream(logFile);
    log.write(`$ ${step.run.join(' ')}\n(cwd ${root})\n\n`);
    const child = spawn(step.run[0], step.run.slice(1), { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const timer = setTimeout(() => {
      log.write(`\ntest-all: the step ran past ${stepLimitMs / 60000} min; killing it\n`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, stepLimitMs);
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        log.write(chunk);
        if (verbose) process.stdout.write(colour ? chunk : stripEscapes(chunk.toString()));
      });
    }
    const finish = (status) => {
      clearTimeout(timer);
      log.end(() => resolve(status));
    };
    child.on('error', (error) => {
      log.write(`\ntest-all: could not start ${step.run[0]}: ${error.message}\n`);
      finish(127);
    });
    child.on('close', (code, signal) => finish(code ?? 128 + (constants.signals[signal] ?? 0)));
  });
}

rmSync(logDir, { recursive: true, force: true });
mkdirSync(logDir, { recursive: true });
console.log(`dd test suite: ${steps.length} steps; the full output of each is in ${relative(root, logDir)}/`);

const started = Date.now();
const totals = [];
let skipped = 0;
for (const [i, step] of steps.entries()) {
  const label = `[${i + 1}/${steps.length}]`;
  const pad = ' '.repeat(label.length + 1);
  if (step.when && !existsSync(join(root, step.when))) {
    console.log(`${label} ${step.name}: not present yet, skipped`);
    skipped += 1;
    continue;
  }
  console.log(`${label} ${step.name}`);
  const logFile = join(logDir, `${String(i + 1).padStart(2, '0')}-${slug(step.name)}.log`);
  const t0 = Date.now();
  const status = await runStep(step, logFile);
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  // The log opens with three lines of its own (command, folder, blank); the step's output follows.
  const output = stripEscapes(readFileSync(logFile, 'utf8')).split('\n').slice(3).join('\n');
  const counts = countTests(output);
  if (counts) totals.push(counts);
  const summary = counts ? formatCounts(counts) : lastLine(output);
  const countText = summary ? ` · ${summary}` : '';
  if (status !== 0) {
    console.log(`${pad}${paint('31', '✗')} failed after ${secs}s (exit ${status})${countText}`);
    const lines = stripEscapes(readFileSync(logFile, 'utf8')).trimEnd().split('\n');
    console.log(`${pad}log: ${relative(root, logFile)} (${lines.length} lines; the last ${Math.min(tailLines, lines.length)} follow)`);
    for (const line of lines.slice(-tailLines)) console.log(`${pad}│ ${line}`);
    console.log(`steps: ${i - skipped} passed, 1 failed, ${skipped} skipped`);
    process.exit(status);
  }
  console.log(`${pad}${paint('32', '✓')} ${secs}s${countText}`);
}
const all = sumCounts(totals);
console.log(`All test steps passed in ${((Date.now() - started) / 1000).toFixed(1)}s${all ? `; ${formatCounts(all)}` : ''}`);
console.log(`steps: ${steps.length - skipped} passed, 0 failed, ${skipped} skipped`);

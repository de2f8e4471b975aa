// Codegen time: `pnpm codegen --check` as CI runs it (a fresh process each time), against the
// floor of any Node CLI, a process that only starts; then generate() in process, cold and warm.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../lib/packages.mjs';
import { entry, median } from '../lib/report.mjs';
import { note, sectionArgs } from '../lib/section-args.mjs';

const { quick, write } = sectionArgs();
const codegenRoot = join(repoRoot, 'tools', 'codegen');
const cli = join(codegenRoot, 'bin', 'dd-codegen.mjs');

function wallMs(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}: ${r.stderr.trim()}`);
  return ms;
}

const runs = quick ? 3 : 7;
wallMs([cli, '--check']); // the first run may build dist/ (bin/dd-codegen.mjs does that on its own)
note(`codegen: ${runs} × dd-codegen --check, ${runs} × node startup`);
const check = [];
const floor = [];
for (let i = 0; i < runs; i += 1) {
  check.push(wallMs([cli, '--check']));
  floor.push(wallMs(['-e', '']));
}

const { generate, loadConfig, defaultConfigPath } = await import(pathToFileURL(join(codegenRoot, 'dist', 'index.js')).href);
const options = () => ({
  headersDir: join(repoRoot, 'headers'),
  headersDisplay: 'headers',
  config: loadConfig(defaultConfigPath(codegenRoot)),
  configName: 'tools/codegen/codegen.config.json',
});
let t0 = performance.now();
const first = await generate(options());
const cold = performance.now() - t0;
const warm = [];
for (let i = 0; i < runs * 2; i += 1) {
  t0 = performance.now();
  await generate(options());
  warm.push(performance.now() - t0);
}
const methods = first.ir.coverage.filter((c) => c.kind === 'method' && c.status === 'bound').length;
note(`codegen: ${first.ir.inputs.length} headers, ${methods} methods bound`);

write([
  entry('node startup, wall time (a process that only starts)', median(floor), 'ms'),
  entry('pnpm codegen --check, wall time', median(check), 'ms', 'node startup, wall time (a process that only starts)'),
  entry('generate() in process, first call (parser wasm load included)', cold, 'ms'),
  entry('generate() in process, warm', median(warm), 'ms', 'generate() in process, first call (parser wasm load included)'),
]);

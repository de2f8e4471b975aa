#!/usr/bin/env node
// `pnpm pack:all [--out <dir>]`: builds the workspace (turbo, cached), packs every publishable
// package with `pnpm pack` into one folder (default packs/ at the repository root) and checks what
// a stranger gets in each tarball: README, LICENSE, CHANGELOG, the metadata npm shows, and no
// workspace: ranges left. `npm install <those tarballs>` then needs no registry for @dd/*; see
// docs/getting-started.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { publishablePackages, repoRoot, tarballName } from './lib/packs.mjs';

const argv = process.argv.slice(2);
const outAt = argv.indexOf('--out');
const out = outAt >= 0 && argv[outAt + 1] ? resolve(argv[outAt + 1]) : join(repoRoot, 'packs');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr' };

/** Runs a command quietly; its output is shown only when it fails. */
function run(command, args, cwd) {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${r.status ?? r.signal}`);
  }
  return r.stdout;
}

const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const dependencyFields = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/** What must hold of one packed tarball: [what, ok] pairs. */
function checks(pkg, tarball) {
  const listing = run('tar', ['-tzf', tarball], out).split('\n');
  const m = JSON.parse(run('tar', ['-xzOf', tarball, 'package/package.json'], out));
  const has = (file) => listing.includes(`package/${file}`);
  const repo = m.repository ?? {};
  return [
    ['README.md in the tarball', has('README.md')],
    ['LICENSE in the tarball', has('LICENSE')],
    ['CHANGELOG.md in the tarball', has('CHANGELOG.md')],
    ['license is Apache-2.0', m.license === 'Apache-2.0'],
    [`repository is ${root.repository?.url} with directory ${pkg.path}`, repo.type === 'git' && repo.url === root.repository?.url && repo.directory === pkg.path],
    ['homepage and bugs are set', typeof m.homepage === 'string' && m.homepage.startsWith('https://') && typeof m.bugs?.url === 'string'],
    ['keywords are set', Array.isArray(m.keywords) && m.keywords.length > 0],
    ['engines.node is >=20.19', m.engines?.node === '>=20.19'],
    ['no workspace: ranges left', dependencyFields.every((f) => Object.values(m[f] ?? {}).every((range) => !String(range).startsWith('workspace:')))],
  ];
}

const packages = publishablePackages();
console.log(`pack-all: building, then packing ${packages.map((p) => p.name).join(', ')} into ${relative(process.cwd(), out) || '.'}/`);
run('npx', ['-y', 'pnpm@12.4.2', 'exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], repoRoot);
mkdirSync(out, { recursive: true });
for (const old of readdirSync(out).filter((f) => f.endsWith('.tgz'))) rmSync(join(out, old));

let passed = 0;
const failures = [];
for (const pkg of packages) {
  // prepack of @dd/sys builds the linux-x64 and linux-arm64 prebuilds that the tarball carries.
  run('npx', ['-y', 'pnpm@12.4.2', 'pack', '--pack-destination', out], pkg.dir);
  const tarball = join(out, tarballName(pkg.name, pkg.manifest.version));
  const results = checks(pkg, tarball);
  for (const [what, ok] of results) {
    if (ok) passed += 1;
    else failures.push(`${pkg.name}: ${what}`);
  }
  const files = run('tar', ['-tzf', tarball], out).trim().split('\n').length;
  console.log(`  ${pkg.name} ${pkg.manifest.version} → ${relative(process.cwd(), tarball)} (${(statSync(tarball).size / 1024).toFixed(0)} KiB, ${files} files)`);
}
for (const failure of failures) console.error(`  ✗ ${failure}`);
console.log(`pack-all: ${packages.length} tarballs; contents and metadata: ${passed} passed, ${failures.length} failed`);
process.exit(failures.length > 0 ? 1 : 0);

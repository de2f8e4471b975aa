#!/usr/bin/env node
// Tests the router example the way an outside project would use dd: the workspace packages are
// packed with pnpm, the example is copied to a clean folder outside the repository, the tarballs
// are installed there with npm, and the example's own typecheck and vitest tests run there.
// Needs the packages built (`turbo run build`) first; it builds nothing native.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const example = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(example, '..', '..');
const packages = ['sys', 'core', 'testing'];
const keep = process.argv.includes('--keep');

function run(command, args, cwd) {
  console.log(`$ (${cwd}) ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd, stdio: 'inherit', env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

for (const name of packages) {
  if (!existsSync(join(root, 'packages', name, 'dist'))) {
    console.error(`packages/${name}/dist is missing: build the workspace first (npx -y pnpm@12.4.2 exec turbo run build)`);
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), 'dd-router-'));
try {
  const project = join(work, 'router');
  cpSync(example, project, { recursive: true, filter: (path) => !/[\\/](node_modules|\.packs|package-lock\.json)$/.test(path) });
  const packs = join(project, '.packs');
  mkdirSync(packs);
  for (const name of packages) {
    run('npx', ['-y', 'pnpm@12.4.2', 'pack', '--pack-destination', packs], join(root, 'packages', name));
    const tarball = readdirSync(packs).find((file) => file.startsWith(`dd-${name}-`));
    if (tarball === undefined) throw new Error(`pnpm pack left no dd-${name}-*.tgz in ${packs}`);
    renameSync(join(packs, tarball), join(packs, `dd-${name}.tgz`));
  }
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], project);
  run('node', [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project);
  run(join(project, 'node_modules', '.bin', 'vitest'), ['run'], project);
  console.log(`router example: typecheck and tests passed on the packed packages (${work})`);
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

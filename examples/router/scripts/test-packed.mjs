#!/usr/bin/env node
// Tests the router example the way an outside project would use dd: the example is copied to a
// clean folder outside the repository, the tarballs of `pnpm pack:all` are installed there with
// npm, and the example's own typecheck and vitest tests run there.
// Usage: node examples/router/scripts/test-packed.mjs [--packs <dir>] [--keep]
// Without --packs it runs scripts/pack-all.mjs into a temporary folder first.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packsFolder, tarballOf } from '../../../scripts/lib/packs.mjs';

const example = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(example, '..', '..');
const packages = ['sys', 'core', 'testing'];
const keep = process.argv.includes('--keep');

function run(command, args, cwd) {
  console.log(`$ (${cwd}) ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd, stdio: 'inherit', env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

const tarballs = packsFolder(process.argv.slice(2));
const work = mkdtempSync(join(tmpdir(), 'dd-router-'));
try {
  const project = join(work, 'router');
  cpSync(example, project, { recursive: true, filter: (path) => !/[\\/](node_modules|\.packs|package-lock\.json)$/.test(path) });
  const packs = join(project, '.packs');
  mkdirSync(packs);
  // package.json names the tarballs without their version: file:.packs/dd-<name>.tgz.
  for (const name of packages) copyFileSync(tarballOf(tarballs, `@dd/${name}`), join(packs, `dd-${name}.tgz`));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], project);
  run('node', [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project);
  run(join(project, 'node_modules', '.bin', 'vitest'), ['run'], project);
  console.log(`router example: typecheck and tests passed on the packed packages (${work})`);
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

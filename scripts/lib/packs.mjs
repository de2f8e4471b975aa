// The workspace's publishable packages and the tarballs `pnpm pack:all` makes of them, for the
// scripts that install those tarballs the way an outside project would.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every package of packages/ and tools/ that is not private, in dependency order (sys first). */
export function publishablePackages() {
  const found = [];
  for (const group of ['packages', 'tools']) {
    for (const entry of readdirSync(join(repoRoot, group)).sort()) {
      const file = join(repoRoot, group, entry, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      if (manifest.private !== true) found.push({ name: manifest.name, path: `${group}/${entry}`, dir: join(repoRoot, group, entry), manifest });
    }
  }
  const order = ['@dd/sys', '@dd/core', '@dd/testing', '@dd/codegen'];
  const rank = (name) => (order.includes(name) ? order.indexOf(name) : order.length);
  return found.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

/** The file name `pnpm pack` gives a package: @dd/core 0.1.0 → dd-core-0.1.0.tgz. */
export function tarballName(name, version) {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/** The tarball of package `name` in `packsDir`; throws with the command to run when it is missing. */
export function tarballOf(packsDir, name) {
  const pkg = publishablePackages().find((p) => p.name === name);
  if (pkg === undefined) throw new Error(`${name} is not a publishable package of this workspace`);
  const file = join(packsDir, tarballName(name, pkg.manifest.version));
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npx -y pnpm@12.4.2 pack:all\` (or node scripts/pack-all.mjs --out ${packsDir})`);
  return file;
}

/**
 * The folder of tarballs a script works on: `--packs <dir>` when given (made by pack:all),
 * else a fresh temporary folder that pack-all fills now.
 */
export function packsFolder(argv) {
  const at = argv.indexOf('--packs');
  if (at >= 0) {
    if (argv[at + 1] === undefined) throw new Error('--packs needs a folder');
    return resolve(argv[at + 1]);
  }
  const dir = mkdtempSync(join(tmpdir(), 'dd-packs-'));
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'pack-all.mjs'), '--out', dir], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`scripts/pack-all.mjs exited with ${r.status ?? r.signal}`);
  return dir;
}

#!/usr/bin/env node
// The dd-codegen command: runs the built CLI in dist/. On a fresh clone, or after src/ changed,
// it builds the package first (tsup) and says so on one line.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');

function newestSource(dir) {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }, 0);
}

const sources = join(root, 'src');
if (!existsSync(cli) || (existsSync(sources) && statSync(cli).mtimeMs < newestSource(sources))) {
  console.error(`dd-codegen: ${existsSync(cli) ? 'dist/ is older than src/' : 'dist/ is missing'}, building @dd/codegen first (tsup)…`);
  const tsup = join(dirname(createRequire(join(root, 'package.json')).resolve('tsup/package.json')), 'dist', 'cli-default.js');
  const built = spawnSync(process.execPath, [tsup], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (built.status !== 0) {
    const reason = (built.stderr ?? '').trim().split('\n').find((l) => /error/i.test(l)) ?? `exit ${built.status}`;
    console.error(`dd-codegen: error: building @dd/codegen failed (${reason}). Fix: run \`npx -y pnpm@12.4.2 --filter @dd/codegen build\` to see the full output.`);
    process.exit(1);
  }
}

const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(process.argv.slice(2));

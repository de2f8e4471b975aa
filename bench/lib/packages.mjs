// The built packages the JS benchmarks measure (the orchestrator builds them first).
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function dist(pkg) {
  return pathToFileURL(join(repoRoot, 'packages', pkg, 'dist', 'index.js')).href;
}

export const importCore = () => import(dist('core'));
export const importSys = () => import(dist('sys'));
export const importTesting = () => import(dist('testing'));

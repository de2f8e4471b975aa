import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backends, freePort } from './backends.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const docPath = fileURLToPath(new URL('../../../docs/core.md', import.meta.url));
const exampleDir = `${packageDir}.docs-example/`;
const examplePath = `${exampleDir}prefill-decode.ts`;

/** The ```ts block that follows the `<!-- example:prefill-decode -->` marker in docs/core.md. */
function extractExample(): string {
  const doc = readFileSync(docPath, 'utf8');
  const match = /<!-- example:prefill-decode -->\s*```ts\n([\s\S]*?)\n```/.exec(doc);
  if (match?.[1] === undefined) throw new Error(`no prefill-decode example in ${docPath}`);
  return match[1];
}

mkdirSync(exampleDir, { recursive: true });
writeFileSync(examplePath, `${extractExample()}\n`);

interface ExampleModule {
  handOver(setup: { promptPort: number; decoderPort: number; bindings?: unknown }): Promise<{ bytes: number; firstBlock: Uint8Array }>;
}

describe('docs/core.md example', () => {
  it('type-checks under a user-style `tsc --strict` against the published declarations', () => {
    expect(existsSync(`${packageDir}dist/index.d.ts`), 'build @dd/core first').toBe(true);
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const args = [
      tsc,
      '--strict',
      '--noEmit',
      '--target', 'es2022',
      '--module', 'nodenext',
      '--moduleResolution', 'nodenext',
      '--lib', 'es2023,esnext.disposable',
      '--types', 'node',
      examplePath,
    ];
    const result = spawnSync(process.execPath, args, { cwd: packageDir, encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });

  describe.each(backends)('runs over the $name backend', (backend) => {
    it('moves the request blocks from prefill to decode', async () => {
      const example = (await import(examplePath)) as ExampleModule;
      const result = await example.handOver({ promptPort: await freePort(), decoderPort: await freePort(), bindings: backend.newBindings() });
      // 8 tensors × 3 blocks × (32 × 4 × 64 bf16).
      expect(result.bytes).toBe(8 * 3 * 32 * 4 * 64 * 2);
      // Decoder block 0 of tensor 0 came from prefill block 4 of tensor 0, filled with 0 * 16 + 4.
      expect(result.firstBlock).toEqual(new Uint8Array(32 * 4 * 64 * 2).fill(4));
    });
  });
});

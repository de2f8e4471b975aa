// The committed generated TypeScript type-checks under the repository's strict tsconfig, and keeps
// every name and type of the contract placeholder (test/contract/compat.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { codegenRoot, repoRoot, sysGenerated, tempDir, tsc } from './helpers.js';

const work = tempDir('contract');
afterAll(() => work.remove());

function check(include: readonly string[]): { status: number | null; output: string } {
  const config = {
    extends: join(repoRoot, 'tsconfig.base.json'),
    compilerOptions: { noEmit: true, strict: true, paths: { koffi: [join(repoRoot, 'packages/sys/node_modules/koffi/index.d.ts')] }, typeRoots: [join(repoRoot, 'node_modules/@types')] },
    include,
  };
  const file = join(work.path, `tsconfig.${include.length}.json`);
  writeFileSync(file, JSON.stringify(config));
  const r = tsc(['-p', file]);
  return { status: r.status, output: r.stdout + r.stderr };
}

it('type-checks the generated files and the placeholder compatibility proof', () => {
  const r = check([join(sysGenerated, '*.ts'), join(codegenRoot, 'test/contract/*.ts')]);
  expect(r.output).toBe('');
  expect(r.status).toBe(0);
}, 120_000);

it('fails the compatibility proof when a type drifts (the proof can fail)', () => {
  const drifted = join(work.path, 'drifted.ts');
  writeFileSync(
    drifted,
    [
      `import type * as Generated from '${join(sysGenerated, 'index.js')}';`,
      `import type * as Placeholder from '${join(codegenRoot, 'test/contract/placeholder-api.js')}';`,
      'type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;',
      'type Assert<T extends true> = T;',
      "export type Drift = Assert<Mutual<Placeholder.LlmDataDistBindings, Omit<Generated.LlmDataDistBindings, 'LlmDataDist_Finalize'> & { LlmDataDist_Finalize(self: Generated.LlmDataDistHandle): void }>>;",
    ].join('\n'),
  );
  const r = check([drifted]);
  expect(r.status).not.toBe(0);
  expect(r.output).toContain("Type 'false' does not satisfy the constraint 'true'");
}, 120_000);

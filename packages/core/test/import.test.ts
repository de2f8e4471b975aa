import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

describe('importing @dd/core', () => {
  it.each(['index.js', 'index.cjs'])('loads no native code (dist/%s)', (file) => {
    expect(existsSync(`${dist}${file}`), 'build @dd/core first').toBe(true);
    // Every native addon (koffi's included) is loaded through process.dlopen.
    const script = `
      const opened = [];
      const dlopen = process.dlopen;
      process.dlopen = (module, filename, ...rest) => { opened.push(filename); return dlopen(module, filename, ...rest); };
      import(${JSON.stringify(`${dist}${file}`)}).then((core) => {
        if (typeof core.LlmDataDist?.create !== 'function') throw new Error('no LlmDataDist export');
        console.log(JSON.stringify(opened));
      });`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([]);
  });
});

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Language, Parser } from 'web-tree-sitter';

let pending: Promise<Parser> | undefined;

/**
 * The tree-sitter C++ parser, from the wasm that tree-sitter-cpp ships (no native build, no
 * compiler). Loaded once per process; about 20–40 ms.
 */
export function loadCppParser(): Promise<Parser> {
  pending ??= (async () => {
    await Parser.init();
    const require = createRequire(import.meta.url);
    const wasm = readFileSync(require.resolve('tree-sitter-cpp/tree-sitter-cpp.wasm'));
    const parser = new Parser();
    parser.setLanguage(await Language.load(wasm));
    return parser;
  })();
  return pending;
}

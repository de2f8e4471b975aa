import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { CodegenError } from '../errors.js';

export interface HeaderFile {
  /** Path relative to the include root it was found in, with `/` separators. */
  readonly path: string;
  readonly absolutePath: string;
  readonly text: string;
  readonly sha256: string;
  readonly role: 'entry' | 'dependency';
}

export interface HeaderSet {
  /** Dependencies first (post-order over `#include`), so a name is read before it is used. */
  readonly files: readonly HeaderFile[];
  readonly unresolvedIncludes: readonly { readonly file: string; readonly line: number; readonly include: string }[];
}

const INCLUDE = /^[ \t]*#[ \t]*include[ \t]*"([^"]+)"/;

/**
 * Reads the entry headers and everything they reach through `#include "…"`, searching the header
 * folder first and then `includeDirs`. System includes (`<…>`) are not followed. An include no
 * folder has is recorded, not fatal: it only matters if a type it would define is needed.
 */
export function readHeaderSet(headersDir: string, entryHeaders: readonly string[], includeDirs: readonly string[], displayDir: string): HeaderSet {
  if (!existsSync(headersDir) || !statSync(headersDir).isDirectory()) {
    throw new CodegenError('header folder not found.', displayDir, 0, 'pass an existing folder to --headers (for CANN: "$ASCEND_HOME_PATH/include").');
  }
  const roots = [resolve(headersDir), ...includeDirs.map((d) => resolve(d))];
  const files: HeaderFile[] = [];
  const seen = new Set<string>();
  const unresolved: { file: string; line: number; include: string }[] = [];
  const entries = new Set(entryHeaders);

  const locate = (include: string, fromDir?: string): { absolutePath: string; path: string } | undefined => {
    const candidates = fromDir ? [fromDir, ...roots] : roots;
    for (const root of candidates) {
      const absolutePath = join(root, include);
      if (existsSync(absolutePath) && statSync(absolutePath).isFile()) {
        const owner = roots.find((r) => !relative(r, absolutePath).startsWith('..')) ?? root;
        return { absolutePath, path: relative(owner, absolutePath).split('\\').join('/') };
      }
    }
    return undefined;
  };

  const visit = (absolutePath: string, path: string): void => {
    if (seen.has(absolutePath)) return;
    seen.add(absolutePath);
    const text = readFileSync(absolutePath, 'utf8');
    const dir = resolve(absolutePath, '..');
    text.split('\n').forEach((line, index) => {
      const m = INCLUDE.exec(line);
      if (!m) return;
      const found = locate(m[1]!, dir);
      if (found) visit(found.absolutePath, found.path);
      else unresolved.push({ file: path, line: index + 1, include: m[1]! });
    });
    files.push({
      path,
      absolutePath,
      text,
      sha256: createHash('sha256').update(text).digest('hex'),
      role: entries.has(path) ? 'entry' : 'dependency',
    });
  };

  for (const entry of entryHeaders) {
    const found = locate(entry);
    if (!found) {
      throw new CodegenError(
        `entry header ${entry} not found in the header folder or includeDirs.`,
        join(displayDir, entry),
        0,
        'point --headers at the folder that contains it, or change "entryHeaders" in the config (--config).',
      );
    }
    visit(found.absolutePath, found.path);
  }
  return { files, unresolvedIncludes: unresolved };
}

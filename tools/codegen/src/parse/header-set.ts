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

export interface LocatedHeader {
  readonly absolutePath: string;
  /** Relative to the include root that has it. */
  readonly path: string;
}

/**
 * Finds and reads headers: `#include "…"` is searched in the including file's folder, then the
 * header folder, then `includeDirs`, in that order. Which includes are followed is the
 * preprocessor's business (an include in a branch that is not compiled is not read).
 */
export class HeaderLocator {
  private readonly roots: readonly string[];

  constructor(
    headersDir: string,
    includeDirs: readonly string[],
    private readonly displayDir: string,
  ) {
    if (!existsSync(headersDir) || !statSync(headersDir).isDirectory()) {
      throw new CodegenError('header folder not found.', displayDir, 0, 'pass an existing folder to --headers (for CANN: "$ASCEND_HOME_PATH/include").');
    }
    this.roots = [resolve(headersDir), ...includeDirs.map((d) => resolve(d))];
  }

  locate(include: string, fromDir?: string): LocatedHeader | undefined {
    for (const root of fromDir ? [fromDir, ...this.roots] : this.roots) {
      const absolutePath = join(root, include);
      if (existsSync(absolutePath) && statSync(absolutePath).isFile()) {
        // Named relative to the root it was found under (an include folder may sit inside the header
        // folder, as headers/extensions does); a relative include is named by the root that holds it.
        const owner = this.roots.includes(root) ? root : (this.roots.find((r) => !relative(r, absolutePath).startsWith('..')) ?? root);
        return { absolutePath, path: relative(owner, absolutePath).split('\\').join('/') };
      }
    }
    return undefined;
  }

  /** An entry header, which must exist. */
  entry(entry: string): LocatedHeader {
    const found = this.locate(entry);
    if (!found) {
      throw new CodegenError(
        `entry header ${entry} not found in the header folder or includeDirs.`,
        join(this.displayDir, entry),
        0,
        'point --headers at the folder that contains it, or change "entryHeaders" in the config (--config).',
      );
    }
    return found;
  }

  read(header: LocatedHeader, role: HeaderFile['role']): HeaderFile {
    const text = readFileSync(header.absolutePath, 'utf8');
    return { ...header, text, sha256: createHash('sha256').update(text).digest('hex'), role };
  }
}

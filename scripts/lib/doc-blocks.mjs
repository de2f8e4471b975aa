// Code blocks that docs mark for the test suite: `<!-- example:NAME -->` (or `output:NAME`) on the
// line before a fenced block. Tests run what the docs show, so the two cannot drift apart.
import { readFileSync } from 'node:fs';

/** The body of the fenced block right after `<!-- KIND:NAME -->` in the markdown file `path`. */
export function markedBlock(path, kind, name) {
  const text = readFileSync(path, 'utf8');
  const marker = `<!-- ${kind}:${name} -->`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${path} has no ${marker}`);
  const match = /^\s*```[a-z]*\n([\s\S]*?)\n```/.exec(text.slice(at + marker.length));
  if (!match) throw new Error(`${path}: no fenced code block right after ${marker}`);
  return match[1];
}

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// docs/compat.md's rule index and the conformance suite name the same rules: every rule of the
// audit and every deviation has a line and at least one case, and no case cites an unknown id.

const root = join(import.meta.dirname, '..', '..', '..');
const compat = readFileSync(join(root, 'docs', 'compat.md'), 'utf8');
const suiteDir = join(import.meta.dirname, '..', 'src', 'conformance');
const suite = readdirSync(suiteDir)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => readFileSync(join(suiteDir, file), 'utf8'))
  .join('\n');

const RULE = /^(A\d+|B §[\d.]+|D\d+)/;

function indexIds(): Set<string> {
  const section = compat.slice(compat.indexOf('## Rule index'));
  const ids = new Set<string>();
  for (const line of section.split('\n')) {
    const cell = /^\| ([^|]+?) \|/.exec(line)?.[1]?.trim() ?? '';
    if (RULE.test(cell)) ids.add(cell);
  }
  return ids;
}

/** Rule ids each case name starts with: `A1/A25: …`, `choice A21 (c): …`, `B §3.10 (UT): …`. */
function caseIds(): Set<string> {
  const ids = new Set<string>();
  for (const match of suite.matchAll(/['"`](?:choice )?((?:A\d+|B §[\d.]+|D\d+)[^'"`:]*):\s/g)) {
    for (const part of (match[1] as string).split('/')) {
      const id = part.replace(/\s*\([^)]*\)/g, '').trim();
      ids.add(/^§/.test(id) ? `B ${id}` : id);
    }
  }
  return ids;
}

describe('docs/compat.md rule index', () => {
  const indexed = indexIds();
  const cited = caseIds();

  it('has a line for every rule A1-A29, each B section with a status or byte rule, and every deviation D1-D16', () => {
    const expected = [
      ...Array.from({ length: 29 }, (_x, i) => `A${i + 1}`),
      ...['B §1.2', 'B §1.3', 'B §3.1', 'B §3.2', 'B §3.3', 'B §3.5', 'B §3.6', 'B §3.7', 'B §3.8', 'B §3.9', 'B §3.10'],
      ...Array.from({ length: 16 }, (_x, i) => `D${i + 1}`),
    ];
    expect([...expected].filter((id) => !indexed.has(id))).toEqual([]);
  });

  it('every indexed rule has a conformance case, and every case cites an indexed rule', () => {
    expect([...indexed].filter((id) => !cited.has(id))).toEqual([]);
    expect([...cited].filter((id) => !indexed.has(id))).toEqual([]);
  });

  it('no line of the index is left without cases', () => {
    const section = compat.slice(compat.indexOf('## Rule index'));
    expect(section.split('\n').filter((line) => RULE.test(line.slice(2)) && line.trimEnd().endsWith('| — |'))).toEqual([]);
  });
});

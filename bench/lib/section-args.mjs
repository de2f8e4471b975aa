// What every section script is given: `--quick` for the short run and `--out <file>` for its
// results, in the report's shape (see report.mjs).
import { writeFileSync } from 'node:fs';
import { checkResults } from './report.mjs';

export function sectionArgs(argv = process.argv.slice(2)) {
  const quick = argv.includes('--quick');
  const at = argv.indexOf('--out');
  const out = at >= 0 ? argv[at + 1] : undefined;
  if (out === undefined) throw new Error('a benchmark section needs --out <file>');
  return { quick, write: (results) => writeFileSync(out, JSON.stringify(checkResults(out, results), null, 2)) };
}

/** One progress line on stderr, which the orchestrator passes through. */
export function note(text) {
  process.stderr.write(`    ${text}\n`);
}

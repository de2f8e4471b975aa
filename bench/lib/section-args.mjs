// What every section script is given: `--quick` for the short run, `--out <file>` for its results,
// and named extras (`--name value`).
import { writeFileSync } from 'node:fs';
import { checkResults } from './report.mjs';

export function sectionArgs(argv = process.argv.slice(2)) {
  const quick = argv.includes('--quick');
  const value = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = value('--out');
  if (out === undefined) throw new Error('a benchmark section needs --out <file>');
  return { quick, value, write: (results) => writeFileSync(out, JSON.stringify(checkResults(out, results), null, 2)) };
}

/** One progress line on stderr, which the orchestrator passes through. */
export function note(text) {
  process.stderr.write(`    ${text}\n`);
}

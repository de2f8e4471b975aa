// Reads the test counts out of a step's output, whatever ran it: vitest's summaries (summed over the
// packages turbo ran), our own scripts' "<name>: N passed, M failed" lines (native-test's count
// the C++ test cases), ctest's per-executable summary, or else turbo's task summary. One kind per
// step, in that order of preference.

/** @typedef {{ kind: 'tests', passed: number, failed: number, skipped: number } | { kind: 'tasks', successful: number, total: number, cached: number }} StepCounts */

const vitestTests = /\bTests {2,}(.+?) \((\d+)\)\s*$/;
const ctestSummary = /\d+% tests passed, (\d+) tests? failed out of (\d+)/;
const ourSummary = /^[^\s:][^:]*:.*\b(\d+) passed, (\d+) failed\b/;
const turboTasks = /\bTasks:\s+(\d+) successful, (\d+) total/;
const turboCached = /\bCached:\s+(\d+) cached/;

function vitestCounts(lines) {
  let found = false;
  const counts = { kind: 'tests', passed: 0, failed: 0, skipped: 0 };
  for (const line of lines) {
    const m = vitestTests.exec(line);
    if (!m) continue;
    found = true;
    for (const part of m[1].split('|')) {
      const [, n, what] = /(\d+) (\w+)/.exec(part.trim()) ?? [];
      if (what === 'passed') counts.passed += Number(n);
      else if (what === 'failed') counts.failed += Number(n);
      else if (what === 'skipped' || what === 'todo') counts.skipped += Number(n);
    }
  }
  return found ? counts : undefined;
}

function summed(lines, pattern, toCounts) {
  const hits = lines.map((line) => pattern.exec(line)).filter((m) => m !== null);
  return hits.length === 0 ? undefined : sumCounts(hits.map(toCounts));
}

/**
 * The counts a step's output reports, or undefined when it reports none.
 * @param {string} output the step's whole output, escape codes removed
 * @returns {StepCounts | undefined}
 */
export function countTests(output) {
  const lines = output.split('\n');
  return (
    vitestCounts(lines) ??
    summed(lines, ourSummary, (m) => ({ kind: 'tests', passed: Number(m[1]), failed: Number(m[2]), skipped: 0 })) ??
    summed(lines, ctestSummary, (m) => ({ kind: 'tests', passed: Number(m[2]) - Number(m[1]), failed: Number(m[1]), skipped: 0 })) ??
    turboCounts(lines)
  );
}

function turboCounts(lines) {
  const tasks = lines.map((line) => turboTasks.exec(line)).findLast((m) => m !== null);
  if (!tasks) return undefined;
  const cached = lines.map((line) => turboCached.exec(line)).findLast((m) => m !== null);
  return { kind: 'tasks', successful: Number(tasks[1]), total: Number(tasks[2]), cached: cached ? Number(cached[1]) : 0 };
}

/**
 * The test counts of several steps added up (task counts are left out); undefined when none.
 * @param {StepCounts[]} list
 */
export function sumCounts(list) {
  const tests = list.filter((c) => c.kind === 'tests');
  if (tests.length === 0) return undefined;
  return tests.reduce((a, c) => ({ kind: 'tests', passed: a.passed + c.passed, failed: a.failed + c.failed, skipped: a.skipped + c.skipped }));
}

/** @param {StepCounts} c */
export function formatCounts(c) {
  if (c.kind === 'tasks') return `turbo tasks: ${c.successful} of ${c.total} successful (${c.cached} cached)`;
  return `tests: ${c.passed} passed, ${c.failed} failed${c.skipped > 0 ? `, ${c.skipped} skipped` : ''}`;
}

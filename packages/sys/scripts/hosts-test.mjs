#!/usr/bin/env node
// The cross-host test tier: the host backend between "hosts" made of network namespaces, over a
// wire with a rate (tc tbf), delay and loss (dd_delay_stage over NFQUEUE), cable pulls and a
// stalled peer. One line per scenario with its figures and verdict; the verdict rests on bytes,
// completion, statuses, causes and bounds far from healthy timings — speed is the benchmark's
// (`pnpm bench --hosts`). Skipped, with the reason, where namespaces cannot be created.
//
//   node packages/sys/scripts/hosts-test.mjs [--only TEXT] [--bench-budget]
//     --only TEXT       only the scenarios whose name contains TEXT
//     --bench-budget    the benchmark's longer measurements (10 long pulls, 4 s figures)
// Needs root and: apt-get install -y iperf3 libnetfilter-queue-dev iptables
import { KNOWN_FAILURES } from './hosts/known-failures.mjs';
import { BUDGETS } from './hosts/scenarios.mjs';
import { runTier } from './hosts/tier.mjs';

const argv = process.argv.slice(2);
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
const budget = argv.includes('--bench-budget') ? BUDGETS.bench : BUDGETS.test;
const log = (text) => console.log(`[hosts] ${text}`);
const started = performance.now();

const count = { passed: 0, failed: 0, known: 0, fixed: 0 };
try {
  const { skipped, results } = await runTier({
    budget,
    only,
    log,
    onResult: (r) => {
      const bad = r.error !== undefined || r.checks.some((c) => !c.ok);
      const known = KNOWN_FAILURES.get(r.name);
      const verdict = !bad ? (known === undefined ? 'passed' : 'fixed') : known === undefined ? 'failed' : 'known';
      count[verdict] += 1;
      const mark = { passed: '✓', failed: '✗', known: '✗ (known failure)', fixed: '✓ (listed as a known failure: remove it from hosts/known-failures.mjs)' }[verdict];
      log(`${mark} ${r.name} (${r.seconds.toFixed(1)} s): ${r.summary ?? r.error}`);
      for (const c of r.checks.filter((c) => !c.ok)) log(`    failed: ${c.what}`);
      if (verdict === 'known') log(`    known: ${known}`);
    },
  });
  if (skipped !== undefined) {
    log(`skipped: ${skipped}`);
    process.exit(0);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(`${results.length} scenarios in ${seconds} s: ${count.passed} passed, ${count.failed} failed, ${count.known} known failures, ${count.fixed} known failures that now pass`);
} catch (error) {
  log(`could not run: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
process.exit(count.failed + count.fixed > 0 ? 1 : 0);

// Cross-host figures: the host backend between network namespaces over a wire with a rate, a round
// trip and loss (packages/sys/scripts/hosts, the same scenarios the test tier runs), as ratios
// against iperf3 and a raw TCP request/answer measured in the same run. Needs root and
// `apt-get install -y iperf3 libnetfilter-queue-dev iptables`. A scenario's failed checks do not
// stop the section (the test tier judges them); what it measured is reported, and what it could
// not measure is said on stderr.
import { runTier } from '../../packages/sys/scripts/hosts/tier.mjs';
import { BUDGETS } from '../../packages/sys/scripts/hosts/scenarios.mjs';
import { entry } from '../lib/report.mjs';
import { note, sectionArgs } from '../lib/section-args.mjs';

const { quick, write } = sectionArgs();
const figures = [];
const { skipped } = await runTier({
  budget: quick ? BUDGETS.test : BUDGETS.bench,
  log: note,
  onResult: (r) => {
    const failedChecks = r.checks.filter((c) => !c.ok).map((c) => c.what);
    note(`${r.name} (${r.seconds.toFixed(1)} s): ${r.summary ?? r.error}`);
    if (failedChecks.length > 0) note(`  checks that failed: ${failedChecks.join('; ')}`);
    figures.push(...r.figures);
  },
});
if (skipped !== undefined) throw new Error(`the cross-host section cannot run here: ${skipped}`);

// A figure the run could not measure (no call completed in a phase) is left out, with the figures
// measured against it.
const measured = new Set(figures.filter((f) => Number.isFinite(f.value)).map((f) => f.name));
const kept = figures.filter((f) => measured.has(f.name) && (f.baseline === undefined || measured.has(f.baseline)));
for (const f of figures.filter((g) => !kept.includes(g))) note(`not measured: ${f.name}`);
write(kept.map((f) => entry(`hosts ${f.name}`, f.value, f.unit, f.baseline === undefined ? undefined : `hosts ${f.baseline}`)));

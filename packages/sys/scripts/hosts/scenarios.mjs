// The scenarios of the cross-host tier. Each builds its own engines (fresh processes, so one
// scenario's damage never leaks into the next), shapes the wire, runs, and returns
//   { summary, checks: [{ ok, what }], figures: [{ name, value, unit, baseline? }] }.
// Checks are what the test tier asserts: bytes, completion, the status and cause of a failure, and
// bounds far from any healthy timing (tens of times the healthy value, so machine drift cannot trip
// them). Speeds are figures: ratios against iperf3 or the raw TCP baseline of the same run, judged
// in the bench, never asserted.
import { setTimeout as sleep } from 'node:timers/promises';
import { HostProcess } from './host-process.mjs';
import { iperfStream } from './iperf.mjs';
import { LLM_TIMEOUT, monotonicMs, overlapping, percentile, startedBetween, statusName, succeeded, summarize } from './calls.mjs';

/** How long each scenario measures: `test` for CI, `bench` for `pnpm bench --hosts`. */
export const BUDGETS = {
  test: { iperfSeconds: 2, pullSeconds: 2, latencySeconds: 1, longPulls: 3, phaseSeconds: 3, cableOutSeconds: 5, stageCeiling: false },
  bench: { iperfSeconds: 4, pullSeconds: 4, latencySeconds: 2, longPulls: 10, phaseSeconds: 4, cableOutSeconds: 5, stageCeiling: true },
};

/** The wires the transfer scenario runs on: one rate, three round trips, and loss. */
export const CONDITIONS = [
  { rateMbit: 1000, rttMs: 0, loss: 0 },
  { rateMbit: 1000, rttMs: 0.5, loss: 0 },
  { rateMbit: 1000, rttMs: 2, loss: 0 },
  { rateMbit: 1000, rttMs: 2, loss: 0.01 },
];

const SERVER = { host: 'p', cluster: 1, port: 26000, rawPort: 26001 };
const REGION_BLOCKS = 4096; // 256 MiB of 64 KiB blocks
const CLIENT_BLOCKS = 1024;
const D2_BLOCKS = CLIENT_BLOCKS;
const LONG_WAIT_MS = '10000'; // llm.SyncKvCacheWaitTime where a scenario measures speed, not timeouts
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : String(x));
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : String(x));

export const wireLabel = ({ rateMbit, rttMs, loss }) =>
  `${rateMbit > 0 ? `${rateMbit >= 1000 ? `${rateMbit / 1000}Gbit` : `${rateMbit}Mbit`}` : 'unshaped'} rtt${rttMs}ms${loss > 0 ? ` loss${loss * 100}%` : ''}`;

const check = (ok, what) => ({ ok: Boolean(ok), what });

function loopChecks(name, s) {
  return [
    check(s.ok > 0, `${name}: at least one call completed (${s.ok})`),
    check(s.failed === 0, `${name}: no call failed (${s.failed}${s.failures[0] ? `: ${statusName(s.failures[0].status)} ${s.failures[0].detail}` : ''})`),
    check(s.verifyErrors === 0, `${name}: every byte right (${s.verifyErrors} calls with wrong bytes)`),
  ];
}

async function withEngines(ctx, specs, body) {
  const started = [];
  try {
    for (const spec of specs) started.push(await HostProcess.start(ctx.topology, { binary: ctx.hostNode, ...spec }));
    return await body(...started);
  } finally {
    for (const node of started) {
      if (!node.exited) {
        try {
          node.resume(); // a scenario that failed mid-stall leaves no stopped process
        } catch {
          // it exited meanwhile
        }
      }
      await node.quit().catch(() => undefined);
    }
  }
}

const server = () => ({ ...SERVER, mode: 'serve', blocks: REGION_BLOCKS });
const client = (host, cluster, options = {}, blocks = CLIENT_BLOCKS) => ({ host, cluster, mode: 'client', blocks, options: { 'dd.DataPath': 'tcp', ...options } });

async function linked(node, peer, what) {
  const answer = await node.link(peer, peer);
  if (answer.status !== 0) throw new Error(`${what}: link failed: ${answer.status_name} ${answer.detail}`);
  return answer;
}

async function pullLoop(node, peer, tag, spec, timeoutMs) {
  await node.startPulls(tag, peer, spec);
  return node.wait(tag, timeoutMs);
}

/** Bandwidth and latency on one wire, next to iperf3 and the raw TCP baseline. */
export async function transferScenario(ctx, wire) {
  const label = wireLabel(wire);
  await ctx.topology.shape(wire);
  const { budget } = ctx;
  const lossBefore = ctx.topology.lossCounters();
  const iperf = await iperfStream(ctx.topology, { seconds: budget.iperfSeconds });
  return withEngines(ctx, [server(), client('d1', 2, { 'llm.SyncKvCacheWaitTime': LONG_WAIT_MS })], async (p, d1) => {
    await linked(d1, p, label);
    const seconds = budget.pullSeconds;
    const one = summarize(await pullLoop(d1, p, 'one', { blocks: 64, seconds }, (seconds + 30) * 1000), 64);
    const four = summarize(await pullLoop(d1, p, 'four', { blocks: 64, seconds, threads: 4, seed: 2 }, (seconds + 30) * 1000), 64);
    const lat = summarize(await pullLoop(d1, p, 'lat', { blocks: 1, seconds: budget.latencySeconds, seed: 3 }, (budget.latencySeconds + 30) * 1000), 1);
    await d1.startRawReads('raw', p, { blocks: 1, seconds: budget.latencySeconds, seed: 4 });
    const raw = summarize(await d1.wait('raw', (budget.latencySeconds + 30) * 1000), 1);
    await d1.startRawReads('raw64', p, { blocks: 64, seconds, seed: 5 });
    const raw64 = summarize(await d1.wait('raw64', (seconds + 30) * 1000), 64);
    const stageReport = await ctx.topology.stopStage();
    const lossAfter = ctx.topology.lossCounters();
    const dropped = lossAfter.dropped - lossBefore.dropped;
    const received = lossAfter.received - lossBefore.received;
    const iperfName = `iperf3 1 stream ${label} Mbit/s`;
    const rawP50 = `raw tcp 1x64KiB ${label} p50 ms`;
    const rawP99 = `raw tcp 1x64KiB ${label} p99 ms`;
    const figures = [
      { name: iperfName, value: iperf.mbitPerS, unit: 'Mbit/s' },
      { name: `pull 64x64KiB ${label} Mbit/s`, value: one.mbitPerS, unit: 'Mbit/s', baseline: iperfName },
      { name: `pull 64x64KiB x4 threads one link ${label} Mbit/s`, value: four.mbitPerS, unit: 'Mbit/s', baseline: iperfName },
      { name: `raw tcp 64x64KiB ${label} Mbit/s`, value: raw64.mbitPerS, unit: 'Mbit/s', baseline: iperfName },
      { name: `pull 64x64KiB ${label} p99 ms`, value: one.p99Ms, unit: 'ms' },
      { name: rawP50, value: raw.p50Ms, unit: 'ms' },
      { name: rawP99, value: raw.p99Ms, unit: 'ms' },
      { name: `pull 1x64KiB ${label} p50 ms`, value: lat.p50Ms, unit: 'ms', baseline: rawP50 },
      { name: `pull 1x64KiB ${label} p99 ms`, value: lat.p99Ms, unit: 'ms', baseline: rawP99 },
    ];
    if (stageReport !== undefined) {
      figures.push({ name: `delay stage ${label} lateness mean us`, value: stageReport.late_mean_us, unit: 'us' });
      figures.push({ name: `delay stage ${label} lateness max us`, value: stageReport.late_max_us, unit: 'us' });
    }
    const stageText =
      (stageReport === undefined
        ? 'no delay stage'
        : `delay stage: ${stageReport.packets} packets, late mean ${f1(stageReport.late_mean_us)} µs max ${f1(stageReport.late_max_us)} µs, ${f1(stageReport.cpu_ms / 1000)} s CPU${stageReport.realtime ? '' : ' (not real-time)'}`) +
      (wire.loss > 0 ? `; dropped ${dropped} of ${received} segments (${f2((100 * dropped) / received)} %)` : '');
    return {
      summary:
        `iperf3 ${f1(iperf.mbitPerS)} Mbit/s (${iperf.retransmits} retransmits); ` +
        `64x64KiB ${f1(one.mbitPerS)} Mbit/s = ${f2(one.mbitPerS / iperf.mbitPerS)}x (${one.ok} calls, p50 ${f1(one.p50Ms)} p99 ${f1(one.p99Ms)} ms); ` +
        `4 threads ${f1(four.mbitPerS)} Mbit/s = ${f2(four.mbitPerS / iperf.mbitPerS)}x; ` +
        `raw TCP 64x64KiB ${f1(raw64.mbitPerS)} Mbit/s = ${f2(raw64.mbitPerS / iperf.mbitPerS)}x; ` +
        `1x64KiB p50/p99 ${f2(lat.p50Ms)}/${f2(lat.p99Ms)} ms vs raw TCP ${f2(raw.p50Ms)}/${f2(raw.p99Ms)} ms; ${stageText}`,
      checks: [...loopChecks('64x64KiB', one), ...loopChecks('4 threads', four), ...loopChecks('1x64KiB', lat), ...loopChecks('raw baselines', raw), ...loopChecks('raw 64x64KiB', raw64)],
      figures,
    };
  });
}

/** 256 MiB pulls at 500 Mbit/s (4.3 s each on the wire): all complete, and the link survives them. */
export async function longTransferScenario(ctx) {
  const wire = { rateMbit: 500, rttMs: 2, loss: 0 };
  const label = wireLabel(wire);
  await ctx.topology.shape(wire);
  const pulls = ctx.budget.longPulls;
  const iperf = await iperfStream(ctx.topology, { seconds: ctx.budget.iperfSeconds });
  return withEngines(ctx, [server(), client('d1', 2, { 'llm.SyncKvCacheWaitTime': '30000' }, REGION_BLOCKS)], async (p, d1) => {
    await linked(d1, p, label);
    const long = summarize(await pullLoop(d1, p, 'long', { blocks: REGION_BLOCKS, calls: pulls }, pulls * 40_000 + 30_000), REGION_BLOCKS);
    // Intact: the same link, not re-made, still moves verified bytes.
    const after = summarize(await pullLoop(d1, p, 'after', { blocks: 64, calls: 1, seed: 9 }, 40_000), 64);
    const intact = after.ok === 1;
    const firstFailure = long.failures[0];
    const iperfName = `iperf3 1 stream ${label} Mbit/s`;
    const attempted = `256MiB pulls ${label} attempted`;
    return {
      summary:
        `${long.ok} of ${pulls} 256 MiB pulls complete and verified, link ${intact ? 'intact' : 'BROKEN'}; ` +
        `${f1(long.mbitPerS)} Mbit/s = ${f2(long.mbitPerS / iperf.mbitPerS)}x iperf3 (${f1(iperf.mbitPerS)} Mbit/s); per pull p50 ${f1(long.p50Ms / 1000)} s` +
        (firstFailure ? `; first failure ${statusName(firstFailure.status)}: ${firstFailure.detail}` : '') +
        (intact ? '' : `; pull after: ${after.failures[0]?.detail ?? 'none'}`),
      checks: [
        ...loopChecks(`${pulls} x 256 MiB`, long),
        check(long.ok === pulls, `all ${pulls} pulls completed (${long.ok})`),
        check(intact, `the link is intact afterwards: a pull on it succeeds without re-linking (${after.failures[0]?.detail ?? 'ok'})`),
      ],
      figures: [
        { name: iperfName, value: iperf.mbitPerS, unit: 'Mbit/s' },
        { name: `256MiB pull ${label} Mbit/s`, value: long.mbitPerS, unit: 'Mbit/s', baseline: iperfName },
        { name: attempted, value: pulls, unit: 'pulls' },
        { name: `256MiB pulls ${label} completed, link intact`, value: intact ? long.ok : 0, unit: 'pulls', baseline: attempted },
      ],
    };
  });
}

/** Waits (≤ 10 s) until bytes stream toward `host`: a call of its is on the wire right now. */
async function untilStreaming(topology, host) {
  for (let i = 0; i < 500; i += 1) {
    const before = topology.bytesToward(host);
    await sleep(20);
    if (topology.bytesToward(host) - before > 512 * 1024) return;
  }
  throw new Error(`no pull of ${host} was on the wire within 10 s`);
}

/**
 * Gets `node` pulling from `peer` again, as a supervisor would: a verified pull on the old link; if
 * that fails, force unlink and link, then a verified pull — retried every 100 ms for up to 15 s
 * (after a cable comes back the first connects can fail while the hosts re-learn their neighbours).
 * Returns { ok, ms since `sinceMs`, steps }.
 */
async function relink(node, peer, sinceMs, tag) {
  const pull = async (seed) => summarize(await pullLoop(node, peer, `${tag}-${seed}`, { blocks: 64, calls: 1, seed }, 40_000), 64);
  if ((await pull(100)).ok === 1) return { ok: true, ms: monotonicMs() - sinceMs, steps: 'the old link still worked' };
  let last = '';
  for (let attempt = 1; monotonicMs() - sinceMs < 15_000; attempt += 1) {
    await node.unlink(peer, peer, { force: true });
    const link = await node.link(peer, peer);
    const proof = link.status === 0 ? await pull(100 + attempt) : undefined;
    if (proof?.ok === 1) return { ok: true, ms: monotonicMs() - sinceMs, steps: `force unlink and link, ${attempt} attempt${attempt > 1 ? 's' : ''}${attempt > 1 ? ` (before: ${last})` : ''}` };
    last = link.status !== 0 ? `${link.status_name} ${link.detail}` : (proof?.failures[0]?.detail ?? 'no proof');
    await sleep(100);
  }
  return { ok: false, ms: monotonicMs() - sinceMs, steps: `no verified pull within 15 s; last: ${last}` };
}

/** A cable pull under a running pull loop, default engine settings: detection time, cause, re-link. */
export async function cablePullScenario(ctx) {
  const wire = { rateMbit: 1000, rttMs: 0.5, loss: 0 };
  await ctx.topology.shape(wire);
  const outMs = ctx.budget.cableOutSeconds * 1000;
  return withEngines(ctx, [server(), client('d1', 2)], async (p, d1) => {
    await linked(d1, p, 'cable pull');
    await d1.startPulls('loop', p, { blocks: 64 });
    await sleep(1000);
    await untilStreaming(ctx.topology, 'd1');
    ctx.topology.cablePull('d1');
    const pulledAt = monotonicMs();
    await sleep(outMs);
    ctx.topology.cableRestore('d1');
    const restoredAt = monotonicMs();
    const record = await d1.stop('loop', 60_000);
    const relinked = await relink(d1, p, restoredAt, 'cable');
    const before = startedBetween(record.calls, 0, pulledAt);
    const failed = record.calls.filter((c) => !succeeded(c) && c[0] + c[1] >= pulledAt).sort((a, b) => a[0] + a[1] - (b[0] + b[1]));
    const first = failed[0];
    const detectionMs = first === undefined ? NaN : first[0] + first[1] - pulledAt;
    const cause = record.failures.find((f) => f.at_ms >= pulledAt) ?? record.failures[0];
    const lastCause = record.failures[record.failures.length - 1];
    // The link itself is known gone when calls start failing with its recorded cause (calls run
    // back to back, so the first such call ends within one wait time of the break).
    const goneMs = lastCause !== undefined && lastCause !== cause ? lastCause.at_ms - pulledAt : NaN;
    const later = failed.filter((c) => c[0] >= pulledAt + 4000 && c[0] < restoredAt);
    const laterP50 = later.length > 0 ? later.map((c) => c[1]).sort((a, b) => a - b)[later.length >> 1] : NaN;
    // Defaults: llm.SyncKvCacheWaitTime 1000 ms, dd.HeartbeatIntervalMs 1000 (3 silent intervals).
    const boundMs = 1000 + 3 * 1000 + 2000;
    return {
      summary:
        `first call failed ${f1(detectionMs)} ms after the pull: ${first ? statusName(first[2]) : 'no failure'} "${cause?.detail ?? ''}"` +
        (lastCause && lastCause !== cause ? `; from ${f1(goneMs)} ms on, calls fail in ${f1(laterP50)} ms (p50) with "${lastCause.detail}"` : '') +
        `; re-link ${relinked.ok ? 'ok' : 'FAILED'} ${f1(relinked.ms)} ms after the cable came back (${relinked.steps})`,
      checks: [
        check(before.filter(succeeded).length > 0, `pulls succeeded before the pull (${before.filter(succeeded).length})`),
        check(record.verify_errors === 0, `every byte right (${record.verify_errors} calls with wrong bytes)`),
        check(first !== undefined, 'a call failed after the cable was pulled'),
        check(first === undefined || first[2] === LLM_TIMEOUT, `the failure is LLM_TIMEOUT (compat.md: a gone peer), got ${first ? statusName(first[2]) : '-'}`),
        check((cause?.detail ?? '').length > 0, 'the failure says why'),
        check(detectionMs <= boundMs, `detected within the wait time + 3 heartbeats + 2 s (${f1(detectionMs)} ms <= ${boundMs} ms)`),
        check(relinked.ok, `re-linked and pulled verified bytes after the cable came back (${relinked.steps})`),
      ],
      figures: [
        { name: 'cable pull rtt0.5ms first call failed ms', value: detectionMs, unit: 'ms' },
        { name: 'cable pull rtt0.5ms link known gone ms', value: goneMs, unit: 'ms' },
        { name: 'cable pull rtt0.5ms re-link ms', value: relinked.ms, unit: 'ms' },
      ],
    };
  });
}

/**
 * Two decoders pull from one prefill. Phases: d1 alone (d2 linked, idle); both pulling (d1's
 * baseline); d2 stalled (SIGSTOP mid-pull); then, after both are brought back, d2 partitioned
 * (its cable pulled mid-pull). d1's calls must not wait for d2, and both must get back.
 */
export async function isolationScenario(ctx) {
  const wire = { rateMbit: 1000, rttMs: 0.5, loss: 0 };
  await ctx.topology.shape(wire);
  const phaseMs = ctx.budget.phaseSeconds * 1000;
  const waits = { 'llm.SyncKvCacheWaitTime': LONG_WAIT_MS };
  return withEngines(ctx, [server(), client('d1', 2, waits), client('d2', 3, waits)], async (p, d1, d2) => {
    await linked(d1, p, 'd1');
    await linked(d2, p, 'd2');
    await d1.startPulls('d1a', p, { blocks: 64 });
    const aloneFrom = monotonicMs() + 500;
    await sleep(phaseMs);
    // 64 MiB per call: more than the stalled d2's socket buffers take in, so the prefill cannot
    // finish writing the answer while d2 is stopped.
    await d2.startPulls('d2a', p, { blocks: D2_BLOCKS, seed: 5 });
    const sharedFrom = monotonicMs() + 500;
    await sleep(phaseMs);
    await untilStreaming(ctx.topology, 'd2');
    d2.pause();
    const stallFrom = monotonicMs();
    await sleep(phaseMs);
    d2.resume();
    const stallTo = monotonicMs();
    await d2.stop('d2a', 60_000);
    const first = await d1.stop('d1a', 60_000);
    const [d2AfterStall, d1AfterStall] = await Promise.all([relink(d2, p, stallTo, 'd2-stall'), relink(d1, p, stallTo, 'd1-stall')]);

    await d1.startPulls('d1b', p, { blocks: 64, seed: 7 });
    await d2.startPulls('d2b', p, { blocks: D2_BLOCKS, seed: 6 });
    await sleep(1000);
    await untilStreaming(ctx.topology, 'd2');
    ctx.topology.cablePull('d2');
    const cutFrom = monotonicMs();
    await sleep(phaseMs);
    ctx.topology.cableRestore('d2');
    const cutTo = monotonicMs();
    await d2.stop('d2b', 60_000);
    const second = await d1.stop('d1b', 60_000);
    const [d2AfterCut, d1AfterCut] = await Promise.all([relink(d2, p, cutTo, 'd2-cut'), relink(d1, p, cutTo, 'd1-cut')]);

    const phase = (record, from, to) => {
      const done = startedBetween(record.calls, from, to).filter(succeeded).map((c) => c[1]);
      const spanning = overlapping(record.calls, from, to).map((c) => c[1]);
      return { calls: done.length, p99: done.length > 0 ? percentile(done, 99) : NaN, max: spanning.length > 0 ? Math.max(...spanning) : NaN };
    };
    const alone = phase(first, aloneFrom, sharedFrom - 500);
    const shared = phase(first, sharedFrom, stallFrom);
    const stall = phase(first, stallFrom, stallTo);
    const cut = phase(second, cutFrom, cutTo);
    const d1First = summarize(first, 64);
    const d1Second = summarize(second, 64);
    const bound = phaseMs / 2;
    const baseName = 'other decoder 64x64KiB p99 baseline (both pulling) ms';
    const text = (name, ph) => `${f1(ph.p99)} ms ${name} (${ph.calls} calls, longest ${f1(ph.max)} ms)`;
    const back = (name, r) => `${name} ${r.ok ? `${f1(r.ms)} ms` : 'NOT back'} (${r.steps})`;
    const d1Failure = d1First.failures[0] ?? d1Second.failures[0];
    return {
      summary:
        `d1 p99 ${text('alone', alone)}, ${text('with d2 pulling (baseline)', shared)}, ` +
        `${text('while d2 stalled', stall)} = ${f2(stall.p99 / shared.p99)}x, ${text('while d2 partitioned', cut)} = ${f2(cut.p99 / shared.p99)}x; ` +
        `back after the stall: ${back('d2', d2AfterStall)}, ${back('d1', d1AfterStall)}; after the partition: ${back('d2', d2AfterCut)}, ${back('d1', d1AfterCut)}` +
        (d1Failure ? `; d1 failed ${d1First.failed + d1Second.failed} calls, first: ${d1Failure.detail}` : ''),
      checks: [
        ...loopChecks('d1 around the stall', d1First),
        ...loopChecks('d1 around the partition', d1Second),
        check(stall.calls >= 3, `d1 kept completing calls while d2 was stalled (${stall.calls})`),
        check(stall.max < bound, `no d1 call waited for the stalled d2 (longest ${f1(stall.max)} ms < ${bound} ms, half the stall)`),
        check(cut.calls >= 3, `d1 kept completing calls while d2 was partitioned (${cut.calls})`),
        check(cut.max < bound, `no d1 call waited for the partitioned d2 (longest ${f1(cut.max)} ms < ${bound} ms)`),
        check(d2AfterStall.ok && d1AfterStall.ok, `both pull verified bytes again after the stall (d2: ${d2AfterStall.steps}; d1: ${d1AfterStall.steps})`),
        check(d2AfterCut.ok && d1AfterCut.ok, `both pull verified bytes again after the partition (d2: ${d2AfterCut.steps}; d1: ${d1AfterCut.steps})`),
      ],
      figures: [
        { name: 'other decoder 64x64KiB p99 alone ms', value: alone.p99, unit: 'ms' },
        { name: baseName, value: shared.p99, unit: 'ms' },
        { name: 'other decoder 64x64KiB p99 while a peer is stalled ms', value: stall.p99, unit: 'ms', baseline: baseName },
        { name: 'other decoder 64x64KiB p99 while a peer is partitioned ms', value: cut.p99, unit: 'ms', baseline: baseName },
        { name: 'other decoder longest 64x64KiB call while a peer is stalled ms', value: stall.max, unit: 'ms' },
        { name: 'other decoder longest 64x64KiB call while a peer is partitioned ms', value: cut.max, unit: 'ms' },
        { name: 'stalled decoder back ms', value: d2AfterStall.ms, unit: 'ms' },
        { name: 'partitioned decoder back ms', value: d2AfterCut.ms, unit: 'ms' },
        { name: 'other decoder back after a peer stalled ms', value: d1AfterStall.ms, unit: 'ms' },
        { name: 'other decoder back after a peer was partitioned ms', value: d1AfterCut.ms, unit: 'ms' },
      ],
    };
  });
}

/**
 * Which data path the default dd.DataPath=auto picks between namespaces: the router's byte counter
 * toward d1 says whether the pulled bytes crossed the wire. Reported, not asserted.
 */
export async function pathScenario(ctx) {
  await ctx.topology.shape({ rateMbit: 1000, rttMs: 0, loss: 0 });
  return withEngines(ctx, [server(), { host: 'd1', cluster: 2, mode: 'client', blocks: CLIENT_BLOCKS, options: {} }], async (p, d1) => {
    await linked(d1, p, 'auto path');
    const before = ctx.topology.bytesToward('d1');
    const pulled = summarize(await pullLoop(d1, p, 'auto', { blocks: 256, calls: 1 }, 40_000), 256);
    const crossed = ctx.topology.bytesToward('d1') - before;
    const path = crossed >= pulled.bytes ? 'TCP (the bytes crossed the wire)' : 'same-host (the bytes did not cross the wire)';
    return {
      summary: `dd.DataPath=auto between namespaces: ${f1(crossed / 2 ** 20)} MiB crossed the router for ${f1(pulled.bytes / 2 ** 20)} MiB pulled: ${path}`,
      checks: loopChecks('auto path pull', pulled),
      figures: [{ name: 'auto path bytes on the wire per byte pulled', value: pulled.bytes > 0 ? crossed / pulled.bytes : 0, unit: 'ratio' }],
    };
  });
}

/** The delay stage's own ceiling: iperf3 through it (unshaped, 2 ms) against the bare veth path. */
export async function stageCeilingScenario(ctx) {
  await ctx.topology.shape({ rateMbit: 0, rttMs: 0, loss: 0 });
  const bare = await iperfStream(ctx.topology, { seconds: ctx.budget.iperfSeconds });
  await ctx.topology.shape({ rateMbit: 0, rttMs: 2, loss: 0 });
  const staged = await iperfStream(ctx.topology, { seconds: ctx.budget.iperfSeconds });
  const stage = await ctx.topology.stopStage();
  const bareName = 'iperf3 1 stream unshaped rtt0ms Mbit/s';
  return {
    summary: `iperf3 unshaped ${f1(bare.mbitPerS)} Mbit/s without the stage, ${f1(staged.mbitPerS)} Mbit/s through it at 2 ms (late mean ${f1(stage?.late_mean_us)} µs, max ${f1(stage?.late_max_us)} µs)`,
    checks: [],
    figures: [
      { name: bareName, value: bare.mbitPerS, unit: 'Mbit/s' },
      { name: 'iperf3 1 stream through the delay stage unshaped rtt2ms Mbit/s', value: staged.mbitPerS, unit: 'Mbit/s', baseline: bareName },
    ],
  };
}

/** Every scenario of a run, in order, with its name. */
export function scenarioList(budget) {
  return [
    ...(budget.stageCeiling ? [{ name: 'delay stage ceiling', run: stageCeilingScenario }] : []),
    ...CONDITIONS.map((wire) => ({ name: `transfer ${wireLabel(wire)}`, run: (ctx) => transferScenario(ctx, wire) })),
    { name: 'long transfer 256MiB at 500Mbit rtt2ms', run: longTransferScenario },
    { name: 'cable pull mid-transfer (defaults)', run: cablePullScenario },
    { name: 'stalled and partitioned peer', run: isolationScenario },
    { name: 'data path between namespaces', run: pathScenario },
  ];
}

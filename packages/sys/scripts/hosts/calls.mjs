// Figures from the call records dd_host_node returns: each call is
// [start_ms, duration_ms, status, bytes_ok], start on CLOCK_MONOTONIC (process.hrtime's clock).

export const BLOCK_BYTES = 64 * 1024;
export const LLM_TIMEOUT = 0x5010b01a;

/** Milliseconds on CLOCK_MONOTONIC, the clock of the call records. */
export const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

/** The nearest-rank percentile (0 < p ≤ 100) of a non-empty list. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const succeeded = (call) => call[2] === 0 && call[3] === 1;

/**
 * Time at least one call was in flight, in ms (the union of the calls' intervals). Bandwidth is
 * bytes over this time: the loop's own work between calls (zeroing and checking every byte) is the
 * test's, not the transport's, and is left out; concurrent calls are counted once.
 */
export function busyMs(calls) {
  const spans = calls.map(([start, duration]) => [start, start + duration]).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of spans) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

/** Summary of a loop's record: calls, failures, verified bytes, Mbit/s over the busy time, latency. */
export function summarize(record, blocksPerCall) {
  const calls = record.calls;
  const ok = calls.filter(succeeded);
  const durations = ok.map((c) => c[1]);
  const bytes = ok.length * blocksPerCall * BLOCK_BYTES;
  const busy = busyMs(ok);
  return {
    calls: calls.length,
    ok: ok.length,
    failed: calls.length - ok.length,
    verifyErrors: record.verify_errors,
    failures: record.failures,
    bytes,
    mbitPerS: busy > 0 ? (bytes * 8) / (busy * 1e3) : 0,
    p50Ms: durations.length > 0 ? percentile(durations, 50) : NaN,
    p99Ms: durations.length > 0 ? percentile(durations, 99) : NaN,
    maxMs: calls.length > 0 ? Math.max(...calls.map((c) => c[1])) : NaN,
  };
}

/** The calls that started in [fromMs, toMs). */
export const startedBetween = (calls, fromMs, toMs) => calls.filter(([start]) => start >= fromMs && start < toMs);

/** The calls in flight at some time in [fromMs, toMs). */
export const overlapping = (calls, fromMs, toMs) => calls.filter(([start, duration]) => start < toMs && start + duration >= fromMs);

/** A status as its LLM name where known. */
export function statusName(status) {
  const names = { 0: 'LLM_SUCCESS', 4294967295: 'LLM_FAILED', 0x5010b005: 'LLM_PARAM_INVALID', 0x5010b007: 'LLM_NOT_YET_LINK', 0x5010b008: 'LLM_ALREADY_LINK', 0x5010b009: 'LLM_LINK_FAILED', 0x5010b00a: 'LLM_UNLINK_FAILED', 0x5010b018: 'LLM_EXIST_LINK', [LLM_TIMEOUT]: 'LLM_TIMEOUT' };
  return names[status] ?? `0x${status.toString(16)}`;
}

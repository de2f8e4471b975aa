import type { DemoReport } from './decode-run.js';
import type { DemoOptions } from './demo-options.js';
import { gigabytesPerSecond } from './phase-stats.js';
import { formatBytes, formatMs } from './units.js';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Device against host GB/s for every operation that ran on both placements, measured in this run. */
function comparison(report: DemoReport): string[] {
  const lines: string[] = [];
  for (const device of report.phases.filter((p) => p.placement === 'device')) {
    const host = report.phases.find((p) => p.placement === 'host' && p.name === device.name);
    if (host === undefined) continue;
    const d = gigabytesPerSecond(device.bytes, device.busyMs);
    const h = gigabytesPerSecond(host.bytes, host.busyMs);
    lines.push(`${device.name}: device ${d.toFixed(2)} GB/s vs host ${h.toFixed(2)} GB/s (device/host ${(d / h).toFixed(2)}×)`);
  }
  return lines.length === 0 ? [] : ['', ...lines];
}

/** The layer-wise push against the hand-written loop, measured in this run. */
function layerwise(report: DemoReport): string[] {
  const l = report.layerwisePush;
  if (l === undefined) return [];
  const saved = 1 - l.pipelinedMs / l.sequentialMs;
  return [
    '',
    `layer-wise push (device), ${l.layers} layers × ${formatBytes(l.bytesPerRequest / l.layers)}, ${l.computeMs} ms simulated compute per layer, median of ${l.requests} requests:`,
    `  sequential loop (compute a layer, then push it): ${formatMs(l.sequentialMs)} per request`,
    `  pushLayers (each layer pushed as it is computed, ≤ ${l.maxInFlight} in flight): ${formatMs(l.pipelinedMs)} per request (compute alone: ${formatMs(l.computeOnlyMs)})`,
    `  overlap: ${(saved * 100).toFixed(0)}% less wall time (${(l.sequentialMs / l.pipelinedMs).toFixed(2)}× faster); pushed blocks zeroed before and verified on the prompt side after every request (${formatBytes(l.verifiedBytes)} checked)`,
  ];
}

/** The summary printed at the end of a run. */
export function formatSummary(o: DemoOptions, report: DemoReport, wallMs: number): string {
  const rows = report.phases.map((p) => [
    p.name,
    p.placement,
    String(p.calls),
    formatBytes(p.bytes / p.calls),
    formatBytes(p.bytes),
    gigabytesPerSecond(p.bytes, p.busyMs).toFixed(2),
    formatMs(p.p50Ms),
    formatMs(p.p99Ms),
  ]);
  return [
    '',
    `KV cache per side: ${o.layers} layers × K,V × ${o.blocks} blocks of ${o.blockTokens} tokens × ${o.kvHeads} heads × ${o.headDim} dims (bf16)` +
      ` = ${formatBytes(report.bytesPerBlock)} per block per tensor, ${formatBytes(report.cacheBytes)} per cache`,
    `placements: ${o.placements.map((p) => (p === 'device' ? 'device (ACL device memory, read back with aclrtMemcpy)' : 'host (page-locked host memory)')).join(', ')}`,
    `request: ${o.requestBlocks} blocks pulled; ${o.pushBlocks} generated blocks pushed back from device memory; backend: ${report.backend}`,
    '',
    table(['operation', 'placement', 'calls', 'bytes/call', 'bytes', 'GB/s', 'p50', 'p99'], rows),
    ...comparison(report),
    ...layerwise(report),
    '',
    `link ${formatMs(report.linkMs)}, unlink ${formatMs(report.unlinkMs)}, wall time ${formatMs(wallMs)}`,
    `✓ verified ${formatBytes(report.verifiedBytes)} on both sides: every byte matched`,
  ].join('\n');
}

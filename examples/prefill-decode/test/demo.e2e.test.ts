import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The real thing, small: the built demo spawns its prompt process and both run on the native host
// backend over loopback (turbo builds dist/ and the native library before this test runs).
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function demo(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 25_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pnpm demo (two processes, host backend)', () => {
  it('hands a request over in device memory and in host memory, verifies every byte read back, and compares their GB/s', () => {
    const r = demo(['--layers', '2', '--blocks', '32', '--iterations', '3']);
    expect(r.stderr).not.toMatch(/✗/);
    expect(r.status).toBe(0);
    // 2 layers × K,V × 16 request blocks × 32 KiB per pull; 3 pulls, 3 rounds of 2 per-layer pulls, 3 pushes of 4 blocks.
    for (const placement of ['device', 'host']) {
      expect(r.stdout).toMatch(new RegExp(`^pullBlocks, all layers\\s+${placement}\\s+3\\s+2\\.00 MiB\\s+6\\.00 MiB\\s+\\d+\\.\\d\\d\\s+\\S+ (?:µs|ms|s)\\s+\\S+ (?:µs|ms|s)$`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^pullBlocks, per layer\\s+${placement}\\s+6\\s+1\\.00 MiB\\s+6\\.00 MiB\\s`, 'm'));
    }
    expect(r.stdout).toMatch(/^pushBlocks\s+device\s+3\s+512 KiB\s+1\.50 MiB\s/m);
    expect(r.stdout).not.toMatch(/^pushBlocks\s+host/m);
    expect(r.stdout).toMatch(/^pullBlocks, all layers: device \d+\.\d\d GB\/s vs host \d+\.\d\d GB\/s \(device\/host \d+\.\d\d×\)$/m);
    expect(r.stdout).toMatch(/^pullBlocks, per layer: device \d+\.\d\d GB\/s vs host /m);
    expect(r.stdout).toMatch(/placements: device \(ACL device memory, read back with aclrtMemcpy\), host \(page-locked host memory\)/);
    expect(r.stdout).toMatch(/backend: host/);
    // The push phase again, layer by layer with 1 ms of simulated compute per layer: the loop and pushLayers.
    expect(r.stdout).toMatch(/^layer-wise push \(device\), 2 layers × 256 KiB, 1 ms simulated compute per layer, median of 3 requests:$/m);
    expect(r.stdout).toMatch(/^ {2}sequential loop \(compute a layer, then push it\): \S+ (?:µs|ms|s) per request$/m);
    expect(r.stdout).toMatch(/^ {2}pushLayers \(each layer pushed as it is computed, ≤ 2 in flight\): \S+ (?:µs|ms|s) per request \(compute alone: \S+ (?:µs|ms|s)\)$/m);
    expect(r.stdout).toMatch(/^ {2}overlap: -?\d+% less wall time \(\d+\.\d\d× faster\); pushed blocks zeroed before and verified on the prompt side after every request \([\d.]+ [KMGT]iB checked\)$/m);
    expect(r.stdout).toMatch(/^link \S+ (?:µs|ms|s), unlink/m);
    expect(r.stdout).toMatch(/✓ verified .* on both sides: every byte matched/);
    expect(r.stderr).toMatch(/prompt: process \d+ listens on 127\.0\.0\.1:\d+, device cache \d+, host cache \d+ registered/);
    expect(r.stderr).toMatch(/decode: host backend, device cache \d+ registered \(4 tensors × 1\.00 MiB, device memory\)/);
    expect(r.stderr).toMatch(/prompt: caches unregistered \(device memory freed\), engine finalized, process exited/);
  });

  it('refuses bad flags before starting anything', () => {
    const r = demo(['--blocks', '4', '--request-blocks', '4']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/must fit in --blocks/);
    expect(r.stdout).toBe('');
  });
});

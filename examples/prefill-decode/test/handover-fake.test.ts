import { FakeNetwork } from '@dd/testing';
import { describe, expect, it } from 'vitest';
import { runDecoder, type PromptPeer } from '../src/decode-run.js';
import { bytesPerBlock, parseDemoOptions } from '../src/demo-options.js';
import { KvMismatchError } from '../src/kv-pattern.js';
import { Progress } from '../src/progress.js';
import { PromptSide } from '../src/prompt-side.js';

// The same two sides as the demo, in one process over the fake, so the flow and its checks are
// tested apart from the native transport (demo.e2e.test.ts runs the real two-process demo).
const options = parseDemoOptions(['--layers', '3', '--blocks', '16', '--request-blocks', '9', '--push-blocks', '3', '--iterations', '2', '--head-dim', '16']);
const LISTEN = { ip: '127.0.0.1', port: 26000 };

function quietProgress(): { progress: Progress; lines: string[] } {
  const lines: string[] = [];
  return { lines, progress: new Progress({ write: (text) => lines.push(text) > 0 }) };
}

function peerOf(side: PromptSide): PromptPeer {
  return {
    address: LISTEN,
    clusterId: side.engine.clusterId,
    cacheIds: new Map([...side.caches].map(([placement, cache]) => [placement, cache.id])),
    verifyCache: async (placement, pushed) => side.verifyCache(placement, pushed),
    clearPushTargets: async (placement) => side.clearPushTargets(placement),
  };
}

describe('prefill→decode hand-over over the fake', () => {
  it('moves, verifies and counts every byte of device and host caches, then leaves both sides clean', async () => {
    const net = new FakeNetwork();
    const side = PromptSide.open(options, LISTEN, net.bindings);
    expect([...side.caches.values()].map((cache) => cache.memory)).toEqual(['device', 'pinned']);
    const { progress, lines } = quietProgress();
    const report = await runDecoder(options, peerOf(side), progress, net.bindings);

    const block = bytesPerBlock(options);
    expect(report.phases.map((p) => `${p.name} (${p.placement})`)).toEqual([
      'pullBlocks, all layers (device)',
      'pullBlocks, per layer (device)',
      'pushBlocks (device)',
      'pullBlocks, all layers (host)',
      'pullBlocks, per layer (host)',
    ]);
    const [whole, perLayer, push, hostWhole, hostPerLayer] = report.phases;
    expect(whole).toMatchObject({ calls: 2, bytes: 2 * 6 * 9 * block, verifiedBytes: 2 * 6 * 9 * block });
    expect(perLayer).toMatchObject({ calls: 2 * 3, bytes: 2 * 6 * 9 * block });
    expect(push).toMatchObject({ calls: 2, bytes: 2 * 6 * 3 * block, verifiedBytes: side.cacheBytes });
    expect(hostWhole).toMatchObject({ calls: 2, bytes: 2 * 6 * 9 * block, verifiedBytes: 2 * 6 * 9 * block });
    expect(hostPerLayer).toMatchObject({ calls: 2 * 3, bytes: 2 * 6 * 9 * block });
    expect(report.backend).toBe('fake');
    expect(lines.join('')).toMatch(/unlinked/);

    const snapshot = net.inspect();
    const pulls = snapshot.transfers.filter((t) => t.kind === 'PullKvBlocks');
    expect(pulls).toHaveLength(2 * (2 + 6));
    expect(pulls.map((t) => t.tensors)).toEqual([6, 6, 2, 2, 2, 2, 2, 2, 6, 6, 2, 2, 2, 2, 2, 2]);
    const pushes = snapshot.transfers.filter((t) => t.kind === 'PushKvBlocks');
    // 2 pushes of every layer, then per request 3 layer pushes of the sequential loop and 3 of pushLayers.
    expect(pushes.map((t) => t.tensors)).toEqual([6, 6, ...Array(12).fill(2)]);
    expect(pushes.every((t) => t.dstBlocks.map(Number).join() === side.plan.pushTarget.join() && t.status === 0)).toBe(true);
    expect(report.layerwisePush).toMatchObject({ layers: 3, computeMs: 1, maxInFlight: 2, requests: 2, bytesPerRequest: 6 * 3 * block, verifiedBytes: 4 * side.cacheBytes });
    expect(report.layerwisePush!.pipelinedMs).toBeGreaterThan(0);
    expect(snapshot.links).toHaveLength(0);
    side.close();
    expect(side.engine.closed).toBe(true);
    // Both sides gave their device memory back: the fake keeps nothing of it mapped.
    const device = side.caches.get('device')!;
    expect(() => net.bindings.view(device.addresses[0]!, 1)).toThrow(RangeError);
  });

  it('runs one placement alone: host only has no push (V2 pushes only from device caches)', async () => {
    const hostOnly = parseDemoOptions(['--layers', '2', '--blocks', '8', '--iterations', '1', '--head-dim', '16', '--placement', 'host']);
    const net = new FakeNetwork();
    const side = PromptSide.open(hostOnly, LISTEN, net.bindings);
    const report = await runDecoder(hostOnly, peerOf(side), quietProgress().progress, net.bindings);
    expect(report.phases.map((p) => p.name)).toEqual(['pullBlocks, all layers', 'pullBlocks, per layer']);
    side.close();
  });

  it('fails loudly, naming the block, when one byte of the prompt device memory is wrong', async () => {
    const net = new FakeNetwork();
    const side = PromptSide.open(options, LISTEN, net.bindings);
    const victim = side.plan.promptBlocks[4] as number;
    const device = side.cache('device');
    const bytes = device.readBlock(5, victim);
    bytes[100] = (bytes[100] as number) ^ 0x40;
    device.writeBlock(5, victim, bytes);
    const run = runDecoder(options, peerOf(side), quietProgress().progress, net.bindings);
    await expect(run).rejects.toThrow(KvMismatchError);
    await expect(run).rejects.toThrow(new RegExp(`device decode block 4 \\(pulled from prompt block ${victim}\\): tensor 5.*byte offset 100`));
    expect(net.inspect().links).toHaveLength(0);
    side.engine.close({ force: true });
  });

  it('fails when a layer-wise push left a pushed block unwritten (the targets are zeroed before each request)', async () => {
    const net = new FakeNetwork();
    const side = PromptSide.open(options, LISTEN, net.bindings);
    const peer = peerOf(side);
    let verifies = 0;
    const lost: PromptPeer = {
      ...peer,
      verifyCache: async (placement, pushed) => {
        verifies += 1;
        // The 3rd verify follows the first sequential layer-wise request: wipe what it pushed.
        if (verifies === 3) side.clearPushTargets(placement);
        return side.verifyCache(placement, pushed);
      },
    };
    await expect(runDecoder(options, lost, quietProgress().progress, net.bindings)).rejects.toThrow(/pushed by decode/);
    side.engine.close({ force: true });
  });

  it('fails when the prompt side sees its cache changed outside the pushed blocks', async () => {
    const net = new FakeNetwork();
    const side = PromptSide.open(options, LISTEN, net.bindings);
    const peer = peerOf(side);
    const spoiled: PromptPeer = {
      ...peer,
      verifyCache: async (placement, pushed) => {
        if (pushed) side.cache(placement).writeBlock(0, side.plan.promptBlocks[0] as number, new Uint8Array(bytesPerBlock(options)));
        return side.verifyCache(placement, pushed);
      },
    };
    await expect(runDecoder(options, spoiled, quietProgress().progress, net.bindings)).rejects.toThrow(/prompt cache block/);
    side.engine.close({ force: true });
  });
});

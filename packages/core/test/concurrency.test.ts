import { describe, expect, it } from 'vitest';
import { NATIVE_CALL_SLOTS, NativeCallSlots } from '../src/native-call-slots.js';
import { backends } from './backends.js';
import { createPair, fillPattern, patternBlock, smallCache } from './harness.js';

/** A native call the test finishes by hand. */
function manualCall(): { call: () => Promise<number>; started: () => boolean; finish: () => void } {
  let started = false;
  let finish = (): void => undefined;
  return {
    call: () => {
      started = true;
      return new Promise<number>((resolve) => {
        finish = () => resolve(0);
      });
    },
    started: () => started,
    finish: () => finish(),
  };
}

describe('native call slots (koffi caps the async calls in flight)', () => {
  it('runs at most `limit` calls at once, the rest in order as slots free', async () => {
    const slots = new NativeCallSlots(2);
    const calls = [manualCall(), manualCall(), manualCall(), manualCall()];
    const done = calls.map((c) => slots.run(c.call, () => false));
    expect(calls.map((c) => c.started())).toEqual([true, true, false, false]);
    expect([slots.running, slots.waiting]).toEqual([2, 2]);
    calls[1]!.finish();
    await done[1];
    expect(calls.map((c) => c.started())).toEqual([true, true, true, false]);
    calls[0]!.finish();
    calls[2]!.finish();
    await Promise.all([done[0], done[2]]);
    expect(calls[3]!.started()).toBe(true);
    calls[3]!.finish();
    await expect(Promise.all(done)).resolves.toEqual([0, 0, 0, 0]);
    expect([slots.running, slots.waiting]).toEqual([0, 0]);
  });

  it('never starts a call whose caller stopped waiting before its turn, and frees its place', async () => {
    const slots = new NativeCallSlots(1);
    const first = manualCall();
    const gaveUp = manualCall();
    const after = manualCall();
    const firstDone = slots.run(first.call, () => false);
    const gaveUpDone = slots.run(gaveUp.call, () => true);
    const afterDone = slots.run(after.call, () => false);
    first.finish();
    await firstDone;
    await expect(gaveUpDone).rejects.toThrow(/never ran/);
    expect(gaveUp.started()).toBe(false);
    expect(after.started()).toBe(true);
    after.finish();
    await expect(afterDone).resolves.toBe(0);
  });

  it('a call that throws synchronously gives its slot back', async () => {
    const slots = new NativeCallSlots(1);
    await expect(
      slots.run(() => {
        throw new Error('bad argument');
      }, () => false),
    ).rejects.toThrow('bad argument');
    expect(slots.running).toBe(0);
  });
});

describe.each(backends)('many transfers in flight over the $name backend', (backend) => {
  it(`resolves ${4 * NATIVE_CALL_SLOTS} concurrent one-block pulls (more than koffi's cap on async calls), each with its bytes`, async () => {
    const pair = await createPair(backend);
    try {
      const blocks = 64;
      const src = smallCache(pair.prompt, 2, blocks);
      fillPattern(src, 5);
      const dst = smallCache(pair.decoder, 2, blocks);
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const from = { clusterId: 1n, cacheId: src.id };
      const count = 4 * NATIVE_CALL_SLOTS;
      const pulls = Array.from({ length: count }, (_, i) =>
        pair.decoder.pullBlocks({ from, into: dst, srcBlocks: [i % blocks], dstBlocks: [(i * 7) % blocks] }),
      );
      const reports = await Promise.all(pulls);
      expect(reports.every((r) => r.bytes === 2 * src.bytesPerBlock)).toBe(true);
      for (let i = 0; i < blocks; i += 1) {
        const from = [...Array(count).keys()].find((j) => (j * 7) % blocks === i)! % blocks;
        for (let t = 0; t < 2; t += 1) expect(dst.readBlock(t, i)).toEqual(patternBlock(src.bytesPerBlock, 5, t, from));
      }
      await pair.decoder.unlink(1n);
      src.unregister();
      dst.unregister();
    } finally {
      await pair.dispose();
    }
  }, 60_000);
});

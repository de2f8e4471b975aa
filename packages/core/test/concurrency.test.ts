import { describe, expect, it } from 'vitest';
import { StatusCode } from '@dd/sys';
import { NATIVE_CALL_SLOTS, NativeCallSlots, type BlockTransfer } from '../src/native-call-slots.js';
import type { KvCache } from '../src/index.js';
import { backends, type BackendCase } from './backends.js';
import { createPair, fillPattern, patternBlock, smallCache, type EnginePair } from './harness.js';

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

describe('native call slots', () => {
  it('runs at most `limit` calls at once, the rest in order as slots free', async () => {
    const slots = new NativeCallSlots(2, 2);
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
    const slots = new NativeCallSlots(1, 1);
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

  it('runs at most `perLink` calls of one link at once; other links still start', async () => {
    const slots = new NativeCallSlots(8, 2);
    const onA = [manualCall(), manualCall(), manualCall()];
    const onB = manualCall();
    const doneA = onA.map((c) => slots.run(c.call, () => false, 1n));
    const doneB = slots.run(onB.call, () => false, 2n);
    expect(onA.map((c) => c.started())).toEqual([true, true, false]);
    expect(onB.started()).toBe(true);
    onA[0]!.finish();
    await doneA[0];
    expect(onA[2]!.started()).toBe(true);
    onA[1]!.finish();
    onA[2]!.finish();
    onB.finish();
    await expect(Promise.all([...doneA, doneB])).resolves.toEqual([0, 0, 0, 0]);
  });

  it('a call that throws synchronously gives its slot back', async () => {
    const slots = new NativeCallSlots(1, 1);
    await expect(
      slots.run(() => {
        throw new Error('bad argument');
      }, () => false),
    ).rejects.toThrow('bad argument');
    expect(slots.running).toBe(0);
  });
});

/** Block transfers whose native calls the test sees and answers by hand. */
function blockCalls(): { transfer(key: string, blocks: number[]): BlockTransfer; calls: { src: number[]; answer(status: number): void }[] } {
  const calls: { src: number[]; answer(status: number): void }[] = [];
  return {
    calls,
    transfer: (key, blocks) => {
      const list = BigUint64Array.from(blocks, BigInt);
      return {
        key: () => key,
        src: list,
        dst: list,
        run: (src) =>
          new Promise<number>((resolve) => {
            calls.push({ src: [...src].map(Number), answer: resolve });
          }),
      };
    },
  };
}

describe('block transfers waiting for a slot join one native call', () => {
  it('joins waiting transfers with the same key into one call over their blocks, in order; others wait apart', async () => {
    const slots = new NativeCallSlots(8, 1);
    const { transfer, calls } = blockCalls();
    const first = slots.runBlocks(transfer('k', [1]), () => false, 1n);
    const joined = [slots.runBlocks(transfer('k', [2]), () => false, 1n), slots.runBlocks(transfer('k', [3, 4]), () => false, 1n)];
    const other = slots.runBlocks(transfer('other', [9]), () => false, 1n);
    expect(calls.map((c) => c.src)).toEqual([[1]]);
    calls[0]!.answer(StatusCode.LLM_SUCCESS);
    await first;
    expect(calls.map((c) => c.src)).toEqual([[1], [2, 3, 4]]);
    calls[1]!.answer(StatusCode.LLM_SUCCESS);
    await expect(Promise.all(joined)).resolves.toEqual([StatusCode.LLM_SUCCESS, StatusCode.LLM_SUCCESS]);
    expect(calls.map((c) => c.src)).toEqual([[1], [2, 3, 4], [9]]);
    calls[2]!.answer(StatusCode.LLM_SUCCESS);
    await expect(other).resolves.toBe(StatusCode.LLM_SUCCESS);
  });

  it('when the joined call finds an argument invalid, each member runs alone and gets its own status', async () => {
    const slots = new NativeCallSlots(8, 1);
    const { transfer, calls } = blockCalls();
    const first = slots.runBlocks(transfer('k', [1]), () => false, 1n);
    const members = [slots.runBlocks(transfer('k', [2]), () => false, 1n), slots.runBlocks(transfer('k', [999]), () => false, 1n), slots.runBlocks(transfer('k', [3]), () => false, 1n)];
    calls[0]!.answer(StatusCode.LLM_SUCCESS);
    await first;
    calls[1]!.answer(StatusCode.LLM_PARAM_INVALID);
    for (const [i, status] of [StatusCode.LLM_SUCCESS, StatusCode.LLM_PARAM_INVALID, StatusCode.LLM_SUCCESS].entries()) {
      await expect.poll(() => calls.length).toBe(3 + i);
      calls[2 + i]!.answer(status);
    }
    await expect(Promise.all(members)).resolves.toEqual([StatusCode.LLM_SUCCESS, StatusCode.LLM_PARAM_INVALID, StatusCode.LLM_SUCCESS]);
    expect(calls.map((c) => c.src)).toEqual([[1], [2, 999, 3], [2], [999], [3]]);
  });

  it("any other failure of the joined call is every member's, without running them again", async () => {
    const slots = new NativeCallSlots(8, 1);
    const { transfer, calls } = blockCalls();
    const first = slots.runBlocks(transfer('k', [1]), () => false, 1n);
    const members = [slots.runBlocks(transfer('k', [2]), () => false, 1n), slots.runBlocks(transfer('k', [3]), () => false, 1n)];
    calls[0]!.answer(StatusCode.LLM_SUCCESS);
    await first;
    calls[1]!.answer(StatusCode.LLM_TIMEOUT);
    await expect(Promise.all(members)).resolves.toEqual([StatusCode.LLM_TIMEOUT, StatusCode.LLM_TIMEOUT]);
    expect(calls).toHaveLength(2);
  });

  it('a waiting batch that reaches 128 blocks starts at once, while its link runs fewer than twice its share', async () => {
    const slots = new NativeCallSlots(8, 1);
    const { transfer, calls } = blockCalls();
    const first = slots.runBlocks(transfer('k', [0]), () => false, 1n);
    const joined = Array.from({ length: 256 }, (_, i) => slots.runBlocks(transfer('k', [i + 1]), () => false, 1n));
    // The first 128 filled a batch that started beside the running call; the next 128 wait.
    expect(calls.map((c) => c.src.length)).toEqual([1, 128]);
    expect(calls[1]!.src).toEqual(Array.from({ length: 128 }, (_, i) => i + 1));
    calls[0]!.answer(StatusCode.LLM_SUCCESS);
    await first;
    expect(calls.map((c) => c.src.length)).toEqual([1, 128, 128]);
    calls[1]!.answer(StatusCode.LLM_SUCCESS);
    calls[2]!.answer(StatusCode.LLM_SUCCESS);
    await expect(Promise.all(joined)).resolves.toEqual(Array(256).fill(StatusCode.LLM_SUCCESS));
  });

  it('leaves out members whose callers stopped waiting, and never joins an empty list', async () => {
    const slots = new NativeCallSlots(8, 1);
    const { transfer, calls } = blockCalls();
    const first = slots.runBlocks(transfer('k', [1]), () => false, 1n);
    const gaveUp = slots.runBlocks(transfer('k', [2]), () => true, 1n);
    const kept = slots.runBlocks(transfer('k', [3]), () => false, 1n);
    const empty = slots.runBlocks(transfer('k', []), () => false, 1n);
    calls[0]!.answer(StatusCode.LLM_SUCCESS);
    await first;
    await expect(gaveUp).rejects.toThrow(/never ran/);
    expect(calls.map((c) => c.src)).toEqual([[1], [3]]);
    calls[1]!.answer(StatusCode.LLM_SUCCESS);
    await expect(kept).resolves.toBe(StatusCode.LLM_SUCCESS);
    await expect.poll(() => calls.length).toBe(3);
    expect(calls[2]!.src).toEqual([]);
    calls[2]!.answer(StatusCode.LLM_PARAM_INVALID);
    await expect(empty).resolves.toBe(StatusCode.LLM_PARAM_INVALID);
  });
});

const BLOCKS = 64;

/** A linked pair with a patterned `tensors`-tensor cache of BLOCKS blocks on each side; `run` gets them. */
async function withLinkedCaches(
  backend: BackendCase,
  tensors: number,
  seed: number,
  run: (p: { decoder: EnginePair['decoder']; src: KvCache; dst: KvCache; from: { clusterId: bigint; cacheId: bigint } }) => Promise<void>,
): Promise<void> {
  const pair = await createPair(backend);
  try {
    const src = smallCache(pair.prompt, tensors, BLOCKS);
    fillPattern(src, seed);
    const dst = smallCache(pair.decoder, tensors, BLOCKS);
    await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
    await run({ decoder: pair.decoder, src, dst, from: { clusterId: 1n, cacheId: src.id } });
    await pair.decoder.unlink(1n);
    src.unregister();
    dst.unregister();
  } finally {
    await pair.dispose();
  }
}

describe.each(backends)('many transfers in flight over the $name backend', (backend) => {
  it(`resolves ${4 * NATIVE_CALL_SLOTS} concurrent one-block pulls, each with its bytes`, () =>
    withLinkedCaches(backend, 2, 5, async ({ decoder, src, dst, from }) => {
      const count = 4 * NATIVE_CALL_SLOTS;
      const reports = await Promise.all(Array.from({ length: count }, (_, i) => decoder.pullBlocks({ from, into: dst, srcBlocks: [i % BLOCKS], dstBlocks: [(i * 7) % BLOCKS] })));
      expect(reports.every((r) => r.bytes === 2 * src.bytesPerBlock)).toBe(true);
      for (let i = 0; i < BLOCKS; i += 1) {
        const pulled = [...Array(count).keys()].find((j) => (j * 7) % BLOCKS === i)! % BLOCKS;
        for (let t = 0; t < 2; t += 1) expect(dst.readBlock(t, i)).toEqual(patternBlock(src.bytesPerBlock, 5, t, pulled));
      }
    }), 60_000);

  it('of a thousand concurrent one-block pulls one names a block the remote cache lacks: it alone fails, as it would alone', () =>
    withLinkedCaches(backend, 1, 9, async ({ decoder, src, dst, from }) => {
      const alone = await decoder.pullBlocks({ from, into: dst, srcBlocks: [BLOCKS + 3], dstBlocks: [0] }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(alone).toBeInstanceOf(Error);
      const bad = 500;
      const settled = await Promise.allSettled(
        Array.from({ length: 1000 }, (_, i) => decoder.pullBlocks({ from, into: dst, srcBlocks: [i === bad ? BLOCKS + 3 : i % BLOCKS], dstBlocks: [i % BLOCKS] })),
      );
      expect(settled.filter((r) => r.status === 'rejected')).toHaveLength(1);
      const failed = settled[bad]!;
      expect(failed.status).toBe('rejected');
      const [got, want] = [(failed as PromiseRejectedResult).reason as { status: number; message: string }, alone as { status: number; message: string }];
      expect([got.status, got.message]).toEqual([want.status, want.message]);
      for (let i = 0; i < BLOCKS; i += 1) expect(dst.readBlock(0, i)).toEqual(patternBlock(src.bytesPerBlock, 9, 0, i));
    }), 60_000);
});

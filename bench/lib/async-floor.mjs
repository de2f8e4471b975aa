// The floor under any async call in Node.js on this machine, measured without dd and without FFI:
// the same busy work done inline on the JS thread, and done by a worker thread that spins for it
// while the caller awaits a promise that a setImmediate poll resolves when the worker says it is
// done. The difference is what one hop to another thread and back through the event loop costs
// here at best; an async dd call pays it and more (its arguments, the FFI calls, the queue).
import { Worker } from 'node:worker_threads';
import { medianOfLater } from './rounds.mjs';

/** Busy-waits `ns` nanoseconds on the calling thread. */
export function busyWait(ns) {
  const end = performance.now() + ns / 1e6;
  while (performance.now() < end);
}

/**
 * ns per call of `workNs` of work: inline, and on a spinning worker awaited by the caller; `rounds`
 * rounds of `calls` calls each, inline and awaited alternating, each figure the median of its
 * rounds but the first.
 */
export async function measureAsyncFloor({ workNs, calls, rounds }) {
  const shared = new SharedArrayBuffer(8);
  const words = new Int32Array(shared);
  const worker = new Worker(new URL('../fixtures/async-floor-worker.mjs', import.meta.url), { workerData: { calls: shared, workNs } });
  await new Promise((resolve, reject) => {
    worker.once('online', resolve);
    worker.once('error', reject);
  });
  let waiting;
  let want = 0;
  const poll = () => {
    if (Atomics.load(words, 1) < want) {
      setImmediate(poll);
      return;
    }
    const resolve = waiting;
    waiting = undefined;
    resolve();
  };
  const call = () =>
    new Promise((resolve) => {
      want += 1;
      waiting = resolve;
      Atomics.store(words, 0, want);
      setImmediate(poll);
    });
  const timed = async (run) => {
    const t0 = performance.now();
    await run();
    return ((performance.now() - t0) * 1e6) / calls;
  };
  const inline = [];
  const awaited = [];
  try {
    for (let round = 0; round < rounds; round += 1) {
      inline.push(await timed(async () => {
        for (let i = 0; i < calls; i += 1) busyWait(workNs);
      }));
      awaited.push(await timed(async () => {
        for (let i = 0; i < calls; i += 1) await call();
      }));
    }
  } finally {
    Atomics.store(words, 0, -1);
    await worker.terminate();
  }
  return { inlineNs: medianOfLater(inline), awaitedNs: medianOfLater(awaited) };
}

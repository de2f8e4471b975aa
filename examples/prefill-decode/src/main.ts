#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { runDecoder, type PromptPeer } from './decode-run.js';
import { DemoUsageError, parseDemoOptions, promptArgv, usage, type DemoOptions } from './demo-options.js';
import type { VerifiedEvent } from './prompt-channel.js';
import { runPromptProcess } from './prompt-main.js';
import { PromptProcess } from './prompt-process.js';
import { Progress } from './progress.js';
import { formatSummary } from './summary.js';

/** Bounds on every wait for the prompt process. */
const READY_WITHIN_MS = 30_000;
const VERIFY_WITHIN_MS = 30_000;
const EXIT_WITHIN_MS = 10_000;

/** The decode process: spawns the prompt process, runs the hand-over, prints the summary. */
async function runDemo(o: DemoOptions): Promise<void> {
  const started = performance.now();
  const progress = new Progress(process.stderr);
  process.stderr.write(`prefill→decode demo: two processes over 127.0.0.1, ${o.layers} layers, ${o.blocks} blocks per cache\n`);
  const { process: child, ready } = await PromptProcess.start(fileURLToPath(import.meta.url), promptArgv(o, o.port), READY_WITHIN_MS);
  try {
    const caches = ready.caches.map((c) => `${c.placement} cache ${c.cacheId}`).join(', ');
    progress.step(`prompt: process ${child.pid} listens on 127.0.0.1:${ready.port}, ${caches} registered and filled (${(ready.cacheBytes / 2 ** 20).toFixed(0)} MiB each, ${ready.fillMs.toFixed(0)} ms)`);
    const peer: PromptPeer = {
      address: { ip: '127.0.0.1', port: ready.port },
      clusterId: BigInt(ready.clusterId),
      cacheIds: new Map(ready.caches.map((c) => [c.placement, BigInt(c.cacheId)])),
      async verifyCache(placement, pushed) {
        const answer = await child.request({ command: 'verify', placement, pushed }, 'verified', VERIFY_WITHIN_MS);
        return (answer as VerifiedEvent).bytes;
      },
      async clearPushTargets(placement) {
        await child.request({ command: 'clear', placement }, 'cleared', VERIFY_WITHIN_MS);
      },
    };
    const report = await runDecoder(o, peer, progress);
    await child.request({ command: 'finish' }, 'closed', VERIFY_WITHIN_MS);
    await child.exited(EXIT_WITHIN_MS);
    progress.step('prompt: caches unregistered (device memory freed), engine finalized, process exited');
    process.stdout.write(`${formatSummary(o, report, performance.now() - started)}\n`);
  } finally {
    await child.kill();
  }
}

async function main(): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseDemoOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${usage()}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (options.role === 'prompt') return runPromptProcess(options);
  await runDemo(options);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stderr.write(`\n✗ prefill→decode demo failed: ${text}\n`);
    process.exitCode = 1;
  },
);

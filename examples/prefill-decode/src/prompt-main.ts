import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { DataDistError } from '@dd/core';
import type { DemoOptions } from './demo-options.js';
import { parseCommand, type PromptEvent } from './prompt-channel.js';
import { PromptSide } from './prompt-side.js';

const LOOPBACK = '127.0.0.1';
const PORT_ATTEMPTS = 5;

function send(event: PromptEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** A loopback port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Opens the prompt side; a picked port another process took in between is retried a few times. */
async function openOnLoopback(o: DemoOptions): Promise<{ side: PromptSide; port: number }> {
  for (let attempt = 1; ; attempt += 1) {
    const port = o.port === 0 ? await freePort() : o.port;
    try {
      return { side: PromptSide.open(o, { ip: LOOPBACK, port }), port };
    } catch (error) {
      if (o.port !== 0 || attempt >= PORT_ATTEMPTS || !(error instanceof DataDistError)) throw error;
    }
  }
}

/**
 * The prompt process: opens the prompt side, announces it, then serves commands from stdin until
 * told to finish. If stdin closes first (the decode process died), it cleans up and exits 1.
 */
export async function runPromptProcess(o: DemoOptions): Promise<number> {
  const started = performance.now();
  const { side, port } = await openOnLoopback(o);
  send({
    event: 'ready',
    port,
    clusterId: String(side.engine.clusterId),
    caches: [...side.caches].map(([placement, cache]) => ({ placement, cacheId: String(cache.id) })),
    cacheBytes: side.cacheBytes,
    fillMs: performance.now() - started,
  });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const command = parseCommand(line);
    if (command.command === 'clear') {
      side.clearPushTargets(command.placement);
      send({ event: 'cleared' });
    } else if (command.command === 'verify') {
      try {
        send({ event: 'verified', bytes: side.verifyCache(command.placement, command.pushed) });
      } catch (error) {
        send({ event: 'failed', message: error instanceof Error ? error.message : String(error) });
      }
    } else {
      side.close();
      send({ event: 'closed' });
      // Nothing else may keep this process alive: the decode side may still hold the pipe open.
      lines.close();
      process.stdin.destroy();
      return 0;
    }
  }
  side.engine.close({ force: true });
  process.stderr.write('prompt: the decode process went away before finishing\n');
  return 1;
}

import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Bindings, LlmDataDistHandle } from '@dd/sys';
import type { ConformanceScenarios } from './backend.js';

/*
 * The scenarios of a backend whose engines really listen and connect on loopback. The servers run
 * in worker threads: a sync LinkLlmClusters blocks this thread, so a server here could not answer
 * (or fail to answer) while it runs.
 */

/** Accepts and stays silent, or answers every connection with bytes no engine sends, then closes. */
const PEERS_SOURCE = `
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
parentPort.on('message', ({ id, kind }) => {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    if (kind === 'foreign') socket.end('HTTP/1.1 400 Bad Request\\r\\nContent-Length: 0\\r\\n\\r\\n' + '\\u00ff'.repeat(64));
  });
  server.listen({ host: '127.0.0.1', port: 0 }, () => parentPort.postMessage({ id, port: server.address().port }));
});
`;

/** Listens with a one-slot accept queue and then blocks its thread, so it never accepts. */
const NEVER_ACCEPTS_SOURCE = `
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer(() => {});
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600000);
});
`;

const FILL_WAIT_MS = 200;
const MAX_FILLERS = 16;

function messageFrom<T>(worker: Worker, accept: (message: unknown) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      const value = accept(message);
      if (value === undefined) return;
      worker.off('message', onMessage);
      resolve(value);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
}

/** Whether a connect to `port` completes within FILL_WAIT_MS; the socket is kept either way. */
function fill(port: number, sockets: Socket[]): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    socket.on('error', () => resolve(false));
    const timer = setTimeout(() => resolve(false), FILL_WAIT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export interface LoopbackScenarios extends ConformanceScenarios {
  close(): Promise<void>;
}

/** `kill` destroys the engine: Finalize runs, but in V2 it tells no peer anything either (A16). */
export function loopbackScenarios(bindings: Bindings): LoopbackScenarios {
  let peers: Worker | null = null;
  const blockers: Worker[] = [];
  const fillers: Socket[] = [];
  let nextId = 0;

  async function peer(kind: 'silent' | 'foreign'): Promise<string> {
    peers ??= new Worker(PEERS_SOURCE, { eval: true });
    const id = (nextId += 1);
    const port = messageFrom(peers, (message) => {
      const reply = message as { id: number; port: number };
      return reply.id === id ? reply.port : undefined;
    });
    peers.postMessage({ id, kind });
    return `127.0.0.1:${await port}`;
  }

  return {
    silentAddress: () => peer('silent'),
    foreignAddress: () => peer('foreign'),
    async unansweredAddress() {
      const worker = new Worker(NEVER_ACCEPTS_SOURCE, { eval: true });
      blockers.push(worker);
      const port = await messageFrom(worker, (message) => (typeof message === 'number' ? message : undefined));
      for (let i = 0; i < MAX_FILLERS; i += 1) {
        if (!(await fill(port, fillers))) return `127.0.0.1:${port}`;
      }
      throw new Error(`unansweredAddress: ${MAX_FILLERS} connects to 127.0.0.1:${port} all completed; the accept queue never filled`);
    },
    async kill(handle: LlmDataDistHandle) {
      bindings.LlmDataDist_destroy(handle);
      return 'destroyed';
    },
    async close() {
      for (const socket of fillers.splice(0)) socket.destroy();
      await Promise.all(blockers.splice(0).map((worker) => worker.terminate()));
      if (peers !== null) await peers.terminate();
      peers = null;
    },
  };
}

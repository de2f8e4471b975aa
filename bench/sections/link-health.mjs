// Link health: how long after a peer process is killed (kill -9: no unlink, no Finalize, the kernel
// closes its sockets) the survivor's @dd/core engine reports the link broken (its 'linkstatechange'
// event), with nothing transferred, over the same-host data path and over TCP, at the default poll
// of 100 ms and at 20 ms; how long relink() takes once the peer is back on the same address, with
// the first pull after it (every block of the peer's cache, in reverse order) checked byte for byte;
// and the same on the fake (vanish, restart, relink, checked pull).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { importCore, importTesting } from '../lib/packages.mjs';
import { entry, median } from '../lib/report.mjs';
import { note, sectionArgs } from '../lib/section-args.mjs';

const { quick, write } = sectionArgs();
const { DataType, LlmDataDist } = await importCore();
const { FakeNetwork } = await importTesting();
const peerScript = fileURLToPath(new URL('../fixtures/link-peer.mjs', import.meta.url));
const ROUNDS = quick ? 5 : 20;
const EVENT_BOUND_MS = 10_000;
// The peer's cache (bench/fixtures/link-peer.mjs) and ours: 2 tensors of 16 blocks of 4096 bytes.
const desc = { placement: 'host', dataType: DataType.DT_UINT8, shape: [16, 4096], numTensors: 2 };
const BLOCKS = desc.shape[0];
const ALL = Array.from({ length: BLOCKS }, (_, b) => b);
const REVERSED = ALL.map((b) => BLOCKS - 1 - b);
const PULLED_BYTES = desc.numTensors * BLOCKS * desc.shape[1];

/** Zeroes `into`, pulls every block of the peer's cache into the reverse slot, checks every byte. */
async function pullAllChecked(decoder, into, cacheId, byteOf, what) {
  for (let t = 0; t < desc.numTensors; t += 1) for (const b of ALL) into.block(t, b).fill(0);
  await decoder.pullBlocks({ from: { clusterId: 1n, cacheId }, into, srcBlocks: ALL, dstBlocks: REVERSED });
  for (let t = 0; t < desc.numTensors; t += 1) {
    for (const b of ALL) {
      const expected = byteOf(t, b);
      if (into.block(t, REVERSED[b]).some((byte) => byte !== expected)) throw new Error(`${what}: wrong bytes in tensor ${t}, block ${b}`);
    }
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts the peer process and waits for READY; resolves to the child and its cache id. */
async function startPeer(port, dataPath, salt) {
  const child = spawn(process.execPath, [peerScript, String(port), dataPath, String(salt)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [line] = await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the peer exited (${code}) before it was ready`);
    }),
  ]);
  const match = /^READY (\d+)$/.exec(line);
  if (match === null) throw new Error(`the peer said '${line}'`);
  return { child, cacheId: BigInt(match[1]) };
}

function brokenWithin(link, ms) {
  let timer;
  return Promise.race([
    link.down,
    new Promise((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`no linkstatechange within ${ms} ms of the kill`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One kill: link, kill -9 the peer, time the event. The kill lands at a different point of the
 * poll period each round (evenly spread over it), as a real crash would. Then the peer restarts,
 * and relink() and a checked pull are timed.
 */
async function killRound(dataPath, pollMs, round) {
  const port = await freePort();
  const first = await startPeer(port, dataPath, round);
  const decoder = LlmDataDist.create({ clusterId: 2n, role: 'decoder', linkPollIntervalMs: pollMs, extraOptions: { 'dd.DataPath': dataPath } });
  try {
    const into = decoder.registerHostCache(desc);
    const [link] = await decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port }, local: { ip: '127.0.0.1', port: 0 } });
    const seen = new Promise((resolve) => decoder.addEventListener('linkstatechange', (e) => resolve(performance.now()), { once: true }));
    await sleep(pollMs * (2 + (round + 0.5) / ROUNDS));
    const exited = once(first.child, 'exit').then(() => performance.now());
    const killedAt = performance.now();
    first.child.kill('SIGKILL');
    const state = await brokenWithin(link, EVENT_BOUND_MS);
    const eventMs = (await seen) - killedAt;
    if (state.status !== 'broken' || state.cause.source !== 'backend') throw new Error(`after the kill the link is ${JSON.stringify(state)}`);
    const goneMs = (await exited) - killedAt;

    const second = await startPeer(port, dataPath, round + 100);
    const relinkStarted = performance.now();
    const fresh = await decoder.relink(link);
    const relinkMs = performance.now() - relinkStarted;
    await pullAllChecked(decoder, into, second.cacheId, (t, b) => (round + 100 + 7 * t + b) & 0xff, 'the pull after relink');
    await decoder.unlink(fresh);
    const done = once(second.child, 'exit');
    second.child.stdin.end();
    await done;
    return { eventMs, goneMs, relinkMs, cause: state.cause.message };
  } finally {
    await decoder.settled();
    decoder.close({ force: true });
  }
}

const results = [];
for (const dataPath of ['auto', 'tcp']) {
  for (const pollMs of [100, 20]) {
    const events = [];
    const gone = [];
    const relinks = [];
    let cause = '';
    for (let round = 0; round < ROUNDS; round += 1) {
      const r = await killRound(dataPath, pollMs, round);
      if (round === 0) cause = r.cause;
      events.push(r.eventMs);
      gone.push(r.goneMs);
      relinks.push(r.relinkMs);
    }
    const path = dataPath === 'auto' ? 'same-host' : 'TCP';
    note(
      `${path}, poll ${pollMs} ms: kill -9 → event median ${median(events).toFixed(1)} ms, max ${Math.max(...events).toFixed(1)} ms over ${ROUNDS} kills ` +
        `(the killed process was reaped after ${median(gone).toFixed(1)} ms median; cause: ${cause}); relink median ${median(relinks).toFixed(1)} ms`,
    );
    results.push(entry(`kill -9 → linkstatechange, ${path}, poll ${pollMs} ms, median ms`, median(events), 'ms'));
    results.push(entry(`kill -9 → linkstatechange, ${path}, poll ${pollMs} ms, max ms`, Math.max(...events), 'ms'));
    if (pollMs === 100) {
      results.push(entry(`kill -9 → peer process reaped (exit event), ${path}, median ms`, median(gone), 'ms'));
      results.push(entry(`relink() after the peer restarted, ${path}, median ms`, median(relinks), 'ms'));
      results.push(entry(`KiB pulled and checked after each relink, ${path}`, PULLED_BYTES / 1024, 'KiB'));
    }
  }
}

// The fake: faults.vanish is the kill; the poll finds it. Then the peer restarts on the same
// address, and relink() and a checked pull follow, as above.
const fakeEvents = [];
const fakeRelinks = [];
for (let round = 0; round < ROUNDS; round += 1) {
  const network = new FakeNetwork();
  const listen = { ip: '10.0.0.1', port: 26000 };
  const prompt = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen, bindings: network.bindings });
  const decoder = LlmDataDist.create({ clusterId: 2n, role: 'decoder', listen: { ip: '10.0.0.2', port: 26000 }, bindings: network.bindings });
  const into = decoder.registerHostCache(desc);
  const [link] = await decoder.link({ clusterId: 1n, remote: listen });
  await sleep(100 * (2 + (round + 0.5) / ROUNDS));
  const vanishedAt = performance.now();
  network.faults.vanish(1n);
  await brokenWithin(link, EVENT_BOUND_MS);
  fakeEvents.push(performance.now() - vanishedAt);
  const restarted = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen, bindings: network.bindings });
  const served = restarted.registerHostCache(desc);
  const byteOf = (t, b) => (round + 7 * t + b) & 0xff;
  for (let t = 0; t < desc.numTensors; t += 1) for (const b of ALL) served.block(t, b).fill(byteOf(t, b));
  const relinkStarted = performance.now();
  await decoder.relink(link);
  fakeRelinks.push(performance.now() - relinkStarted);
  await pullAllChecked(decoder, into, served.id, byteOf, 'the pull after relink on the fake');
  await decoder.unlink(1n);
  for (const engine of [decoder, restarted, prompt]) {
    await engine.settled();
    engine.close({ force: true });
  }
}
note(`fake: vanish → event median ${median(fakeEvents).toFixed(1)} ms over ${ROUNDS} rounds (poll 100 ms); relink median ${median(fakeRelinks).toFixed(2)} ms`);
results.push(entry('fake vanish → linkstatechange, poll 100 ms, median ms', median(fakeEvents), 'ms'));
results.push(entry('fake relink() after the peer restarted, median ms', median(fakeRelinks), 'ms'));
results.push(entry('fake KiB pulled and checked after each relink', PULLED_BYTES / 1024, 'KiB'));
write(results);

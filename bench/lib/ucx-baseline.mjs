// The UCX baseline of issue 13: `ucx_perftest` (Debian's ucx-utils; NIXL builds on UCX) putting
// 4 KiB, 64 KiB and 1 MiB messages between two processes on this host, with UCX's own choice of
// same-host transports and with UCX_TLS=tcp. CI does not install ucx-utils; without it the section
// says so and reports nothing. ucx_perftest puts one buffer again and again (it stays in the CPU's
// caches), whereas dd_bench moves random blocks of a cold 256 MiB region: UCX's figure is an upper
// bound of what it would do on dd's workload.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { entry } from './report.mjs';

const SIZES = [
  ['4KiB', 4096],
  ['64KiB', 65536],
  ['1MiB', 1048576],
];
const TRANSPORTS = [
  ['default transports', {}],
  ['UCX_TLS=tcp', { UCX_TLS: 'tcp' }],
];

/** Whether ucx_perftest can run here. */
export function hasUcxPerftest() {
  return spawnSync('sh', ['-c', 'command -v ucx_perftest']).status === 0;
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

/** MB/s (overall) from ucx_perftest's "Final:" line: iterations, 3 latencies, 2 bandwidths, 2 rates. */
export function parseFinalBandwidth(text) {
  const line = text.split('\n').find((l) => l.trimStart().startsWith('Final:'));
  const fields = line?.trim().split(/\s+/).slice(1).map(Number);
  if (fields === undefined || fields.length < 6 || !fields.every(Number.isFinite)) {
    throw new Error(`ucx_perftest printed no "Final:" line with figures${line === undefined ? '' : `: ${line}`}`);
  }
  return fields[5];
}

/** One put-bandwidth run: a server and a client process, both bounded in time. */
async function putBandwidth(bytes, iterations, extraEnv) {
  const port = await freePort();
  const env = { ...process.env, ...extraEnv };
  const server = spawn('ucx_perftest', ['-p', String(port)], { env, stdio: 'ignore' });
  const serverTimer = setTimeout(() => server.kill('SIGKILL'), 60_000);
  try {
    // The server needs a moment to listen; the client retries its connection meanwhile.
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const client = spawnSync('ucx_perftest', ['127.0.0.1', '-p', String(port), '-t', 'ucp_put_bw', '-s', String(bytes), '-n', String(iterations)], {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      if (client.status === 0 && client.stdout.includes('Final:')) return parseFinalBandwidth(client.stdout) / 1000;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`ucx_perftest (${bytes} bytes, ${JSON.stringify(extraEnv)}) never completed a run`);
  } finally {
    clearTimeout(serverTimer);
    server.kill('SIGKILL');
  }
}

/** GB/s entries for every size and transport. */
export async function ucxBaselines({ quick }) {
  const results = [];
  for (const [transport, extraEnv] of TRANSPORTS) {
    for (const [label, bytes] of SIZES) {
      const iterations = Math.max(64, Math.round((quick ? 64 : 512) * 2 ** 20 / bytes));
      results.push(entry(`UCX ucp_put_bw ${label} (ucx_perftest, ${transport}) GB/s`, await putBandwidth(bytes, iterations, extraEnv), 'GB/s'));
    }
  }
  return results;
}

/** dd's same-size figures of this run restated against UCX's (push ≈ put): zero-copy vs UCX's choice, TCP vs UCX over TCP. */
export function versusUcx(earlier) {
  const byName = new Map(earlier.map((r) => [r.name, r]));
  return SIZES.flatMap(([label]) =>
    [
      [`push same-host zero-copy ${label} x64 GB/s`, `UCX ucp_put_bw ${label} (ucx_perftest, default transports) GB/s`],
      [`push tcp ${label} x64 GB/s`, `UCX ucp_put_bw ${label} (ucx_perftest, UCX_TLS=tcp) GB/s`],
    ].flatMap(([ours, ucx]) => {
      const found = byName.get(ours);
      return found !== undefined && byName.has(ucx) ? [entry(`${ours} vs UCX put`, found.value, 'GB/s', ucx)] : [];
    }),
  );
}

// The bandwidth baseline: one iperf3 TCP stream over the same wire, in the same direction as the
// pulls (from the prefill host p to a decoder), measured in the same run as the figures it is
// compared with.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { addressOf } from './topology.mjs';

const PORT = 5201;

function collect(child) {
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    err = (err + chunk).slice(-2000);
  });
  return () => ({ out, err });
}

/**
 * One stream from `from` to `to` for `seconds` (the first `omit` seconds, TCP's ramp-up, not
 * counted). Returns { mbitPerS, retransmits }.
 */
export async function iperfStream(topology, { from = 'p', to = 'd1', seconds, omit = 1 }) {
  const server = spawn('ip', ['netns', 'exec', topology.ns(from), 'iperf3', '--server', '--one-off', '--forceflush', '--bind', addressOf(from), '--port', String(PORT)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const serverOutput = collect(server);
  try {
    // iperf3 prints its banner once it listens.
    const lines = createInterface({ input: server.stdout });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`iperf3 server did not start: ${serverOutput().err}`)), 10_000);
      lines.on('line', (line) => {
        if (/listening/i.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.once('exit', (code) => reject(new Error(`iperf3 server exited (${code}): ${serverOutput().err}`)));
    });
    // --reverse: the server (on `from`) sends, as a serving engine does.
    const client = spawn('ip', ['netns', 'exec', topology.ns(to), 'iperf3', '--client', addressOf(from), '--port', String(PORT), '--reverse', '--time', String(seconds), '--omit', String(omit), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const clientOutput = collect(client);
    const timer = setTimeout(() => client.kill('SIGKILL'), (seconds + omit + 15) * 1000);
    const code = await new Promise((resolve) => client.once('exit', resolve));
    clearTimeout(timer);
    const { out, err } = clientOutput();
    if (code !== 0) throw new Error(`iperf3 client exited with ${code}: ${err.trim() || out.slice(-500)}`);
    const report = JSON.parse(out);
    const received = report.end?.sum_received?.bits_per_second;
    if (!(received > 0)) throw new Error(`iperf3 reported no received bandwidth: ${out.slice(-500)}`);
    return { mbitPerS: received / 1e6, retransmits: report.end?.sum_sent?.retransmits ?? 0 };
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

// One dd_host_node in a host namespace: started with `ip netns exec` (which execs, so the child's
// pid is the engine's own: SIGSTOP reaches it), driven one command line at a time, each answered by
// one JSON line.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { addressOf } from './topology.mjs';

export class HostProcess {
  /**
   * @param {import('./topology.mjs').Topology} topology
   * @param {{ binary: string, host: string, mode: 'serve' | 'client', cluster: number, blocks: number,
   *           options?: Record<string, string>, port?: number, rawPort?: number }} spec
   */
  static async start(topology, spec) {
    const args = ['netns', 'exec', topology.ns(spec.host), spec.binary, spec.mode, '--cluster', String(spec.cluster), '--ip', addressOf(spec.host), '--blocks', String(spec.blocks)];
    if (spec.mode === 'serve') args.push('--port', String(spec.port), '--raw-port', String(spec.rawPort));
    for (const [key, value] of Object.entries(spec.options ?? {})) args.push('--opt', `${key}=${value}`);
    const node = new HostProcess(spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'] }), spec);
    const ready = await node.next(20_000, 'start');
    if (ready.event !== 'ready') throw new Error(`${spec.host}: dd_host_node did not start: ${ready.error ?? JSON.stringify(ready)} ${node.stderr.trim()}`);
    node.cacheId = ready.cache_id;
    return node;
  }

  constructor(child, spec) {
    this.child = child;
    this.spec = spec;
    this.pid = child.pid;
    this.stderr = '';
    this.exited = false;
    this.replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    child.once('exit', () => {
      this.exited = true;
    });
  }

  get address() {
    return addressOf(this.spec.host);
  }

  /** The next JSON line, within `timeoutMs`. */
  async next(timeoutMs, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.spec.host}: no answer to '${what}' within ${timeoutMs} ms ${this.stderr.trim()}`)), timeoutMs);
    });
    try {
      const line = await Promise.race([this.replies.next(), timeout]);
      if (line.done) throw new Error(`${this.spec.host}: dd_host_node exited during '${what}' ${this.stderr.trim()}`);
      return JSON.parse(line.value);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends one command and returns its answer (an object with `reply`, or `error`). */
  async command(line, timeoutMs = 30_000) {
    if (this.exited) throw new Error(`${this.spec.host}: dd_host_node is not running (command '${line}')`);
    this.child.stdin.write(`${line}\n`);
    const answer = await this.next(timeoutMs, line);
    if (answer.error !== undefined) throw new Error(`${this.spec.host}: '${line}': ${answer.error}`);
    return answer;
  }

  link(peer, server, timeoutMs = 3000) {
    return this.command(`link ${peer.spec.cluster} ${server.address} ${server.spec.port} ${timeoutMs}`, timeoutMs + 10_000);
  }

  unlink(peer, server, { force, timeoutMs = 3000 }) {
    return this.command(`unlink ${peer.spec.cluster} ${server.address} ${server.spec.port} ${timeoutMs} ${force ? 1 : 0}`, timeoutMs + 10_000);
  }

  /** Starts a loop of PullKvBlocks calls from `server` (see dd_host_node); finish it with wait/stop. */
  startPulls(tag, server, { blocks, calls = 0, seconds = 0, threads = 1, stopOnFailure = false, seed = 1 }) {
    return this.command(
      `pull ${tag} peer=${server.spec.cluster} cache=${server.cacheId} remote_blocks=${server.spec.blocks} blocks=${blocks} calls=${calls} seconds=${seconds} threads=${threads} stop_on_failure=${stopOnFailure ? 1 : 0} seed=${seed}`,
    );
  }

  /** The raw TCP baseline: the same loop over bare request/answer reads from `server`. */
  startRawReads(tag, server, { blocks, calls = 0, seconds = 0, seed = 1 }) {
    return this.command(`raw ${tag} peer=${server.spec.cluster} ip=${server.address} port=${server.spec.rawPort} remote_blocks=${server.spec.blocks} blocks=${blocks} calls=${calls} seconds=${seconds} seed=${seed}`);
  }

  /** Waits for a loop to end by its own limits; returns its record (see calls.mjs). */
  wait(tag, timeoutMs) {
    return this.command(`wait ${tag}`, timeoutMs);
  }

  stop(tag, timeoutMs = 60_000) {
    return this.command(`stop ${tag}`, timeoutMs);
  }

  /** SIGSTOP / SIGCONT: a stalled process (a pause, a debugger, a swapped-out machine). */
  pause() {
    process.kill(this.pid, 'SIGSTOP');
  }

  resume() {
    process.kill(this.pid, 'SIGCONT');
  }

  async quit() {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

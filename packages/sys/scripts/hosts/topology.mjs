// The "hosts" of the cross-host tier: one network namespace per host (prefill p, decoders d1 and
// d2), each joined by a veth pair to a router namespace r that forwards between them. Addresses
// exist only inside these namespaces. The wire:
//   - rate: on r, every port toward a host has a tbf qdisc (the rate, and a switch buffer of 5 ms);
//   - delay: an iptables rule in r hands each forwarded packet to dd_delay_stage over NFQUEUE, which
//     holds it for half the round trip (each packet crosses r once per direction);
//   - loss: each host drops that share of the segments it receives (iptables statistic match in its
//     INPUT chain), both directions alike. tbf's burst is then set below 64 KiB so that it cuts GSO
//     packets into MTU segments, and what is dropped is one segment, as on a lossy wire.
// A "cable pull" sets r's port toward a host down: that host's packets vanish without a reset, as
// when a cable or a switch port dies.
//
// Everything belongs to one run, named ddh<runner pid>-*, and is removed by destroy(); a run that
// was killed is cleaned up by the next one (removeLeftovers), which also lets two runs coexist.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

export const HOSTS = ['p', 'd1', 'd2'];
const SUBNET = { p: 1, d1: 2, d2: 3 };
export const addressOf = (host) => `10.77.${SUBNET[host]}.2`;
const routerAddressOf = (host) => `10.77.${SUBNET[host]}.1`;
const NAME = /^ddh(\d+)-(r|p|d1|d2)$/;
const QUEUE = 0;

/** Runs a command; returns stdout, throws with its stderr when it fails. */
export function run(command, args, { allowFailure = false, timeoutMs = 20_000 } = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs });
  if (!allowFailure && (r.error || r.status !== 0)) {
    const why = r.error ? r.error.message : (r.stderr || r.stdout || `exit ${r.status ?? r.signal}`).trim();
    throw new Error(`${command} ${args.join(' ')}: ${why}`);
  }
  return r.stdout ?? '';
}

function namespaces() {
  const out = run('ip', ['-j', 'netns', 'list'], { allowFailure: true }).trim();
  return out === '' ? [] : JSON.parse(out).map((n) => n.name);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Kills what runs in a namespace of ours (processes this tier started there), then deletes it. */
function killProcessesIn(ns) {
  for (const pid of run('ip', ['netns', 'pids', ns], { allowFailure: true }).split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function removeNamespace(ns) {
  killProcessesIn(ns);
  run('ip', ['netns', 'del', ns], { allowFailure: true });
}

/** Namespaces of earlier runs whose runner is gone (killed before its teardown). Returns their names. */
export function removeLeftovers() {
  const removed = [];
  for (const ns of namespaces()) {
    const match = NAME.exec(ns);
    if (match !== null && Number(match[1]) !== process.pid && !alive(Number(match[1]))) {
      removeNamespace(ns);
      removed.push(ns);
    }
  }
  return removed;
}

/**
 * Why this machine cannot build the topology, or undefined when it can: root (CAP_NET_ADMIN and
 * CAP_SYS_ADMIN for `ip netns add`), veth pairs and tbf.
 */
export function cannotCreateNamespaces() {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (`ip`, `tc`) is not installed';
  const probe = `ddh${process.pid}-r`;
  try {
    run('ip', ['netns', 'add', probe]);
    run('ip', ['-n', probe, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']);
    run('tc', ['-n', probe, 'qdisc', 'add', 'dev', 'probe0', 'root', 'tbf', 'rate', '1gbit', 'burst', '128kb', 'latency', '5ms']);
    return undefined;
  } catch (error) {
    return `this machine cannot create the namespaces: ${error.message}`;
  } finally {
    removeNamespace(probe);
  }
}

export class Topology {
  /** @param {{ stageBinary: string }} options */
  constructor({ stageBinary }) {
    this.prefix = `ddh${process.pid}`;
    this.stageBinary = stageBinary;
    this.stage = undefined;
  }

  ns(host) {
    return `${this.prefix}-${host}`;
  }

  /** Creates the router and the hosts, linked and routed, unshaped and without delay. */
  create() {
    const r = this.ns('r');
    run('ip', ['netns', 'add', r]);
    run('ip', ['-n', r, 'link', 'set', 'lo', 'up']);
    run('ip', ['netns', 'exec', r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const host of HOSTS) {
      const ns = this.ns(host);
      run('ip', ['netns', 'add', ns]);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      // Both ends are created inside the namespaces: nothing appears in the caller's namespace.
      run('ip', ['link', 'add', `r-${host}`, 'netns', r, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      run('ip', ['-n', r, 'addr', 'add', `${routerAddressOf(host)}/24`, 'dev', `r-${host}`]);
      run('ip', ['-n', r, 'link', 'set', `r-${host}`, 'up']);
      run('ip', ['-n', ns, 'addr', 'add', `${addressOf(host)}/24`, 'dev', 'eth0']);
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', ns, 'route', 'add', 'default', 'via', routerAddressOf(host)]);
    }
  }

  /** The congestion control the hosts' TCP uses (the kernel's default, as on real hosts). */
  congestionControl() {
    return run('ip', ['netns', 'exec', this.ns('p'), 'cat', '/proc/sys/net/ipv4/tcp_congestion_control']).trim();
  }

  /**
   * Sets the wire: `rateMbit` on every router port (0: unshaped), `rttMs` of round trip added by
   * the delay stage and `loss`, the share of segments dropped each way. Returns the previous
   * stage's report, if one ran.
   */
  async shape({ rateMbit, rttMs, loss }) {
    if (loss > 0 && !(rateMbit > 0)) throw new Error('loss needs a rate: tbf cuts the GSO packets into the segments that are dropped');
    const r = this.ns('r');
    const report = await this.stopStage();
    run('ip', ['netns', 'exec', r, 'iptables', '-F', 'FORWARD']);
    for (const host of HOSTS) {
      if (rateMbit > 0) {
        // burst: a whole 64 KiB GSO packet passes, unless loss needs it cut into segments;
        // limit: about 5 ms of the rate, a switch buffer.
        const burst = loss > 0 ? 16384 : 131072;
        const limit = Math.max(256 * 1024, Math.round(((rateMbit * 1e6) / 8) * 0.005));
        run('tc', ['-n', r, 'qdisc', 'replace', 'dev', `r-${host}`, 'root', 'tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burst), 'limit', String(limit)]);
      } else {
        run('tc', ['-n', r, 'qdisc', 'del', 'dev', `r-${host}`, 'root'], { allowFailure: true });
      }
      const ns = this.ns(host);
      run('ip', ['netns', 'exec', ns, 'iptables', '-F', 'INPUT']);
      if (loss > 0) run('ip', ['netns', 'exec', ns, 'iptables', '-A', 'INPUT', '-m', 'statistic', '--mode', 'random', '--probability', String(loss), '-j', 'DROP']);
    }
    if (rttMs > 0) {
      await this.startStage(Math.round((rttMs * 1000) / 2));
      run('ip', ['netns', 'exec', r, 'iptables', '-A', 'FORWARD', '-j', 'NFQUEUE', '--queue-num', String(QUEUE)]);
    }
    return report;
  }

  /** Packets the hosts received so far, and how many of them their loss rules dropped. */
  lossCounters() {
    let dropped = 0;
    let received = 0;
    for (const host of HOSTS) {
      const ns = this.ns(host);
      const out = run('ip', ['netns', 'exec', ns, 'iptables', '-L', 'INPUT', '-v', '-x', '-n']);
      for (const line of out.split('\n')) {
        const match = /^\s*(\d+)\s+\d+\s+DROP\b/.exec(line);
        if (match !== null) dropped += Number(match[1]);
      }
      received += JSON.parse(run('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'eth0']))[0].stats64.rx.packets;
    }
    return { dropped, received };
  }

  async startStage(delayUs) {
    const args = [this.stageBinary, '--queue', String(QUEUE), '--delay-us', String(delayUs)];
    // Real-time priority where allowed: on a loaded machine an ordinary process wakes late, and the
    // stage's lateness is added delay (measured and reported, see its stop report).
    const realtime = spawnSync('chrt', ['-f', '50', 'true']).status === 0;
    const command = ['netns', 'exec', this.ns('r'), ...(realtime ? ['chrt', '-f', '50'] : []), ...args];
    const child = spawn('ip', command, { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const first = await lines.next();
    clearTimeout(timer);
    if (first.done || first.value !== 'READY') {
      child.kill('SIGKILL');
      throw new Error(`dd_delay_stage did not start: ${stderr.trim() || first.value || 'no output'}`);
    }
    this.stage = { child, lines, realtime };
  }

  /** Stops the delay stage; returns what it reports about itself (packets, drops, lateness). */
  async stopStage() {
    if (this.stage === undefined) return undefined;
    const { child, lines, realtime } = this.stage;
    this.stage = undefined;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    const report = await lines.next();
    await exited;
    clearTimeout(timer);
    if (report.done) return undefined;
    return { ...JSON.parse(report.value), realtime };
  }

  /** Cable pull: the router's port toward `host` goes down. */
  cablePull(host) {
    run('ip', ['-n', this.ns('r'), 'link', 'set', `r-${host}`, 'down']);
  }

  cableRestore(host) {
    run('ip', ['-n', this.ns('r'), 'link', 'set', `r-${host}`, 'up']);
  }

  /** Bytes the router has sent toward `host` so far. */
  bytesToward(host) {
    const [info] = JSON.parse(run('ip', ['-n', this.ns('r'), '-s', '-j', 'link', 'show', `r-${host}`]));
    return info.stats64.tx.bytes;
  }

  /** Kills every process in the host namespaces (engines and iperf3 a failed scenario left). */
  killHostProcesses() {
    for (const host of HOSTS) killProcessesIn(this.ns(host));
  }

  /** Stops the stage and every process in our namespaces, and deletes the namespaces. */
  async destroy() {
    await this.stopStage().catch(() => undefined);
    for (const host of [...HOSTS, 'r']) removeNamespace(this.ns(host));
    const left = namespaces().filter((ns) => ns.startsWith(`${this.prefix}-`));
    if (left.length > 0) throw new Error(`namespaces left behind: ${left.join(', ')}`);
  }
}

// One run of the cross-host tier, shared by the test runner (hosts-test.mjs) and the benchmark
// section (bench/sections/hosts.mjs): checks the machine, builds the programs, cleans up what a
// killed run left, builds the topology, runs the scenarios one by one within a time limit each, and
// tears everything down — also on SIGINT/SIGTERM.
import { spawnSync } from 'node:child_process';
import { buildPrograms } from './native-programs.mjs';
import { scenarioList } from './scenarios.mjs';
import { cannotCreateNamespaces, HOSTS, removeLeftovers, Topology } from './topology.mjs';

const PACKAGES = 'iperf3 libnetfilter-queue-dev iptables';
const SCENARIO_LIMIT_MS = 240_000;

function missingTools() {
  return ['iperf3', 'iptables'].filter((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).error !== undefined);
}

function withLimit(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/**
 * @param {{ budget: object, only?: string, log: (text: string) => void,
 *           onResult: (result: { name: string, seconds: number, summary?: string, checks: object[], figures: object[], error?: string }) => void }} options
 * @returns {Promise<{ skipped?: string, results: object[] }>}
 */
export async function runTier({ budget, only, log, onResult }) {
  const cannot = cannotCreateNamespaces();
  if (cannot !== undefined) return { skipped: cannot, results: [] };
  const missing = missingTools();
  if (missing.length > 0) throw new Error(`${missing.join(' and ')} not installed: apt-get install -y ${PACKAGES}`);
  log('building dd_host_node and dd_delay_stage (native/build/host, Release)');
  const programs = buildPrograms();
  const leftovers = removeLeftovers();
  if (leftovers.length > 0) log(`removed what a killed run left: ${leftovers.join(', ')}`);

  const topology = new Topology({ stageBinary: programs.stage });
  const onSignal = (signal) => {
    log(`${signal}: tearing down`);
    topology.destroy().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results = [];
  try {
    topology.create();
    log(`hosts ${HOSTS.join(', ')} behind router ${topology.ns('r')}; TCP congestion control ${topology.congestionControl()}`);
    const ctx = { topology, hostNode: programs.hostNode, budget, log };
    for (const scenario of scenarioList(budget)) {
      if (only !== undefined && !scenario.name.includes(only)) continue;
      const t0 = performance.now();
      let result;
      try {
        result = { name: scenario.name, ...(await withLimit(scenario.run(ctx), SCENARIO_LIMIT_MS, scenario.name)) };
      } catch (error) {
        result = { name: scenario.name, checks: [], figures: [], error: error instanceof Error ? error.message : String(error) };
        // Whatever the scenario left running must not hold ports or CPU for the next one.
        topology.killHostProcesses();
      }
      result.seconds = (performance.now() - t0) / 1000;
      results.push(result);
      onResult(result);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await topology.destroy();
  }
  return { results };
}

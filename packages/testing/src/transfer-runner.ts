import { StatusCode } from '@dd/sys';
import type { TransferFaultDecision } from './faults.js';
import { fail, type Outcome } from './outcome.js';
import { executePlan, type TransferPlan } from './transfer-plan.js';

export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

function record(plan: TransferPlan, decision: TransferFaultDecision, outcome: Outcome<number>): Outcome<void> {
  plan.initiator.network.recordTransfer({
    kind: plan.kind,
    initiator: plan.initiator.clusterId,
    peer: plan.link.peer.clusterId,
    localCacheId: plan.localCacheId,
    remoteCacheId: plan.remoteCacheId,
    status: outcome.ok ? StatusCode.LLM_SUCCESS : outcome.status,
    bytes: outcome.ok ? outcome.value : 0,
    tensors: plan.tensors,
    srcBlocks: plan.srcBlocks,
    dstBlocks: plan.dstBlocks,
    runs: plan.runs,
    latencyMs: decision.latencyMs,
  });
  return outcome.ok ? { ok: true, value: undefined } : outcome;
}

function decide(plan: TransferPlan): TransferFaultDecision {
  return plan.initiator.network.faults.decideTransfer(plan.kind, plan.initiator.clusterId, plan.link.peer.clusterId);
}

function deadlineOf(plan: TransferPlan): number {
  return plan.initiator.options?.syncWaitMs ?? 0;
}

function timedOut(plan: TransferPlan, why: string): Outcome<number> {
  return fail(StatusCode.LLM_TIMEOUT, `${plan.kind} did not finish within SyncKvCacheWaitTime ${deadlineOf(plan)} ms: ${why}`);
}

/** The link may have been torn down or broken while the transfer waited. */
function linkStillUp(plan: TransferPlan): boolean {
  return [...plan.initiator.links.values()].includes(plan.link) && !plan.link.broken;
}

/**
 * A blocking call cannot wait on the event loop, so the sync path settles at once: delays are
 * only compared with the deadline (a transfer slower than SyncKvCacheWaitTime times out).
 */
export function runTransferSync(plan: Outcome<TransferPlan>): Outcome<void> {
  if (!plan.ok) return plan;
  const decision = decide(plan.value);
  const { effect, latencyMs } = decision;
  let outcome: Outcome<number>;
  if (effect?.type === 'fail') outcome = fail(effect.status, `${plan.value.kind} failed (injected fault)`);
  else if (effect?.type === 'stall') outcome = timedOut(plan.value, 'the transfer stalled (injected fault)');
  else if (effect?.type === 'vanish') {
    plan.value.link.peer.vanish();
    outcome = fail(effect.status, `cluster ${plan.value.link.peer.clusterId} vanished mid-transfer (injected fault)`);
  } else if (latencyMs >= deadlineOf(plan.value)) outcome = timedOut(plan.value, `injected latency ${latencyMs} ms`);
  else outcome = executePlan(plan.value);
  return record(plan.value, decision, outcome);
}

/**
 * The async twin: it starts on a later turn of the event loop, waits behind earlier transfers on
 * the same link, sleeps its injected latency on timers (never past the deadline), then copies.
 */
export async function runTransferAsync(makePlan: () => Outcome<TransferPlan>): Promise<Outcome<void>> {
  await nextTurn();
  const plan = makePlan();
  if (!plan.ok) return plan;
  const { link } = plan.value;
  const decision = decide(plan.value);
  const run = async (): Promise<Outcome<void>> => {
    const { effect, latencyMs } = decision;
    const deadline = deadlineOf(plan.value);
    let outcome: Outcome<number>;
    if (effect?.type === 'vanish') {
      await nextTurn(); // the transfer is in flight when the peer goes
      link.peer.vanish();
      outcome = fail(effect.status, `cluster ${link.peer.clusterId} vanished mid-transfer (injected fault)`);
    } else if (effect?.type === 'stall') {
      await sleep(deadline);
      outcome = timedOut(plan.value, 'the transfer stalled (injected fault)');
    } else if (latencyMs >= deadline) {
      await sleep(deadline);
      outcome = timedOut(plan.value, `injected latency ${latencyMs} ms`);
    } else {
      await sleep(latencyMs);
      if (effect?.type === 'fail') outcome = fail(effect.status, `${plan.value.kind} failed (injected fault)`);
      else if (!linkStillUp(plan.value)) outcome = timedOut(plan.value, 'the link went down while the transfer was in flight');
      else outcome = executePlan(plan.value);
    }
    return record(plan.value, decision, outcome);
  };
  const result = link.queue.then(run);
  link.queue = result.then(() => undefined);
  return result;
}

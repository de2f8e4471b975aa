import { StatusCode } from '@dd/sys';
import type { FakeDataDist } from './data-dist.js';
import type { TransferFaultDecision } from './faults.js';
import type { TransferKind } from './inspection.js';
import { fail, type Outcome } from './outcome.js';
import { executePlan, type TransferPlan } from './transfer-plan.js';

/** What a pull or push call asked for; recorded whatever becomes of it. */
export interface TransferRequest {
  readonly kind: TransferKind;
  readonly initiator: FakeDataDist;
  /** The cluster the call names: the source of a pull, the destination of a push. */
  readonly peer: bigint;
  readonly localCacheId: bigint;
  readonly remoteCacheId: bigint;
  readonly srcBlocks: readonly bigint[];
  readonly dstBlocks: readonly bigint[];
}

export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

const NO_FAULT: TransferFaultDecision = { latencyMs: 0, effect: null };

function record(request: TransferRequest, plan: TransferPlan | null, decision: TransferFaultDecision, outcome: Outcome<unknown>): Outcome<void> {
  request.initiator.network.recordTransfer({
    kind: request.kind,
    initiator: request.initiator.clusterId,
    peer: request.peer,
    localCacheId: request.localCacheId,
    remoteCacheId: request.remoteCacheId,
    status: outcome.ok ? StatusCode.LLM_SUCCESS : outcome.status,
    bytes: outcome.ok && typeof outcome.value === 'number' ? outcome.value : 0,
    tensors: plan?.tensors ?? 0,
    srcBlocks: request.srcBlocks,
    dstBlocks: request.dstBlocks,
    runs: plan?.runs ?? 0,
    latencyMs: decision.latencyMs,
  });
  return outcome.ok ? { ok: true, value: undefined } : outcome;
}

function decide(request: TransferRequest): TransferFaultDecision {
  return request.initiator.network.faults.decideTransfer(request.kind, request.initiator.clusterId, request.peer);
}

function deadlineOf(plan: TransferPlan): number {
  return plan.initiator.options?.syncWaitMs ?? 0;
}

function peerGone(plan: TransferPlan): Outcome<number> {
  // A dead HCCL peer makes the operation time out.
  return fail(StatusCode.LLM_TIMEOUT, `cluster ${plan.link.peer.clusterId} is gone (the link is broken; unlink it with force_flag)`);
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
export function runTransferSync(request: TransferRequest, plan: Outcome<TransferPlan>): Outcome<void> {
  if (!plan.ok) return record(request, null, NO_FAULT, plan);
  const decision = decide(request);
  const { effect, latencyMs } = decision;
  let outcome: Outcome<number>;
  if (plan.value.peerGone) outcome = peerGone(plan.value);
  else if (effect?.type === 'fail') outcome = fail(effect.status, `${plan.value.kind} failed (injected fault)`);
  else if (effect?.type === 'stall') outcome = timedOut(plan.value, 'the transfer stalled (injected fault)');
  else if (effect?.type === 'vanish') {
    plan.value.link.peer.vanish();
    outcome = fail(effect.status, `cluster ${plan.value.link.peer.clusterId} vanished mid-transfer (injected fault)`);
  } else if (latencyMs >= deadlineOf(plan.value)) outcome = timedOut(plan.value, `injected latency ${latencyMs} ms`);
  else outcome = executePlan(plan.value);
  return record(request, plan.value, decision, outcome);
}

/**
 * The async twin: it starts on a later turn of the event loop, waits behind earlier transfers on
 * the same link, sleeps its injected latency on timers (never past the deadline), then copies.
 */
export async function runTransferAsync(request: TransferRequest, makePlan: () => Outcome<TransferPlan>): Promise<Outcome<void>> {
  await nextTurn();
  const plan = makePlan();
  if (!plan.ok) return record(request, null, NO_FAULT, plan);
  const { link } = plan.value;
  const decision = decide(request);
  const run = async (): Promise<Outcome<void>> => {
    const { effect, latencyMs } = decision;
    const deadline = deadlineOf(plan.value);
    let outcome: Outcome<number>;
    if (plan.value.peerGone) {
      outcome = peerGone(plan.value);
    } else if (effect?.type === 'vanish') {
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
    return record(request, plan.value, decision, outcome);
  };
  const result = link.queue.then(run);
  link.queue = result.then(() => undefined);
  return result;
}

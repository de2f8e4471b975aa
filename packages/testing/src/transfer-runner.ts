import { StatusCode } from '@dd/sys';
import type { FakeDataDist } from './data-dist.js';
import type { TransferFaultDecision } from './faults.js';
import type { TransferKind } from './inspection.js';
import { isIntact } from './link-end.js';
import { fail, type Outcome } from './outcome.js';
import { peerGone } from './remote-view.js';
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

interface Ending {
  readonly bytes: number;
  readonly outcome: Outcome<void>;
}

function record(request: TransferRequest, plan: TransferPlan | null, decision: TransferFaultDecision, ending: Ending): Outcome<void> {
  const { outcome, bytes } = ending;
  request.initiator.network.recordTransfer({
    kind: request.kind,
    initiator: request.initiator.clusterId,
    peer: request.peer,
    localCacheId: request.localCacheId,
    remoteCacheId: request.remoteCacheId,
    status: outcome.ok ? StatusCode.LLM_SUCCESS : outcome.status,
    bytes,
    tensors: plan?.tensors ?? 0,
    srcBlocks: request.srcBlocks,
    dstBlocks: request.dstBlocks,
    runs: plan?.runs ?? 0,
    latencyMs: decision.latencyMs,
  });
  return outcome;
}

function decide(request: TransferRequest): TransferFaultDecision {
  return request.initiator.network.faults.decideTransfer(request.kind, request.initiator.clusterId, request.peer);
}

function deadlineOf(plan: TransferPlan): number {
  return plan.initiator.options?.syncWaitMs ?? 0;
}

function nothing(outcome: Outcome<void>): Ending {
  return { bytes: 0, outcome };
}

function timedOut(plan: TransferPlan, why: string): Ending {
  return nothing(fail(StatusCode.LLM_TIMEOUT, `${plan.kind} did not finish within SyncKvCacheWaitTime ${deadlineOf(plan)} ms: ${why}`));
}

function injected(plan: TransferPlan, status: number): Ending {
  return nothing(fail(status, `${plan.kind} failed (injected fault)`));
}

function vanished(plan: TransferPlan, status: number): Ending {
  plan.link.peer.vanish();
  return nothing(fail(status, `cluster ${plan.link.peer.clusterId} vanished mid-transfer (injected fault)`));
}

/**
 * A transfer that waited: an unlink that took its link meanwhile gives NOT_YET_LINK (choice of
 * A24), a peer that went away gives TIMEOUT; otherwise the bytes move now.
 */
function finish(plan: TransferPlan): Ending {
  if (plan.initiator.links.get(plan.linkKey) !== plan.link) {
    return nothing(fail(StatusCode.LLM_NOT_YET_LINK, `the link to cluster ${plan.linkKey} was unlinked while the transfer waited`));
  }
  if (!isIntact(plan.initiator, plan.link)) return nothing(peerGone(plan.link));
  return executePlan(plan);
}

/**
 * A blocking call cannot wait on the event loop, so the sync path settles at once: delays are
 * only compared with the deadline (a transfer slower than SyncKvCacheWaitTime times out).
 */
export function runTransferSync(request: TransferRequest, plan: Outcome<TransferPlan>): Outcome<void> {
  if (!plan.ok) return record(request, null, NO_FAULT, nothing(plan));
  const decision = decide(request);
  const { effect, latencyMs } = decision;
  let ending: Ending;
  if (effect?.type === 'fail') ending = injected(plan.value, effect.status);
  else if (effect?.type === 'stall') ending = timedOut(plan.value, 'the transfer stalled (injected fault)');
  else if (effect?.type === 'vanish') ending = vanished(plan.value, effect.status);
  else if (latencyMs >= deadlineOf(plan.value)) ending = timedOut(plan.value, `injected latency ${latencyMs} ms`);
  else ending = finish(plan.value);
  return record(request, plan.value, decision, ending);
}

/** Pulls wait for their link; pushes also for every other push of the instance (A24). */
function enqueue(plan: TransferPlan, run: () => Promise<Outcome<void>>): Promise<Outcome<void>> {
  const { link, initiator } = plan;
  const isPush = plan.kind.startsWith('Push');
  const before = isPush ? Promise.all([link.queue, initiator.pushQueue]) : link.queue;
  const result = before.then(run);
  const settled = result.then(() => undefined);
  link.queue = settled;
  if (isPush) initiator.pushQueue = settled;
  return result;
}

/**
 * The async twin: it starts on a later turn of the event loop, waits behind the transfers that
 * hold its locks, sleeps its injected latency on timers (never past the deadline), then copies.
 */
export async function runTransferAsync(request: TransferRequest, makePlan: () => Outcome<TransferPlan>): Promise<Outcome<void>> {
  await nextTurn();
  const plan = makePlan();
  if (!plan.ok) return record(request, null, NO_FAULT, nothing(plan));
  const decision = decide(request);
  return enqueue(plan.value, async () => {
    const { effect, latencyMs } = decision;
    const deadline = deadlineOf(plan.value);
    let ending: Ending;
    if (effect?.type === 'vanish') {
      await nextTurn(); // the transfer is in flight when the peer goes
      ending = vanished(plan.value, effect.status);
    } else if (effect?.type === 'stall') {
      await sleep(deadline);
      ending = timedOut(plan.value, 'the transfer stalled (injected fault)');
    } else if (latencyMs >= deadline) {
      await sleep(deadline);
      ending = timedOut(plan.value, `injected latency ${latencyMs} ms`);
    } else {
      await sleep(latencyMs);
      ending = effect?.type === 'fail' ? injected(plan.value, effect.status) : finish(plan.value);
    }
    return record(request, plan.value, decision, ending);
  });
}

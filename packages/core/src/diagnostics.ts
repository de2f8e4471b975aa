import diagnostics_channel from 'node:diagnostics_channel';
import type { DataDistError, DataDistStatusName, OperationName } from './errors.js';

/** Channel on which every operation that reaches the backend announces its start. */
export const OPERATION_START_CHANNEL = 'dd:core:operation:start';
/** Channel on which every operation that reached the backend reports its end. */
export const OPERATION_END_CHANNEL = 'dd:core:operation:end';

/** Published on {@link OPERATION_START_CHANNEL}. */
export interface OperationStartEvent {
  /** Unique per process; the matching end event has the same id. */
  readonly id: number;
  readonly operation: OperationName;
  /** The cluster id of the engine that runs the operation. */
  readonly clusterId: bigint;
  /** The remote cluster of a transfer (undefined for other operations). */
  readonly remoteClusterId?: bigint;
  /** Bytes a transfer moves when it succeeds (undefined for other operations). */
  readonly bytes?: number;
  /** Which attempt this is, from 1, when the call runs under a retry policy (undefined otherwise). */
  readonly attempt?: number;
}

/** Published on {@link OPERATION_END_CHANNEL} once the backend call has finished. */
export interface OperationEndEvent extends OperationStartEvent {
  /** Milliseconds from start to the backend's answer (for an abandoned call: to its real end). */
  readonly durationMs: number;
  /** The native status (0 on success). */
  readonly status: number;
  readonly statusName: DataDistStatusName;
  /** The error the caller got, if any. */
  readonly error?: DataDistError;
  /** True when the caller's promise had already rejected (per-call timeout or abort) before the backend answered. */
  readonly abandoned: boolean;
}

const startChannel = diagnostics_channel.channel(OPERATION_START_CHANNEL);
const endChannel = diagnostics_channel.channel(OPERATION_END_CHANNEL);
let nextId = 1;

/** A started operation, to pass to {@link endOperation}. */
export interface OperationSpan {
  readonly start: OperationStartEvent;
  readonly startedAt: number;
}

/** Publishes the start of an operation (only when someone subscribes). */
export function beginOperation(event: Omit<OperationStartEvent, 'id'>): OperationSpan {
  const start: OperationStartEvent = { id: nextId++, ...event };
  if (startChannel.hasSubscribers) startChannel.publish(start);
  return { start, startedAt: performance.now() };
}

/** Publishes the end of an operation (only when someone subscribes). */
export function endOperation(
  span: OperationSpan,
  end: { readonly status: number; readonly statusName: DataDistStatusName; readonly error?: DataDistError; readonly abandoned?: boolean },
): void {
  if (!endChannel.hasSubscribers) return;
  const event: OperationEndEvent = {
    ...span.start,
    durationMs: performance.now() - span.startedAt,
    status: end.status,
    statusName: end.statusName,
    abandoned: end.abandoned ?? false,
    ...(end.error === undefined ? {} : { error: end.error }),
  };
  endChannel.publish(event);
}

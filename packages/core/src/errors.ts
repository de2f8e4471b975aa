import { AclStatusCode, STATUS_TABLE, StatusCode, type StatusName } from '@dd/sys';

/** Every operation of the API, as named in errors and diagnostics events. */
export type OperationName =
  | 'create'
  | 'initialize'
  | 'close'
  | 'setRole'
  | 'link'
  | 'unlink'
  | 'relink'
  | 'registerCache'
  | 'allocateCache'
  | 'unregisterCache'
  | 'viewCache'
  | 'readCache'
  | 'writeCache'
  | 'pullBlocks'
  | 'pullCache'
  | 'pushBlocks'
  | 'pushCache'
  | 'pullLayers'
  | 'pushLayers';

/** The name of an ACL runtime code (`ACL_ERROR_RT_MEMORY_ALLOCATION`…), from headers/acl. */
export type AclStatusName = keyof typeof AclStatusCode;

/**
 * The status name of a code: an LLM status, an ACL code (ACL functions, and what LLM-DataDist
 * passes through from its own ACL calls, A27), or `'UNKNOWN_STATUS'` for anything else (HCCL…).
 */
export type DataDistStatusName = StatusName | AclStatusName | 'UNKNOWN_STATUS';

const statusByValue = new Map<number, { readonly name: StatusName; readonly meaning: string }>(
  STATUS_TABLE.map((row) => [row.value >>> 0, { name: row.name, meaning: row.meaning }]),
);

// The first name of each ACL code: ACL_SUCCESS, not its older alias ACL_ERROR_NONE.
const aclNameByValue = new Map<number, AclStatusName>();
for (const [name, value] of Object.entries(AclStatusCode) as [AclStatusName, number][]) if (!aclNameByValue.has(value)) aclNameByValue.set(value, name);

/** Name of an ACL code, or undefined when it is not one of headers/acl's. */
export function aclStatusNameOf(code: number): AclStatusName | undefined {
  return aclNameByValue.get(code);
}

/** Name of a status code; `'UNKNOWN_STATUS'` when it is neither an LLM status nor a known ACL code. */
export function statusNameOf(status: number): DataDistStatusName {
  return statusByValue.get(status >>> 0)?.name ?? aclStatusNameOf(status) ?? 'UNKNOWN_STATUS';
}

/** One-line meaning of a status code from the generated status table. */
export function statusMeaningOf(status: number): string {
  const meaning = statusByValue.get(status >>> 0)?.meaning;
  if (meaning !== undefined) return meaning;
  return aclStatusNameOf(status) === undefined ? 'A status outside the LLM-DataDist table.' : 'An ACL runtime error code (AclStatusCode).';
}

/**
 * The codes production callers retry (omni-infer retries these 3 times, 2 s apart): transient
 * contention, momentary memory pressure and deadlines. Everything else needs a change first.
 */
const RETRYABLE = new Set<number>([
  StatusCode.LLM_REPEAT_REQUEST,
  StatusCode.LLM_CLUSTER_NUM_EXCEED_LIMIT,
  StatusCode.LLM_PROCESSING_LINK,
  StatusCode.LLM_DEVICE_OUT_OF_MEMORY,
  StatusCode.LLM_TIMEOUT,
  StatusCode.LLM_WAIT_PROC_TIMEOUT,
  StatusCode.LLM_LINK_BUSY,
]);

/** Whether retrying the same call later can succeed without changing anything. */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE.has(status >>> 0);
}

/** What every {@link DataDistError} is built from. */
export interface DataDistErrorInit {
  /** The LLM status code (uint32). */
  readonly status: number;
  /** The API operation that failed. */
  readonly operation: OperationName;
  /** The native backend's last-error text for this failure ('' when there is none). */
  readonly nativeMessage?: string;
  /** Overrides the generated message. */
  readonly message?: string;
  /** What to do about it, appended to the generated message. */
  readonly hint?: string;
  readonly cause?: unknown;
}

function defaultMessage(init: DataDistErrorInit): string {
  const status = init.status >>> 0;
  // ACL codes are written in decimal, LLM statuses in hex.
  const hex = aclStatusNameOf(status) === undefined ? `0x${status.toString(16).padStart(8, '0')}` : String(status);
  const native = init.nativeMessage ? ` Native: ${init.nativeMessage}` : '';
  const hint = init.hint ? ` ${init.hint}` : '';
  return `${init.operation} failed with ${statusNameOf(status)} (${hex}): ${statusMeaningOf(status)}${native}${hint}`;
}

/**
 * Base of every error this package throws. It carries the LLM status code and its name, the
 * operation, the native last-error text, and whether a retry can help.
 */
export class DataDistError extends Error {
  /** The LLM status code (uint32), e.g. `0x5010b005`. */
  readonly status: number;
  /** The status name, e.g. `'LLM_PARAM_INVALID'`. */
  readonly statusName: DataDistStatusName;
  /** The API operation that failed. */
  readonly operation: OperationName;
  /** The native backend's last-error text ('' when the failure was found in TypeScript). */
  readonly nativeMessage: string;
  /** Whether the same call can succeed later without changes (the codes callers retry in practice). */
  readonly retryable: boolean;

  constructor(init: DataDistErrorInit) {
    super(init.message ?? defaultMessage(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status >>> 0;
    this.statusName = statusNameOf(this.status);
    this.operation = init.operation;
    this.nativeMessage = init.nativeMessage ?? '';
    this.retryable = isRetryableStatus(this.status);
  }
}

/** The backend rejected an argument or option (`LLM_PARAM_INVALID`). */
export class ParamInvalidError extends DataDistError {}

/**
 * An argument failed a check in TypeScript, before any native code ran. Status is
 * `LLM_PARAM_INVALID`; {@link argument} names the argument and {@link rule} states what it must be.
 */
export class DataDistArgumentError extends ParamInvalidError {
  /** Path of the offending argument, e.g. `'srcBlocks[3]'` or `'options.deviceId'`. */
  readonly argument: string;
  /** The rule the value broke, e.g. `'must be an integer in [0, 2^32)'`. */
  readonly rule: string;

  constructor(operation: OperationName, argument: string, rule: string, received?: string) {
    const got = received === undefined ? '' : `; got ${received}`;
    super({ status: StatusCode.LLM_PARAM_INVALID, operation, message: `${operation}: \`${argument}\` ${rule}${got}` });
    this.argument = argument;
    this.rule = rule;
  }
}

/** Link or unlink failed, or the link state forbids the call (`LLM_LINK_FAILED`, `LLM_ALREADY_LINK`, `LLM_EXIST_LINK`…). */
export class LinkError extends DataDistError {}

/** No link exists to the remote cluster (`LLM_NOT_YET_LINK`): link it first. */
export class NotLinkedError extends LinkError {}

/** A deadline passed (`LLM_TIMEOUT`, `LLM_WAIT_PROC_TIMEOUT`, or the per-call `timeoutMs`). */
export class TimeoutError extends DataDistError {
  /**
   * True when the deadline was the per-call `timeoutMs` and the native call was still running
   * when the promise rejected; its eventual result is discarded (see `docs/core.md`).
   */
  readonly abandoned: boolean;

  constructor(init: DataDistErrorInit & { readonly abandoned?: boolean }) {
    super(init);
    this.abandoned = init.abandoned ?? false;
  }
}

/** The local or remote KV cache does not exist (`LLM_KV_CACHE_NOT_EXIST`). */
export class CacheNotFoundError extends DataDistError {}

/** Host, device or block memory is exhausted. */
export class OutOfMemoryError extends DataDistError {}

/** The engine does not implement the feature (`LLM_FEATURE_NOT_ENABLED`). */
export class FeatureNotEnabledError extends DataDistError {}

/** The engine is closed (`LLM_ENGINE_FINALIZED`); nothing reaches native code after `close()`. */
export class EngineClosedError extends DataDistError {}

/** The rules on the order of calls that upstream does not check itself. */
export type OrderingRule =
  | 'register-before-link'
  | 'unlink-before-set-role'
  | 'unlink-before-close'
  | 'unregister-before-close'
  | 'settle-before-close'
  | 'settle-before-unregister';

/**
 * A call broke an ordering rule that upstream leaves silent (the failure would otherwise surface
 * later as a missing cache, a stuck peer or freed memory under a transfer). Found in TypeScript.
 */
export class OrderingError extends DataDistError {
  /** Which rule was broken. */
  readonly rule: OrderingRule;

  constructor(operation: OperationName, rule: OrderingRule, status: number, message: string) {
    super({ status, operation, message: `${operation}: ${message} [${rule}]` });
    this.rule = rule;
  }
}

/**
 * The caller's `AbortSignal` fired. No native status exists for this, so `status` is `LLM_FAILED`;
 * `cause` is the signal's reason. The native call, if it had started, runs to completion in the
 * background and its result is discarded.
 */
export class OperationAbortedError extends DataDistError {
  constructor(operation: OperationName, reason: unknown) {
    super({ status: StatusCode.LLM_FAILED, operation, message: `${operation} was aborted by its AbortSignal`, cause: reason });
  }
}

/**
 * An ACL runtime call failed: device or page-locked memory could not be allocated, copied or
 * freed, the device could not be set, or an LLM-DataDist call passed an ACL code through (A27).
 * `status` is the ACL code (decimal, e.g. 207001) and `statusName` its name
 * (`'ACL_ERROR_RT_MEMORY_ALLOCATION'`); `nativeMessage` is the backend's reason.
 */
export class AclError extends DataDistError {
  /** The ACL function that failed (`'aclrtMalloc'`…), or undefined when an LLM-DataDist call returned the code. */
  readonly aclFunction: string | undefined;

  constructor(init: DataDistErrorInit & { readonly aclFunction?: string }) {
    const name = aclStatusNameOf(init.status) ?? `ACL code ${init.status}`;
    const native = init.nativeMessage ? ` Native: ${init.nativeMessage}` : '';
    const hint = init.hint ? ` ${init.hint}` : '';
    const where = init.aclFunction === undefined ? '' : ` in ${init.aclFunction}`;
    super({ ...init, message: init.message ?? `${init.operation} failed${where} with ${name} (${init.status}).${native}${hint}` });
    this.aclFunction = init.aclFunction;
  }
}

/** One cluster of a link or unlink call that did not succeed. */
export interface ClusterFailure {
  readonly clusterId: bigint;
  readonly error: DataDistError;
}

/** Thrown by `link()`/`unlink()` when at least one cluster failed; `failures` holds each one. */
export class AggregateLinkError extends LinkError {
  /** One entry per failed cluster, in call order. */
  readonly failures: readonly ClusterFailure[];
  /** Cluster ids that did succeed in the same call. */
  readonly succeeded: readonly bigint[];

  constructor(operation: 'link' | 'unlink', status: number, failures: readonly ClusterFailure[], succeeded: readonly bigint[]) {
    const list = failures.map((f) => `cluster ${f.clusterId}: ${f.error.statusName}`).join(', ');
    super({
      status,
      operation,
      message: `${operation} failed for ${failures.length} of ${failures.length + succeeded.length} clusters (${list})`,
    });
    this.failures = failures;
    this.succeeded = succeeded;
  }
}

type ErrorClass = new (init: DataDistErrorInit) => DataDistError;

const familyByStatus = new Map<number, ErrorClass>([
  [StatusCode.LLM_PARAM_INVALID, ParamInvalidError],
  [StatusCode.LLM_NOT_YET_LINK, NotLinkedError],
  [StatusCode.LLM_ALREADY_LINK, LinkError],
  [StatusCode.LLM_LINK_FAILED, LinkError],
  [StatusCode.LLM_UNLINK_FAILED, LinkError],
  [StatusCode.LLM_NOTIFY_PROMPT_UNLINK_FAILED, LinkError],
  [StatusCode.LLM_CLUSTER_NUM_EXCEED_LIMIT, LinkError],
  [StatusCode.LLM_PROCESSING_LINK, LinkError],
  [StatusCode.LLM_EXIST_LINK, LinkError],
  [StatusCode.LLM_LINK_BUSY, LinkError],
  [StatusCode.LLM_TIMEOUT, TimeoutError],
  [StatusCode.LLM_WAIT_PROC_TIMEOUT, TimeoutError],
  [StatusCode.LLM_KV_CACHE_NOT_EXIST, CacheNotFoundError],
  [StatusCode.LLM_DEVICE_OUT_OF_MEMORY, OutOfMemoryError],
  [StatusCode.LLM_OUT_OF_MEMORY, OutOfMemoryError],
  [StatusCode.LLM_BLOCKS_OUT_OF_MEMORY, OutOfMemoryError],
  [StatusCode.LLM_NO_FREE_BLOCK, OutOfMemoryError],
  [StatusCode.LLM_FEATURE_NOT_ENABLED, FeatureNotEnabledError],
  [StatusCode.LLM_ENGINE_FINALIZED, EngineClosedError],
]);

/** The error of the right family for a non-success native status (an ACL code passed through is an AclError). */
export function errorFromStatus(init: DataDistErrorInit): DataDistError {
  const Family = familyByStatus.get(init.status >>> 0) ?? (aclStatusNameOf(init.status) === undefined ? DataDistError : AclError);
  return new Family(init);
}

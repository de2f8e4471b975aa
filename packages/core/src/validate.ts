import { isIPv4, isIPv6 } from 'node:net';
import { DataDistArgumentError, type OperationName } from './errors.js';

/**
 * Argument checks that run before any native call. Each returns the value in the form the
 * bindings take, or throws a DataDistArgumentError naming the argument and the rule.
 */

const U64_LIMIT = 1n << 64n;
const I64_LIMIT = 1n << 63n;
const I32_MAX = 0x7fffffff;

/** A value, printed for an error message without invoking user code. */
export function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${value.byteLength} bytes`;
  if (value instanceof ArrayBuffer) return `an ArrayBuffer of ${value.byteLength} bytes`;
  return `a ${typeof value}`;
}

function integerBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return undefined;
}

/** An id crossing as uint64: a bigint in [0, 2^64), or a non-negative safe-integer number. */
export function toU64(op: OperationName, argument: string, value: unknown): bigint {
  const v = integerBigInt(value);
  if (v === undefined || v < 0n || v >= U64_LIMIT) {
    throw new DataDistArgumentError(op, argument, 'must be an integer in [0, 2^64) (a bigint, or a non-negative safe-integer number)', describe(value));
  }
  return v;
}

/** A non-negative int64: a bigint in [0, 2^63), or a non-negative safe-integer number. */
export function toNonNegativeI64(op: OperationName, argument: string, value: unknown): bigint {
  const v = integerBigInt(value);
  if (v === undefined || v < 0n || v >= I64_LIMIT) {
    throw new DataDistArgumentError(op, argument, 'must be an integer in [0, 2^63) (a bigint, or a non-negative safe-integer number)', describe(value));
  }
  return v;
}

/** An integer number in [min, max]. */
export function toIntInRange(op: OperationName, argument: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new DataDistArgumentError(op, argument, `must be an integer number in [${min}, ${max}]`, describe(value));
  }
  return value;
}

/** A uint32 index (batch index) as a number. */
export function toU32(op: OperationName, argument: string, value: unknown): number {
  return toIntInRange(op, argument, value, 0, 0xffffffff);
}

/** A timeout in milliseconds as the int32 the native API takes: an integer in [1, 2^31 - 1]. */
export function toTimeoutMs(op: OperationName, argument: string, value: unknown): number {
  return toIntInRange(op, argument, value, 1, I32_MAX);
}

/** A TCP port; listening and remote ports exclude 0. */
export function toPort(op: OperationName, argument: string, value: unknown, allowZero: boolean): number {
  return toIntInRange(op, argument, value, allowZero ? 0 : 1, 65535);
}

/** A dotted-quad IPv4 address: upstream links and addresses clusters by IPv4 only. */
export function toIPv4(op: OperationName, argument: string, value: unknown): string {
  if (typeof value !== 'string' || !isIPv4(value)) {
    throw new DataDistArgumentError(op, argument, 'must be a dotted-quad IPv4 address such as "10.0.0.2"', describe(value));
  }
  return value;
}

/** An IPv4 or IPv6 address (listening accepts both). */
export function toIP(op: OperationName, argument: string, value: unknown): string {
  if (typeof value !== 'string' || !(isIPv4(value) || isIPv6(value))) {
    throw new DataDistArgumentError(op, argument, 'must be an IPv4 or IPv6 address', describe(value));
  }
  return value;
}

/** A plain object (not null, not an array). */
export function requireObject(op: OperationName, argument: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DataDistArgumentError(op, argument, 'must be an object', describe(value));
  }
  return value as Record<string, unknown>;
}

/** An optional AbortSignal. */
export function toSignal(op: OperationName, argument: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) {
    throw new DataDistArgumentError(op, argument, 'must be an AbortSignal', describe(value));
  }
  return value;
}

/** Block indices a caller may pass: a BigUint64Array, or an array of bigints / safe-integer numbers. */
export type BlockList = BigUint64Array | readonly (number | bigint)[];

/**
 * A block list copied into a fresh BigUint64Array (the native call may still read it after the
 * caller's promise settled, so it must not alias caller memory), each index checked against `limit`
 * when the owning cache is local (`limit` undefined for a remote cache of unknown size).
 */
export function toBlockList(op: OperationName, argument: string, value: unknown, limit: number | undefined): BigUint64Array {
  let out: BigUint64Array;
  if (value instanceof BigUint64Array) {
    out = value.slice();
  } else if (Array.isArray(value)) {
    out = new BigUint64Array(value.length);
    for (let i = 0; i < value.length; i += 1) out[i] = toU64(op, `${argument}[${i}]`, value[i]);
  } else {
    throw new DataDistArgumentError(op, argument, 'must be a BigUint64Array or an array of block indices', describe(value));
  }
  if (out.length === 0) throw new DataDistArgumentError(op, argument, 'must not be empty');
  if (limit !== undefined) {
    const max = BigInt(limit);
    for (let i = 0; i < out.length; i += 1) {
      const block = out[i] as bigint;
      if (block >= max) {
        throw new DataDistArgumentError(op, `${argument}[${i}]`, `must be a block index below the cache's ${limit} blocks`, describe(block));
      }
    }
  }
  return out;
}

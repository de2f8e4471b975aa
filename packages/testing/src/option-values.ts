/*
 * How V2 reads numbers out of option strings. Two readers exist upstream: a C++ stream extraction
 * (leading white space and a sign pass, trailing characters fail, the value must fit the type)
 * and a digits-only check followed by atoi.
 */

const STREAM_INTEGER = /^[ \t\n\v\f\r]*[+-]?[0-9]+$/;

/** A stream extraction into an integer type of range [min, max]; null when it fails. */
export function streamInteger(text: string, min: bigint, max: bigint): bigint | null {
  if (!STREAM_INTEGER.test(text)) return null;
  const value = BigInt(text.trim());
  return value < min || value > max ? null : value;
}

export const INT32_MAX = 0x7fff_ffffn;
export const UINT32_MAX = 0xffff_ffffn;
export const INT64_MAX = (1n << 63n) - 1n;

/** Non-empty and ASCII digits only. */
export function isDigits(text: string): boolean {
  return /^[0-9]+$/.test(text);
}

/** An unsigned 32-bit stream extraction; a minus sign is refused rather than wrapped. */
export function uint32Option(text: string): bigint | null {
  return text.includes('-') ? null : streamInteger(text, 0n, UINT32_MAX);
}

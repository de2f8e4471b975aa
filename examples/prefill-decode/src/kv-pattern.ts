/**
 * Who wrote a block and where: every 32-bit word of a block is a hash of this identity and the
 * word's index, so a byte that is wrong, a block that landed in the wrong place, or a block from
 * the wrong tensor or writer all show up as a mismatch at a known offset.
 */
export interface BlockIdentity {
  /** The writer (prompt and decode use different tags). */
  readonly writer: number;
  readonly tensor: number;
  /** The block index the writer wrote it at. */
  readonly block: number;
}

/** The first word of a block that is not what its identity says. */
export interface BlockMismatch {
  readonly byteOffset: number;
  readonly expected: number;
  readonly actual: number;
}

/** The pattern writers of the demo. */
export const PROMPT_WRITER = 1;
export const DECODER_WRITER = 2;

function seedOf(id: BlockIdentity): number {
  return (Math.imul(id.writer + 1, 0x9e3779b1) ^ Math.imul(id.tensor + 1, 0x85ebca77) ^ Math.imul(id.block + 1, 0xc2b2ae3d)) >>> 0;
}

function wordAt(seed: number, index: number): number {
  let x = (seed ^ Math.imul(index, 0x27d4eb2f)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return (x ^ (x >>> 15)) >>> 0;
}

function words(block: Uint8Array): Uint32Array {
  if (block.byteOffset % 4 !== 0 || block.byteLength % 4 !== 0) {
    throw new RangeError(`a pattern block must be 4-byte aligned and sized (offset ${block.byteOffset}, length ${block.byteLength})`);
  }
  return new Uint32Array(block.buffer, block.byteOffset, block.byteLength / 4);
}

/** Writes the pattern of `id` over the whole block. */
export function fillBlock(block: Uint8Array, id: BlockIdentity): void {
  const w = words(block);
  const seed = seedOf(id);
  for (let i = 0; i < w.length; i += 1) w[i] = wordAt(seed, i);
}

/** The first word that differs from the pattern of `id`, or undefined when every byte matches. */
export function checkBlock(block: Uint8Array, id: BlockIdentity): BlockMismatch | undefined {
  const w = words(block);
  const seed = seedOf(id);
  for (let i = 0; i < w.length; i += 1) {
    const expected = wordAt(seed, i);
    if (w[i] !== expected) return { byteOffset: i * 4, expected, actual: w[i] as number };
  }
  return undefined;
}

/** Bytes that are not what they should be; the message names the place, so the demo fails loudly. */
export class KvMismatchError extends Error {
  override readonly name = 'KvMismatchError';
  readonly where: string;
  readonly identity: BlockIdentity;
  readonly mismatch: BlockMismatch;

  constructor(where: string, identity: BlockIdentity, mismatch: BlockMismatch) {
    const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
    super(
      `${where}: tensor ${identity.tensor}, expected the block written by writer ${identity.writer} at block ${identity.block}; ` +
        `byte offset ${mismatch.byteOffset} holds ${hex(mismatch.actual)} instead of ${hex(mismatch.expected)}`,
    );
    this.where = where;
    this.identity = identity;
    this.mismatch = mismatch;
  }
}

/** Throws KvMismatchError unless `block` holds exactly the pattern of `id`. */
export function expectBlock(where: string, block: Uint8Array, id: BlockIdentity): void {
  const mismatch = checkBlock(block, id);
  if (mismatch !== undefined) throw new KvMismatchError(where, id, mismatch);
}

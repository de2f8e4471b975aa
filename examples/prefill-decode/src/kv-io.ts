import type { KvCache } from '@dd/core';
import { fillBlock, type BlockIdentity } from './kv-pattern.js';

/**
 * Block I/O that works the same on every placement: bytes go in and out through `cache.write()`
 * and `cache.read()` (aclrtMemcpy for device memory, which has no host view; a plain copy for host memory).
 */

/** Writes the pattern of `identity(tensor, block)` into `blocks` of every tensor. */
export function writePattern(cache: KvCache, blocks: readonly number[], identity: (tensor: number, block: number) => BlockIdentity): void {
  const bytes = new Uint8Array(cache.bytesPerBlock);
  for (let t = 0; t < cache.numTensors; t += 1) {
    for (const b of blocks) {
      fillBlock(bytes, identity(t, b));
      cache.writeBlock(t, b, bytes);
    }
  }
}

/** Sets the first `blocks` blocks of every tensor to zero. */
export function zeroFront(cache: KvCache, blocks: number): void {
  const zeros = new Uint8Array(blocks * cache.bytesPerBlock);
  for (let t = 0; t < cache.numTensors; t += 1) cache.write(t, zeros);
}

/**
 * Reads tensors [first, end) back, each with one copy from block 0 up to the last of `blocks`, and
 * hands `visit` the bytes of every listed block. Returns the bytes visited.
 */
export function readBlocks(cache: KvCache, first: number, end: number, blocks: readonly number[], visit: (tensor: number, block: number, bytes: Uint8Array) => void): number {
  const span = (Math.max(...blocks) + 1) * cache.bytesPerBlock;
  for (let t = first; t < end; t += 1) {
    const tensor = cache.read(t, { offset: 0, length: span });
    for (const b of blocks) visit(t, b, tensor.subarray(b * cache.bytesPerBlock, (b + 1) * cache.bytesPerBlock));
  }
  return (end - first) * blocks.length * cache.bytesPerBlock;
}

/** Every block index of the cache. */
export function allBlocks(cache: KvCache): number[] {
  return Array.from({ length: cache.numBlocks }, (_, b) => b);
}

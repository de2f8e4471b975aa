import { describe, expect, it } from 'vitest';
import { KvMismatchError, checkBlock, expectBlock, fillBlock } from '../src/kv-pattern.js';

const id = { writer: 1, tensor: 3, block: 7 };

describe('KV pattern', () => {
  it('reads back what it wrote, and is not trivially constant', () => {
    const block = new Uint8Array(4096);
    fillBlock(block, id);
    expect(checkBlock(block, id)).toBeUndefined();
    expect(new Set(block).size).toBeGreaterThan(200);
  });

  it('finds a single wrong byte at its offset', () => {
    const block = new Uint8Array(4096);
    fillBlock(block, id);
    block[2049] = (block[2049] as number) ^ 0x01;
    expect(checkBlock(block, id)).toMatchObject({ byteOffset: 2048 });
    expect(() => expectBlock('here', block, id)).toThrow(KvMismatchError);
    expect(() => expectBlock('here', block, id)).toThrow(/here: tensor 3.*byte offset 2048/);
  });

  it('tells blocks of another writer, tensor or position apart', () => {
    const block = new Uint8Array(1024);
    fillBlock(block, id);
    for (const other of [{ ...id, writer: 2 }, { ...id, tensor: 4 }, { ...id, block: 8 }]) {
      expect(checkBlock(block, other)).toMatchObject({ byteOffset: 0 });
    }
  });

  it('rejects a view that is not word-aligned', () => {
    const buffer = new Uint8Array(64);
    expect(() => fillBlock(buffer.subarray(2, 34), id)).toThrow(RangeError);
    expect(() => checkBlock(buffer.subarray(0, 30), id)).toThrow(RangeError);
  });
});

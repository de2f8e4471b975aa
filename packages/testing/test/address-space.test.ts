import { describe, expect, it } from 'vitest';
import { FakeNetwork } from '../src/index.js';

describe('fake memory: synthetic addresses over ArrayBuffers', () => {
  it('gives stable, non-zero, page-aligned addresses with an unmapped gap between buffers', () => {
    const { bindings: b } = new FakeNetwork();
    const first = new ArrayBuffer(5000);
    const second = new ArrayBuffer(10);
    const a = b.addressOf(first);
    const c = b.addressOf(second);
    expect(a).not.toBe(0n);
    expect(a % 4096n).toBe(0n);
    expect(b.addressOf(first)).toBe(a);
    expect(c - a).toBeGreaterThanOrEqual(5000n + 4096n);
    expect(() => b.view(a + 5000n, 1)).toThrow(RangeError);
    expect(() => b.view(c - 1n, 1)).toThrow(RangeError);
  });

  it('is deterministic: the same sequence of buffers gets the same addresses on any network', () => {
    const addresses = () => {
      const { bindings: b } = new FakeNetwork();
      return [new ArrayBuffer(64), new ArrayBuffer(70_000), new ArrayBuffer(1)].map((buffer) => b.addressOf(buffer));
    };
    expect(addresses()).toEqual(addresses());
  });

  it('views resolve to base + byteOffset and share the bytes', () => {
    const { bindings: b } = new FakeNetwork();
    const buffer = new ArrayBuffer(64);
    const window = new Uint16Array(buffer, 8, 4);
    const address = b.addressOf(window);
    expect(address).toBe(b.addressOf(buffer) + 8n);
    b.view(address, 2).set([0x34, 0x12]);
    expect(window[0]).toBe(0x1234);
    expect(b.view(address, 0).length).toBe(0);
  });

  it('accepts SharedArrayBuffer memory', () => {
    const { bindings: b } = new FakeNetwork();
    const shared = new SharedArrayBuffer(16);
    new Uint8Array(shared)[3] = 9;
    expect(b.view(b.addressOf(new Uint8Array(shared)), 16)[3]).toBe(9);
  });

  it('refuses addresses it never handed out, negative lengths and ranges past the end', () => {
    const { bindings: b } = new FakeNetwork();
    const address = b.addressOf(new ArrayBuffer(32));
    expect(() => b.view(0n, 1)).toThrow(RangeError);
    expect(() => b.view(0x1234n, 1)).toThrow(RangeError);
    expect(() => b.view(address, 33)).toThrow(RangeError);
    expect(() => b.view(address, -1)).toThrow(RangeError);
    expect(() => b.addressOf([1, 2] as unknown as ArrayBuffer)).toThrow(TypeError);
  });

  it('addresses of one network mean nothing to another', () => {
    const one = new FakeNetwork().bindings;
    const other = new FakeNetwork().bindings;
    const address = one.addressOf(new ArrayBuffer(8));
    expect(other.addressOf(new ArrayBuffer(8))).toBe(address); // same synthetic address, another buffer
    one.view(address, 8)[0] = 7;
    expect(other.view(address, 8)[0]).toBe(0);
  });
});

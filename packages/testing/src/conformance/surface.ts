import { describe, expect, it } from 'vitest';
import { REQUIRED_MEMBERS, expectBytes, pattern, type Harness } from './harness.js';

export function describeSurface(h: Harness): void {
  describe('bindings surface and host memory', () => {
    it('exposes every member of Bindings and names its backend', () => {
      const members = h.b as unknown as Record<string, unknown>;
      expect(REQUIRED_MEMBERS.filter((member) => typeof members[member] !== 'function')).toEqual([]);
      expect(typeof h.b.backend.name).toBe('string');
      expect(h.b.backend.name.length).toBeGreaterThan(0);
    });

    it('addressOf and view see the same bytes, in both directions', () => {
      const buffer = pattern(7, 256);
      const address = h.b.addressOf(buffer);
      expect(address).not.toBe(0n);
      expectBytes(h.b.view(address, 256), buffer, 'view of a fresh buffer');
      h.b.view(address + 10n, 4).set([1, 2, 3, 4]);
      expect([...buffer.subarray(10, 14)]).toEqual([1, 2, 3, 4]);
    });

    it('addressOf of a view is the buffer address plus byteOffset', () => {
      const memory = new ArrayBuffer(128);
      const window = new Uint8Array(memory, 48, 16);
      expect(h.b.addressOf(window)).toBe(h.b.addressOf(memory) + 48n);
      expect(h.b.addressOf(memory)).toBe(h.b.addressOf(memory)); // stable
    });
  });
}

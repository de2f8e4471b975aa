import { describe, expect, it } from 'vitest';
import { Harness, REQUIRED_MEMBERS, expectBytes, expectStatus, pattern } from './harness.js';

// The bindings contract every backend shares (docs/design/bindings-contract.md), not a V2 rule.
export function describeSurface(h: Harness): void {
  describe('bindings surface and host memory', () => {
    it('bindings: every member of Bindings is there and the backend has a name', () => {
      const members = h.b as unknown as Record<string, unknown>;
      expect(REQUIRED_MEMBERS.filter((member) => typeof members[member] !== 'function')).toEqual([]);
      expect(typeof h.b.backend.name).toBe('string');
      expect(h.b.backend.name.length).toBeGreaterThan(0);
    });

    it('bindings: addressOf and view see the same bytes, in both directions', () => {
      const buffer = pattern(7, 256);
      const address = h.b.addressOf(buffer);
      expect(address).not.toBe(0n);
      expectBytes(h.b.view(address, 256), buffer, 'view of a fresh buffer');
      h.b.view(address + 10n, 4).set([1, 2, 3, 4]);
      expect([...buffer.subarray(10, 14)]).toEqual([1, 2, 3, 4]);
    });

    it('bindings: addressOf of a view is the buffer address plus byteOffset', () => {
      const memory = new ArrayBuffer(128);
      const window = new Uint8Array(memory, 48, 16);
      expect(h.b.addressOf(window)).toBe(h.b.addressOf(memory) + 48n);
      expect(h.b.addressOf(memory)).toBe(h.b.addressOf(memory)); // stable
    });

    it('bindings: lastError names the method and status of a failure, and a success clears it', () => {
      const dd = h.create();
      expectStatus(h.b.LlmDataDist_Initialize(dd, {}), 'LLM_PARAM_INVALID');
      expect(h.b.lastError().startsWith('Initialize: LLM_PARAM_INVALID')).toBe(true);
      expectStatus(h.b.LlmDataDist_Initialize(dd, Harness.options()), 'LLM_SUCCESS');
      expect(h.b.lastError()).toBe('');
    });
  });
}

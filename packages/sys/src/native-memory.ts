import type { HostMemory } from './memory.js';

type Koffi = typeof import('koffi');

/** HostMemory over real process memory: addresses are the JS buffers' own. */
export function attachHostMemory(koffi: Koffi): HostMemory {
  return {
    // koffi.view() gives an ArrayBuffer over the native bytes that does not own them.
    viewsKeepMemory: false,
    addressOf(memory: ArrayBuffer | ArrayBufferView): bigint {
      const isView = ArrayBuffer.isView(memory);
      if (!isView && !(memory instanceof ArrayBuffer)) {
        throw new TypeError('addressOf: expected an ArrayBuffer, a Buffer or a typed array');
      }
      if (memory.byteLength === 0) throw new RangeError('addressOf: memory of length 0 has no address');
      return BigInt(koffi.address(memory) as bigint | number);
    },
    view(address: bigint, length: number): Uint8Array {
      if (typeof address !== 'bigint' || address <= 0n || address >= 1n << 64n) {
        throw new RangeError(`view: address must be a non-zero 64-bit bigint, got ${String(address)}`);
      }
      if (!Number.isSafeInteger(length) || length <= 0) {
        throw new RangeError(`view: length must be a positive safe integer, got ${length}`);
      }
      return new Uint8Array(koffi.view(address as unknown as Parameters<Koffi['view']>[0], length));
    },
  };
}

/**
 * How JavaScript memory and native addresses meet. Native code sees addresses; JavaScript holds
 * ArrayBuffers. Every crossing goes through a Bindings implementation, so a fake can map its own
 * synthetic addresses to real bytes and nothing above @dd/sys touches koffi.
 */
export interface HostMemory {
  /**
   * Address of the first byte of `memory`. The address stays valid while the ArrayBuffer is
   * alive and not detached (ArrayBuffer memory does not move); callers keep it referenced.
   */
  addressOf(memory: ArrayBuffer | ArrayBufferView): bigint;
  /** A view of `length` bytes at `address` in this process, for memory this backend can reach. */
  view(address: bigint, length: number): Uint8Array;
}

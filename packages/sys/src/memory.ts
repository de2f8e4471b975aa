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
  /**
   * A view of `length` bytes at `address` in this process, for memory this backend can reach.
   * Unless {@link viewsKeepMemory}, the view is valid only while that memory stays allocated.
   */
  view(address: bigint, length: number): Uint8Array;
  /**
   * True when a view keeps the bytes it shows alive by itself (a fake whose memory is JS memory).
   * False or absent for native memory: freeing it leaves its views dangling, so whoever frees
   * memory it gave views of waits until they are garbage-collected.
   */
  readonly viewsKeepMemory?: boolean;
}

/** The decoder's free KV blocks; a request borrows blocks for its KV and gives them back when done. */
export class BlockPool {
  readonly #free: number[];

  constructor(numBlocks: number) {
    this.#free = Array.from({ length: numBlocks }, (_x, block) => block);
  }

  get available(): number {
    return this.#free.length;
  }

  /** The lowest `count` free blocks, in ascending order. */
  take(count: number): number[] {
    if (count > this.#free.length) throw new RangeError(`${count} blocks wanted, ${this.#free.length} free`);
    return this.#free.splice(0, count);
  }

  give(blocks: readonly number[]): void {
    this.#free.push(...blocks);
    this.#free.sort((a, b) => a - b);
  }
}

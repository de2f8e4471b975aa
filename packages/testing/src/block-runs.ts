/** A run of block pairs where src and dst both go up by one: copied as one piece (B §3.8). */
export interface BlockRun {
  readonly src: bigint;
  readonly dst: bigint;
  readonly length: bigint;
}

export function mergeRuns(srcBlocks: ArrayLike<bigint>, dstBlocks: ArrayLike<bigint>): BlockRun[] {
  const runs: BlockRun[] = [];
  let current: { src: bigint; dst: bigint; length: bigint } | null = null;
  for (let i = 0; i < srcBlocks.length; i += 1) {
    const src = srcBlocks[i] as bigint;
    const dst = dstBlocks[i] as bigint;
    if (current !== null && src === current.src + current.length && dst === current.dst + current.length) {
      current.length += 1n;
    } else {
      if (current !== null) runs.push(current);
      current = { src, dst, length: 1n };
    }
  }
  if (current !== null) runs.push(current);
  return runs;
}

/** The first run whose blocks on one side reach `rows`, or undefined. */
export function runPastRows(runs: readonly BlockRun[], side: 'src' | 'dst', rows: bigint): BlockRun | undefined {
  return runs.find((run) => run[side] + run.length - 1n >= rows);
}

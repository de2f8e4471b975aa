import { parseArgs } from 'node:util';
import type { Placement } from '@dd/core';

/** Which side of the hand-over this process plays. */
export type DemoRole = 'decoder' | 'prompt';

/**
 * Where each side's KV cache lives. `'device'`: device memory from the ACL runtime
 * (`engine.allocateCache`, aclrtMalloc), written and read back with aclrtMemcpy, as on Ascend.
 * `'host'`: page-locked host memory (`registerHostCache`, aclrtMallocHost), which a peer on the same
 * host maps, the baseline the device numbers are compared with.
 */
export const PLACEMENTS: Readonly<Record<string, readonly Placement[]>> = {
  device: ['device'],
  host: ['host'],
  both: ['device', 'host'],
};

/** Everything the demo can be told on the command line. */
export interface DemoOptions {
  readonly role: DemoRole;
  /** The caches each side registers, one per placement, run in this order. */
  readonly placements: readonly Placement[];
  /** Transformer layers; each has a K and a V tensor. */
  readonly layers: number;
  /** Blocks per tensor in each side's cache (`shape[0]`). */
  readonly blocks: number;
  /** Blocks of the request that decode pulls (its block table on the prompt side). */
  readonly requestBlocks: number;
  /** Blocks decode generates and pushes back into free prompt blocks. */
  readonly pushBlocks: number;
  readonly blockTokens: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Repetitions of each transfer phase (for the latency percentiles). */
  readonly iterations: number;
  /** Prompt listen port; 0 picks a free one. */
  readonly port: number;
  /** Native deadline of every pull and push (`syncTimeoutMs`). */
  readonly timeoutMs: number;
  /** Simulated compute time of one layer in the layer-wise push phase, in ms. */
  readonly layerComputeMs: number;
  readonly help: boolean;
}

/** A command-line flag the demo cannot run with. */
export class DemoUsageError extends Error {
  override readonly name = 'DemoUsageError';
}

/** bf16: two bytes per element. */
export const ELEMENT_BYTES = 2;
/** The upstream limit on addresses one engine registers; each layer registers two. */
const MAX_TENSORS = 240;

interface IntFlag {
  readonly key: Exclude<keyof DemoOptions, 'role' | 'help'>;
  readonly flag: string;
  readonly fallback: number;
  readonly min: number;
  readonly max: number;
  readonly what: string;
}

// Defaults: a Llama-3-8B-shaped KV cache (32 layers, 8 KV heads, head dim 128, block size 16, bf16),
// so one block of one tensor is 32 KiB.
const INT_FLAGS: readonly IntFlag[] = [
  { key: 'layers', flag: 'layers', fallback: 32, min: 1, max: MAX_TENSORS / 2, what: 'transformer layers (K and V each; at most 60 with --placement both)' },
  { key: 'blocks', flag: 'blocks', fallback: 128, min: 2, max: 1 << 20, what: 'blocks per tensor in each cache' },
  { key: 'requestBlocks', flag: 'request-blocks', fallback: 0, min: 1, max: 1 << 20, what: 'blocks of the request pulled by decode (default: half of --blocks)' },
  { key: 'pushBlocks', flag: 'push-blocks', fallback: 4, min: 1, max: 1 << 20, what: 'blocks decode pushes back' },
  { key: 'blockTokens', flag: 'block-tokens', fallback: 16, min: 1, max: 4096, what: 'tokens per block' },
  { key: 'kvHeads', flag: 'kv-heads', fallback: 8, min: 1, max: 1024, what: 'KV heads' },
  { key: 'headDim', flag: 'head-dim', fallback: 128, min: 1, max: 4096, what: 'head dimension' },
  { key: 'iterations', flag: 'iterations', fallback: 10, min: 1, max: 10_000, what: 'repetitions of each transfer phase' },
  { key: 'port', flag: 'port', fallback: 0, min: 0, max: 65535, what: 'prompt listen port on 127.0.0.1 (0: pick a free one)' },
  { key: 'timeoutMs', flag: 'timeout-ms', fallback: 10_000, min: 1, max: 0x7fffffff, what: 'native deadline of each pull/push in ms' },
  { key: 'layerComputeMs', flag: 'layer-compute-ms', fallback: 1, min: 0, max: 10_000, what: 'simulated compute time per layer in the layer-wise push phase, ms' },
];

/** Bytes of one block of one tensor. */
export function bytesPerBlock(o: Pick<DemoOptions, 'blockTokens' | 'kvHeads' | 'headDim'>): number {
  return o.blockTokens * o.kvHeads * o.headDim * ELEMENT_BYTES;
}

/** The `--help` text. */
export function usage(): string {
  const lines = INT_FLAGS.map((f) => `  --${f.flag.padEnd(15)} ${f.what}${f.fallback > 0 ? ` (default ${f.fallback})` : ''}`);
  return [
    'Usage: pnpm demo [flags]',
    '',
    'Runs a prefill→decode KV-cache hand-over between two processes over loopback on the host',
    'backend, verifies every byte, and prints a summary.',
    '',
    ...lines,
    "  --placement       device, host or both: where the caches live (default both: device memory first,",
    '                    then JS host memory, whose GB/s the device numbers are compared with)',
    '  --help            this text',
  ].join('\n');
}

function toInt(flag: IntFlag, raw: string | undefined): number {
  if (raw === undefined) return flag.fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < flag.min || n > flag.max) {
    throw new DemoUsageError(`--${flag.flag} must be an integer in [${flag.min}, ${flag.max}], got '${raw}'`);
  }
  return n;
}

/** Parses and cross-checks the flags; throws DemoUsageError with the reason. */
export function parseDemoOptions(argv: readonly string[]): DemoOptions {
  const options = Object.fromEntries(INT_FLAGS.map((f) => [f.flag, { type: 'string' as const }]));
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, role: { type: 'string' }, placement: { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new DemoUsageError(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const role = values.role ?? 'decoder';
  if (role !== 'decoder' && role !== 'prompt') throw new DemoUsageError(`--role must be 'decoder' or 'prompt', got '${String(role)}'`);
  const placement = values.placement ?? 'both';
  const placements = typeof placement === 'string' ? PLACEMENTS[placement] : undefined;
  if (placements === undefined) throw new DemoUsageError(`--placement must be 'device', 'host' or 'both', got '${String(placement)}'`);
  const ints = Object.fromEntries(INT_FLAGS.map((f) => [f.key, toInt(f, values[f.flag] as string | undefined)])) as Record<IntFlag['key'], number>;
  const requestBlocks = ints.requestBlocks === 0 ? Math.floor(ints.blocks / 2) : ints.requestBlocks;
  const result: DemoOptions = { ...ints, requestBlocks, role, placements, help: values.help === true };

  if (result.layers * 2 * placements.length > MAX_TENSORS) {
    throw new DemoUsageError(
      `--layers ${result.layers} registers ${result.layers * 2 * placements.length} tensors per engine (K and V per layer, one cache per placement); the limit is ${MAX_TENSORS}`,
    );
  }
  if (result.requestBlocks + result.pushBlocks > result.blocks) {
    throw new DemoUsageError(
      `--request-blocks (${result.requestBlocks}) + --push-blocks (${result.pushBlocks}) must fit in --blocks (${result.blocks}): ` +
        'decode pulls the request and generates the pushed blocks in one cache of --blocks blocks',
    );
  }
  if (bytesPerBlock(result) % 4 !== 0) {
    throw new DemoUsageError(`a block (--block-tokens × --kv-heads × --head-dim × 2 bytes = ${bytesPerBlock(result)}) must be a multiple of 4 bytes`);
  }
  const tensorBytes = bytesPerBlock(result) * result.blocks;
  if (tensorBytes > 2 ** 31) {
    throw new DemoUsageError(`one tensor would be ${tensorBytes} bytes; keep --blocks × block bytes ≤ 2 GiB`);
  }
  return result;
}

/** The flags that give a prompt process the same geometry as this one. */
export function promptArgv(o: DemoOptions, port: number): string[] {
  return [
    '--role', 'prompt',
    '--layers', String(o.layers),
    '--blocks', String(o.blocks),
    '--block-tokens', String(o.blockTokens),
    '--kv-heads', String(o.kvHeads),
    '--head-dim', String(o.headDim),
    '--request-blocks', String(o.requestBlocks),
    '--push-blocks', String(o.pushBlocks),
    '--timeout-ms', String(o.timeoutMs),
    '--port', String(port),
    '--placement', placementFlag(o.placements),
  ];
}

/** The `--placement` value of a list of placements. */
export function placementFlag(placements: readonly Placement[]): string {
  return Object.entries(PLACEMENTS).find(([, list]) => list.join() === placements.join())?.[0] ?? 'both';
}

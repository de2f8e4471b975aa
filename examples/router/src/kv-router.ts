import { LinkError, TimeoutError, type DataDistError, type KvCache, type LlmDataDist } from '@dd/core';
import { BlockPool } from './block-pool.js';
import { withRetries, type RetryPolicy } from './retry.js';

/** A prefill (prompt) instance the router can fetch KV from. */
export interface PromptInstance {
  readonly clusterId: bigint;
  readonly ip: string;
  readonly port: number;
}

/** Where a finished prefill left a request's KV: which prompt, which cache, which blocks. */
export interface PrefilledRequest {
  readonly requestId: string;
  readonly prompt: bigint;
  readonly cacheId: bigint;
  readonly blocks: readonly number[];
}

/** A request whose KV now sits in the decoder's cache. */
export interface RoutedRequest {
  readonly requestId: string;
  /** Decoder blocks holding the request's KV, in the order of `PrefilledRequest.blocks`. */
  readonly blocks: readonly number[];
  readonly bytes: number;
  /** Tries the pull took (retries are for timeouts and the other codes callers retry). */
  readonly pullAttempts: number;
}

export interface KvRouterOptions {
  /** The decode engine; its cache must be registered before the router links anything. */
  readonly decoder: LlmDataDist;
  readonly cache: KvCache;
  readonly prompts: readonly PromptInstance[];
  readonly linkRetry: RetryPolicy;
  readonly pullRetry: RetryPolicy;
  readonly linkTimeoutMs?: number;
}

/** A link attempt is worth repeating unless the link already exists. */
function linkIsRetryable(error: unknown): boolean {
  return (error instanceof LinkError && error.statusName !== 'LLM_ALREADY_LINK') || error instanceof TimeoutError;
}

function pullIsRetryable(error: unknown): boolean {
  return (error as Partial<DataDistError>).retryable === true;
}

/**
 * Links the decoder to prompt instances on first use and pulls each request's KV blocks into
 * free decoder blocks, retrying what production callers retry.
 */
export class KvRouter {
  readonly #options: KvRouterOptions;
  readonly #prompts: ReadonlyMap<bigint, PromptInstance>;
  readonly #pool: BlockPool;
  readonly #held = new Map<string, readonly number[]>();

  constructor(options: KvRouterOptions) {
    this.#options = options;
    this.#prompts = new Map(options.prompts.map((prompt) => [prompt.clusterId, prompt]));
    this.#pool = new BlockPool(options.cache.numBlocks);
  }

  get freeBlocks(): number {
    return this.#pool.available;
  }

  /** Brings a prefilled request's KV into the decoder's cache. */
  async fetch(request: PrefilledRequest): Promise<RoutedRequest> {
    if (this.#held.has(request.requestId)) throw new Error(`request ${request.requestId} is already routed`);
    const prompt = this.#prompts.get(request.prompt);
    if (prompt === undefined) throw new Error(`request ${request.requestId} names unknown prompt cluster ${request.prompt}`);
    await this.#ensureLinked(prompt);
    const blocks = this.#pool.take(request.blocks.length);
    try {
      const pulled = await withRetries(this.#options.pullRetry, pullIsRetryable, () =>
        this.#options.decoder.pullBlocks({
          from: { clusterId: prompt.clusterId, cacheId: request.cacheId },
          into: this.#options.cache,
          srcBlocks: request.blocks,
          dstBlocks: blocks,
        }),
      );
      this.#held.set(request.requestId, blocks);
      return { requestId: request.requestId, blocks, bytes: pulled.value.bytes, pullAttempts: pulled.attempts };
    } catch (error) {
      this.#pool.give(blocks);
      // A prompt that keeps timing out is likely gone: drop our side of the link so that the next
      // request links afresh (to its restarted process, say) instead of reusing a dead link.
      if (error instanceof TimeoutError) await this.#options.decoder.unlink(prompt.clusterId, { force: true });
      throw error;
    }
  }

  /** The request is done decoding: its blocks go back to the pool. */
  release(requestId: string): void {
    const blocks = this.#held.get(requestId);
    if (blocks === undefined) return;
    this.#held.delete(requestId);
    this.#pool.give(blocks);
  }

  async #ensureLinked(prompt: PromptInstance): Promise<void> {
    if (this.#options.decoder.links.some((link) => link.clusterId === prompt.clusterId)) return;
    await withRetries(this.#options.linkRetry, linkIsRetryable, async () => {
      const outcome = await this.#options.decoder.linkClusters(
        { clusterId: prompt.clusterId, remote: { ip: prompt.ip, port: prompt.port } },
        { timeoutMs: this.#options.linkTimeoutMs ?? 1000 },
      );
      const failure = outcome.failures[0];
      if (failure !== undefined) throw failure.error;
    });
  }
}

import { DataType, LlmDataDist, type KvCache } from '@dd/core';
import { FakeNetwork } from '@dd/testing';
import { KvRouter, type PromptInstance } from '../src/index.js';

/** 2 layers × K/V, 8 blocks of 16 bytes, in device memory (registerHostCache allocates it through ACL). */
export const KV_DESC = { placement: 'device', dataType: DataType.DT_UINT8, shape: [8, 16], numTensors: 4 } as const;

export const PROMPT: PromptInstance = { clusterId: 1n, ip: '10.0.0.1', port: 26000 };

/** What block `block` of tensor `tensor` of request `requestTag` holds on the prompt. */
export function kvBytes(requestTag: number, tensor: number, block: number): Uint8Array {
  return new Uint8Array(16).map((_x, i) => (requestTag * 53 + tensor * 17 + block * 5 + i) & 0xff);
}

export function startPrompt(network: FakeNetwork, prompt: PromptInstance = PROMPT): { engine: LlmDataDist; cache: KvCache } {
  const engine = LlmDataDist.create({ clusterId: prompt.clusterId, role: 'prompt', listen: { ip: prompt.ip, port: prompt.port }, bindings: network.bindings });
  const cache = engine.registerHostCache(KV_DESC);
  return { engine, cache };
}

/** Prefill stand-in: writes a request's KV into the given prompt blocks. */
export function prefill(cache: KvCache, requestTag: number, blocks: readonly number[]): void {
  for (let tensor = 0; tensor < cache.numTensors; tensor += 1) {
    for (const block of blocks) cache.writeBlock(tensor, block, kvBytes(requestTag, tensor, block));
  }
}

export interface World {
  readonly network: FakeNetwork;
  readonly prompt: { engine: LlmDataDist; cache: KvCache };
  readonly decoder: LlmDataDist;
  readonly decoderCache: KvCache;
  readonly router: KvRouter;
  close(): void;
}

/** One prompt and one decoder on a fake network; SyncKvCacheWaitTime 200 ms, retries 10 ms apart. */
export function world(): World {
  const network = new FakeNetwork();
  const prompt = startPrompt(network);
  const decoder = LlmDataDist.create({ clusterId: 9n, role: 'decoder', listen: { ip: '10.0.0.9', port: 26000 }, syncTimeoutMs: 200, bindings: network.bindings });
  const decoderCache = decoder.registerHostCache(KV_DESC);
  const router = new KvRouter({
    decoder,
    cache: decoderCache,
    prompts: [PROMPT],
    linkRetry: { attempts: 3, delayMs: 10 },
    pullRetry: { attempts: 3, delayMs: 10 },
  });
  return {
    network,
    prompt,
    decoder,
    decoderCache,
    router,
    close: () => {
      decoder.close({ force: true });
      prompt.engine.close({ force: true });
    },
  };
}

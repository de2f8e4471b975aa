import { CachePlacement, LlmRole, makeCache, makeCacheIndex, type Cache, type CacheIndex } from '@dd/sys';
import type { Engine, Harness, KvMemory, KvShape } from './harness.js';

/** The upstream examples' cache: 4 tensors of {8, 16} int32 (64-byte rows). */
export const UPSTREAM_SHAPE: KvShape = { tensors: 4, rows: 8, rowElements: 16 };

export interface PullPair {
  readonly server: Engine;
  readonly client: Engine;
  /** The server's cache, pulled from. */
  readonly src: KvMemory;
  /** The client's cache, pulled into. */
  readonly dst: KvMemory;
  readonly srcIndex: CacheIndex;
  readonly dstCache: Cache;
}

export interface PairOptions {
  readonly server?: LlmRole;
  readonly client?: LlmRole;
  readonly serverOptions?: Readonly<Record<string, string>>;
  readonly clientOptions?: Readonly<Record<string, string>>;
}

/** A server with a source cache and a client with a destination cache, registered, then linked. */
export async function pullPair(h: Harness, srcShape: KvShape = UPSTREAM_SHAPE, dstShape: KvShape = srcShape, options: PairOptions = {}): Promise<PullPair> {
  const server = await h.server(options.server ?? LlmRole.kPrompt, options.serverOptions);
  const client = h.client(options.client ?? LlmRole.kDecoder, options.clientOptions);
  const src = h.memory(srcShape, 1);
  const dst = h.memory(dstShape, 2);
  const srcId = h.register(server, src);
  const dstId = h.register(client, dst);
  h.link(client, server);
  return {
    server,
    client,
    src,
    dst,
    srcIndex: makeCacheIndex({ cluster_id: server.clusterId, cache_id: srcId }),
    dstCache: makeCache({ cache_id: dstId }),
  };
}

export interface PushPair {
  /** The server's cache, pushed into. */
  readonly server: Engine;
  readonly client: Engine;
  readonly src: KvMemory;
  readonly dst: KvMemory;
  /** The client's source cache as V2 wants it from a pusher: id, kDevice placement, num_tensors. */
  readonly srcCache: Cache;
  readonly dstIndex: CacheIndex;
}

/** As in the upstream push example: the prompt is the client and pushes into the decoder. */
export async function pushPair(h: Harness, srcShape: KvShape = UPSTREAM_SHAPE, dstShape: KvShape = srcShape, options: PairOptions = {}): Promise<PushPair> {
  const server = await h.server(options.server ?? LlmRole.kDecoder, options.serverOptions);
  const client = h.client(options.client ?? LlmRole.kPrompt, options.clientOptions);
  const src = h.memory({ placement: CachePlacement.kDevice, ...srcShape }, 3);
  const dst = h.memory({ placement: CachePlacement.kDevice, ...dstShape }, 4);
  const dstId = h.register(server, dst);
  const srcId = h.register(client, src);
  h.link(client, server);
  return {
    server,
    client,
    src,
    dst,
    srcCache: makeCache({ cache_id: srcId, cache_desc: src.desc }),
    dstIndex: makeCacheIndex({ cluster_id: server.clusterId, cache_id: dstId }),
  };
}

/** Whether nothing in `memory` changed. */
export function unchanged(memory: KvMemory): boolean {
  return memory.tensors.every((tensor, t) => tensor.every((byte, i) => byte === (memory.initial[t] as Uint8Array)[i]));
}

import { StatusCode } from '@dd/sys';
import type { RegisteredCache } from './cache-registry.js';
import type { FakeDataDist } from './data-dist.js';
import { isIntact, type LinkEnd } from './link-end.js';
import { fail, ok, type Outcome } from './outcome.js';

/*
 * What a transfer sees of the peer over one link: the cache table V2 fetches at the link's first
 * transfer and never refreshes (A23), the peer's live registry (D6), and which memory is bound to
 * the link (memory registered after the link was made is not, A23).
 */

/** The link under `clusterId`, as the transfer looks it up: missing is NOT_YET_LINK. */
export function linkTo(dd: FakeDataDist, clusterId: bigint): Outcome<LinkEnd> {
  const link = dd.links.get(clusterId);
  return link === undefined ? fail(StatusCode.LLM_NOT_YET_LINK, `no link to cluster ${clusterId}`) : ok(link);
}

/** A transfer over a link whose other side is gone gets LLM_TIMEOUT as soon as that is known. */
export function peerGone(link: LinkEnd): Outcome<never> {
  return fail(StatusCode.LLM_TIMEOUT, `cluster ${link.peer.clusterId} no longer holds its side of this link (it finalized, died or unlinked); unlink with force_flag and link again`);
}

/**
 * Where V2 fetches the peer's cache table (first transfer on the link): a peer that is gone, or a
 * SyncKvCacheWaitTime of 0, gives LLM_TIMEOUT here (choices of docs/compat.md).
 */
export function fetchCacheTable(dd: FakeDataDist, link: LinkEnd): Outcome<void> {
  if (!isIntact(dd, link)) return peerGone(link);
  const waitMs = dd.options?.syncWaitMs ?? 0;
  if (waitMs === 0) return fail(StatusCode.LLM_TIMEOUT, 'llm.SyncKvCacheWaitTime is 0: the cache table fetch and every transfer time out');
  if (dd.network.enforceRegisterBeforeLink) link.remoteTable ??= new Set(link.peer.caches.keys());
  return ok(undefined);
}

/** The peer's cache: in the fetched table (A23), then still registered now (D6). */
export function remoteCache(link: LinkEnd, cacheId: bigint): Outcome<RegisteredCache> {
  if (link.remoteTable !== null && !link.remoteTable.has(cacheId)) {
    return fail(StatusCode.LLM_KV_CACHE_NOT_EXIST, `cluster ${link.peer.clusterId} has no cache ${cacheId} in the cache table fetched at the link's first transfer (register before linking)`);
  }
  const cache = link.peer.caches.get(cacheId);
  if (cache === undefined) return fail(StatusCode.LLM_KV_CACHE_NOT_EXIST, `cluster ${link.peer.clusterId} has no cache ${cacheId}`);
  return ok(cache);
}

/** A cache registered after the link was made has no memory bound to it: LLM_FAILED (choice of A23). */
export function boundToLink(dd: FakeDataDist, link: LinkEnd, cache: RegisteredCache, whose: 'local' | 'remote'): Outcome<void> {
  if (dd.network.enforceRegisterBeforeLink && cache.seq > link.seq) {
    return fail(StatusCode.LLM_FAILED, `${whose} cache ${cache.id} was registered after the link was made, so its memory is not bound to the link (register before linking)`);
  }
  return ok(undefined);
}

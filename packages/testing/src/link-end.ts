import type { FakeDataDist } from './data-dist.js';

/**
 * One side's link object (the upstream CommEntity). The default backend gives each side one, paired
 * through `counterpart`; the hixl backend gives only the calling side one (`counterpart` null).
 */
export interface LinkEnd {
  readonly peer: FakeDataDist;
  /** The peer's incarnation when the link was made: a peer that finalized or died is gone. */
  readonly peerGeneration: number;
  readonly side: 'client' | 'server';
  /** The server's `ip:port`. */
  readonly address: string;
  /** When the link was made, in network events: memory registered later is not bound to it (A23). */
  readonly seq: number;
  /** The peer's end of the same link; null on hixl links. */
  counterpart: LinkEnd | null;
  /** Peer cache ids, fetched at the first transfer over the link and never refreshed (A23). */
  remoteTable: ReadonlySet<bigint> | null;
  /** Transfers on one link run one after another (one lock per link, A24). */
  queue: Promise<void>;
}

export function newLinkEnd(peer: FakeDataDist, side: LinkEnd['side'], address: string, seq: number): LinkEnd {
  return { peer, peerGeneration: peer.generation, side, address, seq, counterpart: null, remoteTable: null, queue: Promise.resolve() };
}

/** Pairs a client end and a server end of one default-backend link. */
export function pair(clientEnd: LinkEnd, serverEnd: LinkEnd): void {
  clientEnd.counterpart = serverEnd;
  serverEnd.counterpart = clientEnd;
}

/**
 * Whether the other side still holds this link: not when the peer finalized, died, re-initialized
 * or dropped its end (a non-force unlink that named another id, a second client that took over
 * the slot). V2 cannot tell; such a link dangles until this side unlinks it.
 */
export function isIntact(owner: FakeDataDist, end: LinkEnd): boolean {
  if (!end.peer.initialized || end.peer.generation !== end.peerGeneration) return false;
  return end.counterpart === null || end.peer.links.get(owner.clusterId) === end.counterpart;
}

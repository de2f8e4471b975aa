import { StatusCode, type Status } from '@dd/sys';
import type { FakeDataDist } from './data-dist.js';
import type { EngineOptions } from './engine-options.js';
import { addressKey } from './ip-address.js';

/** What one cluster of a link or unlink call ends with. */
export interface ClusterResult {
  readonly status: Status;
  readonly detail: string;
  /** How long the handshake takes on the fake's timers (the async twin waits this long). */
  readonly delayMs: number;
}

export function clusterResult(status: Status, detail = '', delayMs = 0): ClusterResult {
  return { status, detail, delayMs };
}

type Reach = { readonly peer: FakeDataDist; readonly address: string; readonly delayMs: number } | { readonly failed: ClusterResult };

/**
 * The TCP connect of a link or a non-force unlink (A14, A20): a scripted refusal, a handshake
 * that does not finish within `timeout` (LLM_TIMEOUT), nobody listening (`refused`), or a
 * listener that speaks another backend's protocol (LLM_FAILED, as a framing error). A scripted
 * refusal answers a link with its own status and an unlink with `refused`.
 */
export function connect(from: FakeDataDist, ip: string, port: number, timeout: number, call: 'link' | 'unlink', refused: Status): Reach {
  const address = addressKey(ip, port);
  const backend = from.backend;
  const fault = from.network.faults.decideLink(address);
  if (fault.refuseWith !== null) return { failed: clusterResult(call === 'link' ? fault.refuseWith : refused, 'connection refused (injected fault)') };
  if (fault.delayMs >= timeout) {
    return { failed: clusterResult(StatusCode.LLM_TIMEOUT, `the handshake with ${address} did not finish within ${timeout} ms`, timeout) };
  }
  const peer = from.network.listenerAt(ip, port);
  if (peer === undefined || peer === from) return { failed: clusterResult(refused, `connect ${address}: nobody listens there`, fault.delayMs) };
  if (peer.backend !== backend) {
    return { failed: clusterResult(StatusCode.LLM_FAILED, `${address} answered with another transfer backend's protocol (this side: ${backend}, peer: ${peer.backend})`, fault.delayMs) };
  }
  return { peer, address, delayMs: fault.delayMs };
}

/**
 * D18: with `dd.AuthSecret` on either side, both sides prove the same secret before anything else
 * of the handshake; a side that cannot ends the call with `refused` (LLM_LINK_FAILED for a link,
 * LLM_UNLINK_FAILED for a plain unlink) and nothing changes on either side. Null when both pass.
 */
export function authenticate(client: FakeDataDist, server: FakeDataDist, refused: Status, delayMs: number): ClusterResult | null {
  const ours = (client.options as EngineOptions).authSecret;
  const theirs = (server.options as EngineOptions).authSecret;
  if (ours === theirs) return null;
  if (ours === null) return clusterResult(refused, 'peer refused: this engine requires peers to authenticate: set the same dd.AuthSecret on both engines', delayMs);
  if (theirs === null) return clusterResult(refused, 'the peer does not authenticate (it has no dd.AuthSecret) and this engine requires it', delayMs);
  return clusterResult(refused, 'the peer failed to prove it holds dd.AuthSecret (the secrets differ?)', delayMs);
}

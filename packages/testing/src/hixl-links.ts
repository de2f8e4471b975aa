import { StatusCode, type ClusterInfo } from '@dd/sys';
import type { FakeDataDist } from './data-dist.js';
import type { EngineOptions } from './engine-options.js';
import { addressKey } from './ip-address.js';
import { authenticate, clusterResult, connect, type ClusterResult } from './link-connect.js';
import { newLinkEnd } from './link-end.js';

/*
 * Links of the hixl backend (A1, A20, A21): only the calling side gets a link, stored under
 * `remote_cluster_id` as given; the engine knows its connections by the peer's `ip:port`.
 */

export function linkHixlCluster(client: FakeDataDist, cluster: ClusterInfo, timeout: number): ClusterResult {
  const [remote] = cluster.remote_ip_infos;
  if (cluster.remote_ip_infos.length !== 1 || remote === undefined) {
    return clusterResult(StatusCode.LLM_PARAM_INVALID, `needs exactly one remote_ip_infos entry, has ${cluster.remote_ip_infos.length}`);
  }
  if (client.connections.has(addressKey(remote.ip, remote.port))) {
    return clusterResult(StatusCode.LLM_ALREADY_LINK, `already connected to ${addressKey(remote.ip, remote.port)}`);
  }
  // hixl maps a failed connect to LLM_FAILED, like every engine error it has no LLM code for (A27).
  const reach = connect(client, remote.ip, remote.port, timeout, 'link', StatusCode.LLM_FAILED);
  if ('failed' in reach) return reach.failed;
  const refused = authenticate(client, reach.peer, StatusCode.LLM_LINK_FAILED, reach.delayMs);
  if (refused !== null) return refused;
  const max = (client.options as EngineOptions).maxLinks;
  if (client.linkCount >= max) return clusterResult(StatusCode.LLM_LINK_FAILED, `${client.linkCount} connections, dd.MaxLinks is ${max}`, reach.delayMs);
  const end = newLinkEnd(reach.peer, 'client', reach.address, client.network.nextSeq());
  client.connections.set(reach.address, end);
  // An id already linked elsewhere now names the new link; the old connection stays, still counted.
  client.links.set(cluster.remote_cluster_id, end);
  return clusterResult(StatusCode.LLM_SUCCESS, '', reach.delayMs);
}

/** Local disconnect only; force_flag, the remote address and the timeout play no part. */
export function unlinkHixlCluster(client: FakeDataDist, cluster: ClusterInfo): ClusterResult {
  const end = client.links.get(cluster.remote_cluster_id);
  if (end !== undefined) {
    client.links.delete(cluster.remote_cluster_id);
    if (client.connections.get(end.address) === end) client.connections.delete(end.address);
  }
  return clusterResult(StatusCode.LLM_SUCCESS);
}

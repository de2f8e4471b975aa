import { StatusCode, type ClusterInfo, type Status } from '@dd/sys';
import { commResProblem, generateCommRes } from './comm-res.js';
import type { FakeDataDist } from './data-dist.js';
import type { EngineOptions } from './engine-options.js';
import { authenticate, clusterResult, connect, type ClusterResult } from './link-connect.js';
import { newLinkEnd, pair } from './link-end.js';

/*
 * Links of the default backend (A1, A7, A14, A15, A20, A21, D9, D12). The client stores its link
 * under the server's own cluster id, learned in the handshake; the server stores its link under
 * the client's. `remote_cluster_id` only decides force_link and which link an unlink drops.
 */

function options(instance: FakeDataDist): EngineOptions {
  return instance.options as EngineOptions;
}

/** Both values of the handshake, checked as `side` sees them; null when both pass. */
function rankTableProblem(self: FakeDataDist, peer: FakeDataDist): string | null {
  if (self.commRes === null) return 'this node has no llm.LocalCommRes (none was given, and it listens without having linked out: A17)';
  return commResProblem(self.commRes, 'local', options(self).deviceId) ?? commResProblem(peer.commRes ?? '', 'peer', options(peer).deviceId);
}

function atCapacity(instance: FakeDataDist): string | null {
  const max = options(instance).maxLinks;
  return instance.linkCount >= max ? `cluster ${instance.clusterId} holds ${instance.linkCount} links, dd.MaxLinks is ${max}` : null;
}

/** The server's half of the handshake: rank tables, a forced rebuild, ALREADY_LINK, capacity. */
function serverStep(server: FakeDataDist, client: FakeDataDist, forceLink: boolean): { status: Status; detail: string } {
  const problem = rankTableProblem(server, client);
  if (problem !== null) return { status: StatusCode.LLM_PARAM_INVALID, detail: `the server refused: ${problem}` };
  if (forceLink) server.links.delete(client.clusterId);
  else if (server.links.has(client.clusterId)) return { status: StatusCode.LLM_ALREADY_LINK, detail: `cluster ${server.clusterId} already holds a link to cluster ${client.clusterId}` };
  const full = atCapacity(server);
  if (full !== null) return { status: StatusCode.LLM_LINK_FAILED, detail: `the server refused: ${full}` };
  return { status: StatusCode.LLM_SUCCESS, detail: '' };
}

/** The client's own setup after the server's reply (which comes before the server validates). */
function clientStep(client: FakeDataDist, server: FakeDataDist, forceLink: boolean): { status: Status; detail: string } {
  const problem = rankTableProblem(client, server);
  if (problem !== null) return { status: StatusCode.LLM_PARAM_INVALID, detail: problem };
  if (forceLink) client.links.delete(server.clusterId);
  else if (client.links.has(server.clusterId)) return { status: StatusCode.LLM_ALREADY_LINK, detail: `already linked to cluster ${server.clusterId}` };
  const full = atCapacity(client);
  if (full !== null) return { status: StatusCode.LLM_LINK_FAILED, detail: full };
  return { status: StatusCode.LLM_SUCCESS, detail: '' };
}

export function linkCluster(client: FakeDataDist, cluster: ClusterInfo, timeout: number): ClusterResult {
  if (cluster.remote_ip_infos.length !== 1) return clusterResult(StatusCode.LLM_PARAM_INVALID, `needs exactly one remote_ip_infos entry, has ${cluster.remote_ip_infos.length}`);
  if (client.commRes === null) {
    // No comm resource yet: V2 generates one from this cluster's one local address and keeps it.
    const [local] = cluster.local_ip_infos;
    if (cluster.local_ip_infos.length !== 1 || local === undefined) {
      return clusterResult(StatusCode.LLM_PARAM_INVALID, `needs exactly one local_ip_infos entry (no llm.LocalCommRes yet), has ${cluster.local_ip_infos.length}`);
    }
    client.commRes = generateCommRes(local.ip, options(client).deviceId);
  }
  const remote = cluster.remote_ip_infos[0] as ClusterInfo['remote_ip_infos'][number];
  const reach = connect(client, remote.ip, remote.port, timeout, 'link', StatusCode.LLM_LINK_FAILED);
  if ('failed' in reach) return reach.failed;
  const { peer: server, address, delayMs } = reach;
  const refused = authenticate(client, server, StatusCode.LLM_LINK_FAILED, delayMs);
  if (refused !== null) return refused;
  const forceLink = !client.links.has(cluster.remote_cluster_id);
  const serverSide = serverStep(server, client, forceLink);
  const clientSide = clientStep(client, server, forceLink);
  if (serverSide.status === StatusCode.LLM_SUCCESS && clientSide.status === StatusCode.LLM_ALREADY_LINK) {
    // A21 (c): only this side still holds the link; V2's server builds a comm nobody answers.
    return clusterResult(StatusCode.LLM_LINK_FAILED, `only this side still holds its link to cluster ${server.clusterId}; unlink it with force_flag first`, delayMs);
  }
  // The server's status comes first (A15); a failed link leaves no link on either side (D9).
  if (serverSide.status !== StatusCode.LLM_SUCCESS) return clusterResult(serverSide.status, serverSide.detail, delayMs);
  if (clientSide.status !== StatusCode.LLM_SUCCESS) return clusterResult(clientSide.status, clientSide.detail, delayMs);
  const seq = client.network.nextSeq();
  const clientEnd = newLinkEnd(server, 'client', address, seq);
  const serverEnd = newLinkEnd(client, 'server', address, seq);
  pair(clientEnd, serverEnd);
  client.links.set(server.clusterId, clientEnd);
  server.links.set(client.clusterId, serverEnd);
  server.forgetDeadAcceptedLinks();
  return clusterResult(StatusCode.LLM_SUCCESS, '', delayMs);
}

/**
 * A20. Force: drop the local link stored under `remote_cluster_id`, no network. Otherwise connect
 * (required even when nothing is linked), the peer drops its link to this cluster, then the local
 * link under `remote_cluster_id` goes; unknown links are SUCCESS on both sides.
 */
export function unlinkCluster(client: FakeDataDist, cluster: ClusterInfo, timeout: number, force: boolean): ClusterResult {
  if (force) {
    client.links.delete(cluster.remote_cluster_id);
    return clusterResult(StatusCode.LLM_SUCCESS);
  }
  const [remote] = cluster.remote_ip_infos;
  if (cluster.remote_ip_infos.length !== 1 || remote === undefined) {
    return clusterResult(StatusCode.LLM_PARAM_INVALID, `needs exactly one remote_ip_infos entry, has ${cluster.remote_ip_infos.length}`);
  }
  const reach = connect(client, remote.ip, remote.port, timeout, 'unlink', StatusCode.LLM_UNLINK_FAILED);
  if ('failed' in reach) {
    const { status, detail, delayMs } = reach.failed;
    return clusterResult(status, `${detail}; unlink with force_flag instead`, delayMs);
  }
  const refused = authenticate(client, reach.peer, StatusCode.LLM_UNLINK_FAILED, reach.delayMs);
  if (refused !== null) return refused;
  reach.peer.links.delete(client.clusterId);
  client.links.delete(cluster.remote_cluster_id);
  return clusterResult(StatusCode.LLM_SUCCESS, '', reach.delayMs);
}

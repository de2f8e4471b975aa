import { StatusCode, type ClusterInfo, type Status } from '@dd/sys';
import type { FakeDataDist } from './data-dist.js';
import { linkCluster, unlinkCluster } from './default-links.js';
import { linkHixlCluster, unlinkHixlCluster } from './hixl-links.js';
import { addressKey, isIPv4 } from './ip-address.js';
import type { ClusterResult } from './link-connect.js';

export interface LinkCallResult {
  readonly status: Status;
  readonly rets: Uint32Array;
  readonly detail: string;
  /** How long the slowest handshake takes on the fake's timers (the async twin waits this long). */
  readonly delayMs: number;
}

function callFailed(status: Status, detail: string): LinkCallResult {
  // A26: V2 leaves `rets` untouched on a call-level error; through the C ABI that is an empty list.
  return { status, rets: new Uint32Array(0), detail, delayMs: 0 };
}

/**
 * The call-level checks of LinkLlmClusters and UnlinkLlmClusters (B §3.3, A20): initialized, then
 * timeout > 0, then every IpInfo string (remote, then local, cluster by cluster; also for a
 * forced unlink), then a non-empty list. The list-size rules are per cluster and land in `rets`.
 */
function callProblem(instance: FakeDataDist, method: string, clusters: readonly ClusterInfo[], timeout: number): LinkCallResult | null {
  if (!instance.initialized) return callFailed(StatusCode.LLM_FAILED, `${method} before Initialize`);
  if (timeout <= 0) return callFailed(StatusCode.LLM_PARAM_INVALID, `timeout_in_millis ${timeout} must be > 0`);
  for (const [index, cluster] of clusters.entries()) {
    for (const info of [...cluster.remote_ip_infos, ...cluster.local_ip_infos]) {
      if (!isIPv4(info.ip)) return callFailed(StatusCode.LLM_PARAM_INVALID, `clusters[${index}]: "${info.ip}" is not an IPv4 address`);
    }
  }
  if (clusters.length === 0) return callFailed(StatusCode.LLM_PARAM_INVALID, 'clusters is empty');
  return null;
}

/** One status per cluster, in order; the call returns the last non-success one by index (B §3.3). */
function eachCluster(
  instance: FakeDataDist,
  operation: 'link' | 'unlink',
  force: boolean,
  clusters: readonly ClusterInfo[],
  timeout: number,
  one: (cluster: ClusterInfo) => ClusterResult,
): LinkCallResult {
  const rets: Status[] = [];
  const details: string[] = [];
  let status: Status = StatusCode.LLM_SUCCESS;
  let delayMs = 0;
  for (const cluster of clusters) {
    const [remote] = cluster.remote_ip_infos;
    const address = remote === undefined ? '' : addressKey(remote.ip, remote.port);
    const result = one(cluster);
    rets.push(result.status);
    delayMs = Math.max(delayMs, Math.min(result.delayMs, timeout));
    if (result.status !== StatusCode.LLM_SUCCESS) {
      status = result.status;
      details.push(`cluster ${cluster.remote_cluster_id} at ${address}: ${result.detail}`);
    }
    instance.network.recordLinkAttempt({ operation, from: instance.clusterId, remoteClusterId: cluster.remote_cluster_id, address, force, status: result.status });
  }
  return { status, rets: Uint32Array.from(rets), detail: details.join('; '), delayMs };
}

export function linkClusters(instance: FakeDataDist, clusters: readonly ClusterInfo[], timeout: number): LinkCallResult {
  const problem = callProblem(instance, 'LinkLlmClusters', clusters, timeout);
  if (problem !== null) return problem;
  const one = instance.backend === 'hixl' ? (cluster: ClusterInfo) => linkHixlCluster(instance, cluster, timeout) : (cluster: ClusterInfo) => linkCluster(instance, cluster, timeout);
  return eachCluster(instance, 'link', false, clusters, timeout, one);
}

export function unlinkClusters(instance: FakeDataDist, clusters: readonly ClusterInfo[], timeout: number, force: boolean): LinkCallResult {
  const problem = callProblem(instance, 'UnlinkLlmClusters', clusters, timeout);
  if (problem !== null) return problem;
  const one =
    instance.backend === 'hixl'
      ? (cluster: ClusterInfo) => unlinkHixlCluster(instance, cluster)
      : (cluster: ClusterInfo) => unlinkCluster(instance, cluster, timeout, force);
  return eachCluster(instance, 'unlink', force, clusters, timeout, one);
}

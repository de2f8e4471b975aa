import { StatusCode, makeCache } from '@dd/sys';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SERVER_ADDRESS, blocks, clusterInfo, fakePair, row } from './fake-pair.js';

// Every delay runs on timers, so fake timers make the schedule exact: SyncKvCacheWaitTime is 100 ms.

describe('fault injection: links', () => {
  it('refuseLinks fails the next `times` attempts with LINK_FAILED, then links work', () => {
    const { network, b, client } = fakePair({}, false);
    const fault = network.faults.refuseLinks(SERVER_ADDRESS, { times: 2 });
    expect(b.LlmDataDist_LinkLlmClusters(client, [clusterInfo(0n)]).status).toBe(StatusCode.LLM_LINK_FAILED);
    expect(b.LlmDataDist_LinkLlmClusters(client, [clusterInfo(0n)]).status).toBe(StatusCode.LLM_LINK_FAILED);
    expect(fault.fired).toBe(2);
    expect(b.LlmDataDist_LinkLlmClusters(client, [clusterInfo(0n)]).status).toBe(StatusCode.LLM_SUCCESS);
    expect(network.inspect().linkAttempts.map((attempt) => attempt.status)).toEqual([
      StatusCode.LLM_LINK_FAILED,
      StatusCode.LLM_LINK_FAILED,
      StatusCode.LLM_SUCCESS,
    ]);
  });

  it('refuseLinks can answer with any status and applies to plain unlinks too', () => {
    const { network, b, client } = fakePair();
    network.faults.refuseLinks(SERVER_ADDRESS, { status: StatusCode.LLM_PROCESSING_LINK, times: 1 });
    expect(b.LlmDataDist_UnlinkLlmClusters(client, [clusterInfo(0n)]).status).toBe(StatusCode.LLM_UNLINK_FAILED);
    network.faults.refuseLinks('10.9.9.9:1', { status: StatusCode.LLM_PROCESSING_LINK });
    expect(b.LlmDataDist_LinkLlmClusters(client, [clusterInfo(7n, '10.9.9.9:1')]).rets).toEqual(Uint32Array.from([StatusCode.LLM_PROCESSING_LINK]));
  });

  it('a removed fault never fires', () => {
    const { network, b, client } = fakePair({}, false);
    network.faults.refuseLinks(SERVER_ADDRESS).remove();
    expect(b.LlmDataDist_LinkLlmClusters(client, [clusterInfo(0n)]).status).toBe(StatusCode.LLM_SUCCESS);
  });

  describe('on timers', () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    it('delayLinks holds the async handshake for its delay', async () => {
      const { network, b, client } = fakePair({}, false);
      network.faults.delayLinks(SERVER_ADDRESS, 300);
      let settled = false;
      const pending = b.LlmDataDist_LinkLlmClustersAsync(client, [clusterInfo(0n)], 1000).then((result) => {
        settled = true;
        return result;
      });
      await vi.advanceTimersByTimeAsync(299);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect((await pending).status).toBe(StatusCode.LLM_SUCCESS);
    });

    it('a handshake slower than timeout_in_millis is LLM_TIMEOUT at the timeout, and nothing is linked', async () => {
      const { network, b, client } = fakePair({}, false);
      network.faults.delayLinks(SERVER_ADDRESS, 5000, { times: 1 });
      const pending = b.LlmDataDist_LinkLlmClustersAsync(client, [clusterInfo(0n)], 200);
      await vi.advanceTimersByTimeAsync(200);
      const result = await pending;
      expect(result.status).toBe(StatusCode.LLM_TIMEOUT);
      expect(network.inspect().links).toEqual([]);
      expect(b.LlmDataDist_LinkLlmClusters(client, [clusterInfo(0n)], 200).status).toBe(StatusCode.LLM_SUCCESS);
    });
  });
});

describe('fault injection: transfers', () => {
  it('failTransfer fails exactly the nth matching transfer, which copies nothing', () => {
    const { network, b, client, srcIndex, dstCache, dst } = fakePair();
    network.faults.failTransfer({ nth: 2, status: StatusCode.LLM_DEVICE_OUT_OF_MEMORY, kind: 'PullKvBlocks' });
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache, 3)).toBe(StatusCode.LLM_SUCCESS); // not a match
    expect(b.LlmDataDist_PullKvBlocks(client, srcIndex, dstCache, blocks(0), blocks(0))).toBe(StatusCode.LLM_SUCCESS);
    const before = row(dst, 0, 1);
    expect(b.LlmDataDist_PullKvBlocks(client, srcIndex, dstCache, blocks(2), blocks(1))).toBe(StatusCode.LLM_DEVICE_OUT_OF_MEMORY);
    expect(row(dst, 0, 1)).toEqual(before);
    expect(b.LlmDataDist_PullKvBlocks(client, srcIndex, dstCache, blocks(2), blocks(1))).toBe(StatusCode.LLM_SUCCESS);
    const transfers = network.inspect().transfers;
    expect(transfers.map((transfer) => [transfer.kind, transfer.status, transfer.bytes])).toEqual([
      ['PullKvCache', StatusCode.LLM_SUCCESS, 32],
      ['PullKvBlocks', StatusCode.LLM_SUCCESS, 32],
      ['PullKvBlocks', StatusCode.LLM_DEVICE_OUT_OF_MEMORY, 0],
      ['PullKvBlocks', StatusCode.LLM_SUCCESS, 32],
    ]);
  });

  it('matches by initiator and peer cluster', () => {
    const { network, b, client, srcIndex, dstCache } = fakePair();
    network.faults.failTransfer({ status: StatusCode.LLM_FAILED, peer: 9n });
    network.faults.failTransfer({ status: StatusCode.LLM_TIMEOUT, initiator: 1n, peer: 0n });
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_TIMEOUT);
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_SUCCESS);
  });

  it('a sync transfer with latency at the deadline times out at once; below it, it succeeds', () => {
    const { network, b, client, srcIndex, dstCache } = fakePair();
    network.faults.addLatency(100, { times: 1 });
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_TIMEOUT);
    network.faults.addLatency(99, { times: 1 });
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_SUCCESS);
    expect(network.inspect().transfers.map((transfer) => transfer.latencyMs)).toEqual([100, 99]);
  });

  it('a stalled sync transfer is LLM_TIMEOUT', () => {
    const { network, b, client, srcIndex, dstCache } = fakePair();
    network.faults.stallTransfer();
    expect(b.LlmDataDist_PushKvBlocks(client, dstCache, srcIndex, blocks(0), blocks(0))).toBe(StatusCode.LLM_TIMEOUT);
  });

  it('only transfers that pass validation are counted', () => {
    const { network, b, client, srcIndex, dstCache } = fakePair();
    const fault = network.faults.failTransfer({ status: StatusCode.LLM_FAILED });
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache, 99)).toBe(StatusCode.LLM_PARAM_INVALID);
    expect(fault.fired).toBe(0);
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_FAILED);
    expect(fault.fired).toBe(1);
  });

  it('clear() drops every scripted fault', () => {
    const { network, b, client, srcIndex, dstCache } = fakePair();
    network.faults.failTransfer({ status: StatusCode.LLM_FAILED });
    network.faults.addLatency(1000);
    network.faults.clear();
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_SUCCESS);
  });

  it('vanish(address) kills the peer now: its listener is gone and links to it are broken', () => {
    const { network, b, client, srcIndex, dstCache } = fakePair();
    network.faults.vanish(SERVER_ADDRESS);
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_TIMEOUT);
    expect(b.LlmDataDist_UnlinkLlmClusters(client, [clusterInfo(0n)]).status).toBe(StatusCode.LLM_UNLINK_FAILED);
    expect(network.inspect().instances.find((instance) => instance.clusterId === 0n)?.initialized).toBe(false);
    expect(() => network.faults.vanish(SERVER_ADDRESS)).toThrow(RangeError);
  });

  describe('on timers', () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    it('latency delays the async transfer and its bytes', async () => {
      const { network, b, client, srcIndex, dstCache, src, dst } = fakePair();
      network.faults.addLatency(40);
      const pending = b.LlmDataDist_PullKvBlocksAsync(client, srcIndex, dstCache, blocks(1), blocks(3));
      await vi.advanceTimersByTimeAsync(39);
      expect(row(dst, 1, 3)).not.toEqual(row(src, 1, 1));
      await vi.advanceTimersByTimeAsync(1);
      expect(await pending).toBe(StatusCode.LLM_SUCCESS);
      expect(row(dst, 1, 3)).toEqual(row(src, 1, 1));
    });

    it('async transfers on one link run one after another', async () => {
      const { network, b, client, srcIndex, dstCache } = fakePair();
      network.faults.addLatency(30, { times: 2 });
      const done: number[] = [];
      const first = b.LlmDataDist_PullKvCacheAsync(client, srcIndex, dstCache, 0).then(() => done.push(1));
      const second = b.LlmDataDist_PullKvCacheAsync(client, srcIndex, dstCache, 1).then(() => done.push(2));
      await vi.advanceTimersByTimeAsync(30);
      expect(done).toEqual([1]);
      await vi.advanceTimersByTimeAsync(30);
      await Promise.all([first, second]);
      expect(done).toEqual([1, 2]);
    });

    it('latency past SyncKvCacheWaitTime gives LLM_TIMEOUT at the deadline, with nothing copied', async () => {
      const { network, b, client, srcIndex, dstCache, dst } = fakePair();
      network.faults.addLatency(5000, { kind: 'PullKvCache' });
      const before = row(dst, 0, 0);
      let status: number | null = null;
      void b.LlmDataDist_PullKvCacheAsync(client, srcIndex, dstCache).then((result) => (status = result));
      await vi.advanceTimersByTimeAsync(99);
      expect(status).toBeNull();
      await vi.advanceTimersByTimeAsync(1);
      expect(status).toBe(StatusCode.LLM_TIMEOUT);
      expect(row(dst, 0, 0)).toEqual(before);
      expect(b.lastError()).toMatch(/^PullKvCache: LLM_TIMEOUT: PullKvCache did not finish within SyncKvCacheWaitTime 100 ms/);
    });

    it('a stalled async transfer times out at the deadline', async () => {
      const { network, b, client, srcIndex, dstCache } = fakePair();
      network.faults.stallTransfer({ nth: 1 });
      const pending = b.LlmDataDist_PullKvBlocksAsync(client, srcIndex, dstCache, blocks(0), blocks(0));
      await vi.advanceTimersByTimeAsync(100);
      expect(await pending).toBe(StatusCode.LLM_TIMEOUT);
    });

    it('vanishDuringTransfer: the peer dies mid-transfer; the link dangles until force-unlinked', async () => {
      const { network, b, client, server, srcIndex, dstCache } = fakePair();
      network.faults.vanishDuringTransfer({ nth: 1 });
      const pending = b.LlmDataDist_PullKvCacheAsync(client, srcIndex, dstCache);
      await vi.advanceTimersByTimeAsync(1); // two turns of the event loop: start, then the vanish
      expect(await pending).toBe(StatusCode.LLM_TIMEOUT);
      expect(network.inspect().links).toEqual([{ clusterId: 1n, peerClusterId: 0n, side: 'client', address: SERVER_ADDRESS, broken: true }]);
      expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_TIMEOUT);
      expect(b.LlmDataDist_LinkLlmClusters(client, [clusterInfo(0n)]).status).toBe(StatusCode.LLM_LINK_FAILED);
      expect(b.LlmDataDist_UnlinkLlmClusters(client, [clusterInfo(0n)], 1000, true).status).toBe(StatusCode.LLM_SUCCESS);
      expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_NOT_YET_LINK);
      // The vanished engine can still be torn down through its handle: its memory went with it.
      expect(b.LlmDataDist_UnregisterKvCache(server, srcIndex.cache_id)).toBe(StatusCode.LLM_SUCCESS);
      expect(b.LlmDataDist_PullKvCache(server, srcIndex, dstCache)).toBe(StatusCode.LLM_FAILED);
      expect(b.LlmDataDist_Finalize(server)).toBe(StatusCode.LLM_SUCCESS);
      b.LlmDataDist_destroy(server);
    });

    it('vanishInstance kills a client-only instance: the server side dangles and its transfers time out at once', async () => {
      const { network, b, client, server } = fakePair();
      network.faults.vanishInstance(client);
      let status: number | null = null;
      void b.LlmDataDist_PullKvBlocksAsync(server, { cluster_id: 1n, cache_id: 1n, batch_index: 0 }, { ...makeCache({ cache_id: 1n }) }, blocks(0), blocks(0)).then((result) => (status = result));
      await vi.advanceTimersByTimeAsync(0);
      expect(status).toBe(StatusCode.LLM_TIMEOUT);
      expect(b.lastError()).toMatch(/no longer holds its side of this link/);
    });

    it('a transfer in flight when the peer finalizes fails instead of copying', async () => {
      const { network, b, client, server, srcIndex, dstCache, dst } = fakePair();
      network.faults.addLatency(50);
      const before = row(dst, 0, 0);
      const pending = b.LlmDataDist_PullKvCacheAsync(client, srcIndex, dstCache);
      await vi.advanceTimersByTimeAsync(10);
      b.LlmDataDist_Finalize(server);
      await vi.advanceTimersByTimeAsync(40);
      expect(await pending).toBe(StatusCode.LLM_TIMEOUT);
      expect(row(dst, 0, 0)).toEqual(before);
    });
  });
});

describe('inspection', () => {
  it('records links, link attempts and transfers with bytes, blocks and merged runs', () => {
    const { network, b, client, srcIndex, dstCache } = fakePair();
    expect(b.LlmDataDist_PullKvBlocks(client, srcIndex, dstCache, blocks(0, 1, 3), blocks(1, 2, 0))).toBe(StatusCode.LLM_SUCCESS);
    const snapshot = network.inspect();
    expect(snapshot.links).toEqual([
      { clusterId: 0n, peerClusterId: 1n, side: 'server', address: SERVER_ADDRESS, broken: false },
      { clusterId: 1n, peerClusterId: 0n, side: 'client', address: SERVER_ADDRESS, broken: false },
    ]);
    expect(snapshot.linkAttempts).toMatchObject([{ operation: 'link', from: 1n, remoteClusterId: 0n, address: SERVER_ADDRESS, status: 0 }]);
    expect(snapshot.transfers).toMatchObject([
      {
        kind: 'PullKvBlocks',
        initiator: 1n,
        peer: 0n,
        localCacheId: 1n,
        remoteCacheId: 1n,
        status: StatusCode.LLM_SUCCESS,
        bytes: 3 * 16 * 2,
        tensors: 2,
        srcBlocks: [0n, 1n, 3n],
        dstBlocks: [1n, 2n, 0n],
        runs: 2,
      },
    ]);
    expect(snapshot.instances.map((instance) => [instance.clusterId, instance.listenAddress, instance.initialized])).toEqual([
      [0n, SERVER_ADDRESS, true],
      [1n, null, true],
    ]);
  });
});

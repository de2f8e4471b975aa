import { CachePlacement, LlmRole, OptionKey, StatusCode, makeCache, makeCacheIndex } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { FakeNetwork } from '../src/index.js';
import { SERVER_ADDRESS, blocks, clusterInfo, create, fakePair, kvMemory, register, row } from './fake-pair.js';

// Rules the conformance suite cannot observe on a real backend the same way, or that only the
// fake adds (stricter checks that catch bugs before they reach Ascend).

describe('fake: register before link (facts §3.5)', () => {
  it('a remote cache registered after the first transfer is not in the fetched table: KV_CACHE_NOT_EXIST', () => {
    const { b, client, server, srcIndex, dstCache } = fakePair();
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_SUCCESS);
    const late = register(b, server, kvMemory(b, 50));
    expect(b.LlmDataDist_PullKvCache(client, { ...srcIndex, cache_id: late }, dstCache)).toBe(StatusCode.LLM_KV_CACHE_NOT_EXIST);
    expect(b.lastError()).toMatch(/register before linking/);
  });

  it('a cache registered after the link was made is not bound to it: LLM_FAILED, on either side', () => {
    const { b, client, server, srcIndex, dstCache } = fakePair();
    const lateRemote = register(b, server, kvMemory(b, 50));
    expect(b.LlmDataDist_PullKvCache(client, { ...srcIndex, cache_id: lateRemote }, dstCache)).toBe(StatusCode.LLM_FAILED);
    const lateLocal = register(b, client, kvMemory(b, 60));
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, makeCache({ cache_id: lateLocal }))).toBe(StatusCode.LLM_FAILED);
    expect(b.lastError()).toMatch(/^PullKvCache: LLM_FAILED: local cache 2 was registered after the link/);
  });

  it('enforceRegisterBeforeLink: false lets late registrations through', () => {
    const { b, client, server, srcIndex, dstCache } = fakePair({ enforceRegisterBeforeLink: false });
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_SUCCESS);
    const late = kvMemory(b, 50);
    const lateId = register(b, server, late);
    expect(b.LlmDataDist_PullKvBlocks(client, { ...srcIndex, cache_id: lateId }, dstCache, blocks(1), blocks(2))).toBe(StatusCode.LLM_SUCCESS);
  });

  it('a remote cache unregistered after the table was fetched is KV_CACHE_NOT_EXIST', () => {
    const { b, client, server, srcIndex, dstCache } = fakePair();
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_SUCCESS);
    expect(b.LlmDataDist_UnregisterKvCache(server, srcIndex.cache_id)).toBe(StatusCode.LLM_SUCCESS);
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_KV_CACHE_NOT_EXIST);
  });
});

describe('fake: memory and registration', () => {
  it('memory that did not come from addressOf fails to register (LLM_FAILED, as a failed memory registration) and uses up its id', () => {
    const network = new FakeNetwork();
    const b = network.bindings;
    const dd = create(b, 1n);
    const memory = kvMemory(b, 1);
    const asHost = { ...memory.desc, placement: CachePlacement.kHost };
    expect(b.LlmDataDist_RegisterKvCache(dd, asHost, BigUint64Array.from([memory.addrs[0] as bigint, 0x1000n])).status).toBe(StatusCode.LLM_FAILED);
    expect(b.lastError()).toMatch(/not memory from this network's addressOf/);
    const tooShort = { ...memory.desc, shape: BigInt64Array.from([8n, 16n]) }; // 128 bytes in a 64-byte buffer
    expect(b.LlmDataDist_RegisterKvCache(dd, tooShort, memory.addrs).status).toBe(StatusCode.LLM_FAILED);
    expect(b.lastError()).toMatch(/runs past the end of its aclrtMalloc allocation/);
    expect(b.LlmDataDist_RegisterKvCache(dd, { ...tooShort, placement: CachePlacement.kHost }, memory.addrs).status).toBe(StatusCode.LLM_FAILED);
    expect(b.lastError()).toMatch(/not memory from this network's addressOf/);
    expect(register(b, dd, memory)).toBe(4n);
    expect(network.inspect().registrations.map((entry) => entry.cacheId)).toEqual([4n]);
  });

  it('inspect() lists registrations with their geometry', () => {
    const { network, src } = fakePair();
    const mine = network.inspect().registrations.find((entry) => entry.clusterId === 0n);
    expect(mine).toMatchObject({ cacheId: 1n, shape: [4n, 16n], tensorBytes: 64, tensorAddresses: [...src.addrs] });
  });
});

describe('fake: links', () => {
  it('a link works both ways: the server can pull from the client over it', () => {
    const { b, server, client, src, dst } = fakePair();
    const index = makeCacheIndex({ cluster_id: 1n, cache_id: 1n });
    expect(b.LlmDataDist_PullKvBlocks(server, index, makeCache({ cache_id: 1n }), blocks(3), blocks(0))).toBe(StatusCode.LLM_SUCCESS);
    expect(row(src, 1, 0)).toEqual([...dst.buffers[1]!.subarray(48, 64)]);
    void client;
  });

  it('a listener on 0.0.0.0 accepts links to any address at its port', () => {
    const { bindings: b } = new FakeNetwork();
    create(b, 0n, { [OptionKey.OPTION_LISTEN_IP_INFO]: '0.0.0.0:26000' });
    const client = create(b, 1n);
    expect(b.LlmDataDist_LinkLlmClusters(client, [clusterInfo(0n, '192.168.3.4:26000')]).status).toBe(StatusCode.LLM_SUCCESS);
  });

  it('an address already in use makes Initialize and SetRole fail', () => {
    const { bindings: b } = new FakeNetwork();
    create(b, 0n, { [OptionKey.OPTION_LISTEN_IP_INFO]: SERVER_ADDRESS });
    const second = b.LlmDataDist_create(1n, LlmRole.kPrompt).handle;
    expect(b.LlmDataDist_Initialize(second, { [OptionKey.OPTION_DEVICE_ID]: '0', [OptionKey.OPTION_LISTEN_IP_INFO]: SERVER_ADDRESS })).toBe(StatusCode.LLM_FAILED);
    const third = create(b, 2n);
    expect(b.LlmDataDist_SetRole(third, LlmRole.kPrompt, { [OptionKey.OPTION_LISTEN_IP_INFO]: SERVER_ADDRESS })).toBe(StatusCode.LLM_FAILED);
  });

  it('D12: by default an instance holds at most 4096 links; the 4097th is LLM_LINK_FAILED', () => {
    const network = new FakeNetwork();
    const b = network.bindings;
    const server = create(b, 0n, { [OptionKey.OPTION_LISTEN_IP_INFO]: SERVER_ADDRESS });
    for (let i = 1; i <= 4096; i += 1) {
      expect(b.LlmDataDist_LinkLlmClusters(create(b, BigInt(i)), [clusterInfo(0n)]).status).toBe(StatusCode.LLM_SUCCESS);
    }
    const refused = b.LlmDataDist_LinkLlmClusters(create(b, 5000n), [clusterInfo(0n)]);
    expect(refused.status).toBe(StatusCode.LLM_LINK_FAILED);
    expect(b.lastError()).toMatch(/dd\.MaxLinks is 4096/);
    expect(network.inspect().links.filter((link) => link.clusterId === 0n)).toHaveLength(4096);
    void server;
  });

  it('with llm.LocalCommRes the local ip may be left out; a malformed one initializes and fails the link (A7)', () => {
    const { bindings: b } = new FakeNetwork();
    create(b, 0n, { [OptionKey.OPTION_LISTEN_IP_INFO]: SERVER_ADDRESS });
    const table = { version: '1.2', server_list: [{ server_id: '10.0.0.2', device: [{ device_id: '0', device_ip: '10.0.0.2' }] }] };
    const withTable = create(b, 1n, { [OptionKey.OPTION_LOCAL_COMM_RES]: JSON.stringify(table) });
    expect(b.LlmDataDist_LinkLlmClusters(withTable, [clusterInfo(0n, SERVER_ADDRESS, { local_ip_infos: [] })]).status).toBe(StatusCode.LLM_SUCCESS);
    const malformed = create(b, 2n, { [OptionKey.OPTION_LOCAL_COMM_RES]: '{version' });
    expect(b.LlmDataDist_LinkLlmClusters(malformed, [clusterInfo(0n, SERVER_ADDRESS, { local_ip_infos: [] })]).status).toBe(StatusCode.LLM_PARAM_INVALID);
  });

  it('Finalize of a client tears down its side only: the server keeps a dangling link (A16)', () => {
    const { network, b, server, client } = fakePair();
    b.LlmDataDist_Finalize(client);
    expect(network.inspect().links).toEqual([{ clusterId: 0n, peerClusterId: 1n, side: 'server', address: SERVER_ADDRESS, broken: true }]);
    expect(b.LlmDataDist_SetRole(server, LlmRole.kPrompt, { [OptionKey.OPTION_LISTEN_IP_INFO]: SERVER_ADDRESS })).toBe(StatusCode.LLM_EXIST_LINK);
  });

  it('Finalize of a server breaks the client side: transfers time out until the client force-unlinks', () => {
    const { network, b, server, client, srcIndex, dstCache } = fakePair();
    b.LlmDataDist_Finalize(server);
    expect(network.inspect().links).toEqual([{ clusterId: 1n, peerClusterId: 0n, side: 'client', address: SERVER_ADDRESS, broken: true }]);
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_TIMEOUT);
    expect(b.LlmDataDist_SetRole(client, LlmRole.kPrompt)).toBe(StatusCode.LLM_EXIST_LINK);
    // V2 reconnects to unlink, and nobody listens any more.
    expect(b.LlmDataDist_UnlinkLlmClusters(client, [clusterInfo(0n)]).status).toBe(StatusCode.LLM_UNLINK_FAILED);
    expect(b.LlmDataDist_UnlinkLlmClusters(client, [clusterInfo(0n)], 1000, true).status).toBe(StatusCode.LLM_SUCCESS);
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache)).toBe(StatusCode.LLM_NOT_YET_LINK);
  });

  it('a listener on port 0 gets a free port from the ephemeral range', () => {
    const network = new FakeNetwork();
    create(network.bindings, 0n, { [OptionKey.OPTION_LISTEN_IP_INFO]: '10.0.0.1:0' });
    create(network.bindings, 1n, { [OptionKey.OPTION_LISTEN_IP_INFO]: '10.0.0.1:0' });
    expect(network.inspect().instances.map((instance) => instance.listenAddress)).toEqual(['10.0.0.1:49152', '10.0.0.1:49153']);
  });

  it('IPv6 listen addresses are accepted and keyed as [v6]:port', () => {
    const network = new FakeNetwork();
    create(network.bindings, 0n, { [OptionKey.OPTION_LISTEN_IP_INFO]: '[::1]:26000' });
    expect(network.inspect().instances[0]?.listenAddress).toBe('[::1]:26000');
  });
});

describe('fake: the bindings contract', () => {
  it('mechanical checks throw before any rule runs, like @dd/sys', () => {
    const { b, client, srcIndex, dstCache } = fakePair();
    expect(() => b.LlmDataDist_LinkLlmClusters(client, [clusterInfo(0n, '10.0.0.1:70000')])).toThrow(RangeError);
    expect(() => b.LlmDataDist_PullKvCache(client, srcIndex, dstCache, -1)).toThrow(RangeError);
    expect(() => b.LlmDataDist_PullKvCache(client, { ...srcIndex, cluster_id: -1n }, dstCache)).toThrow(RangeError);
    expect(() => b.LlmDataDist_PullKvBlocks(client, srcIndex, dstCache, [1n] as unknown as BigUint64Array, blocks(1))).toThrow(TypeError);
    expect(() => b.LlmDataDist_Initialize(client, { [OptionKey.OPTION_DEVICE_ID]: 0 } as unknown as Record<string, string>)).toThrow(TypeError);
    expect(() => b.LlmDataDist_create(1n << 64n, LlmRole.kPrompt)).toThrow(RangeError);
    expect(() => b.LlmDataDist_SetRole(client, LlmRole.kPrompt, { [OptionKey.OPTION_LISTEN_IP_INFO]: '10.0.0.2:1\0' })).toThrow(RangeError);
    const ext = { src_layer_range: [0] as unknown as [number, number], dst_layer_range: [0, 0] as const, tensor_num_per_layer: 2 };
    expect(() => b.LlmDataDist_PullKvCache(client, srcIndex, dstCache, 0, -1n, ext)).toThrow(TypeError);
  });

  it('a NULL handle is PARAM_INVALID; a destroyed handle throws', () => {
    const network = new FakeNetwork();
    const b = network.bindings;
    const handle = create(b, 1n);
    expect(b.LlmDataDist_Finalize(0n as typeof handle)).toBe(StatusCode.LLM_PARAM_INVALID);
    b.LlmDataDist_destroy(handle);
    expect(() => b.LlmDataDist_Finalize(handle)).toThrow(TypeError);
    expect(network.inspect().instances).toEqual([]);
  });

  it('async twins settle on a later turn of the event loop; the bytes move then', async () => {
    const { b, client, srcIndex, dstCache, src, dst } = fakePair();
    const before = row(dst, 0, 2);
    const pending = b.LlmDataDist_PullKvBlocksAsync(client, srcIndex, dstCache, blocks(1), blocks(2));
    await Promise.resolve();
    expect(row(dst, 0, 2)).toEqual(before);
    expect(await pending).toBe(StatusCode.LLM_SUCCESS);
    expect(row(dst, 0, 2)).toEqual(row(src, 0, 1));
  });

  it('lastError carries the reason after the method and status', () => {
    const { b, client, srcIndex, dstCache } = fakePair();
    expect(b.LlmDataDist_PullKvCache(client, srcIndex, dstCache, 9)).toBe(StatusCode.LLM_PARAM_INVALID);
    expect(b.lastError()).toBe('PullKvCache: LLM_PARAM_INVALID: batch_index 9 is not below the local batch size 4');
  });

  it('backend.name is "fake"', () => {
    expect(new FakeNetwork().bindings.backend.name).toBe('fake');
  });
});

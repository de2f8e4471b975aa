import { CachePlacement, DataType, LlmRole, OptionKey, makeCache, makeCacheDesc, makeCacheIndex } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { Harness, blocks, expectBytes, expectRets, expectStatus, initialRowOf, rowOf, type Engine, type KvMemory } from './harness.js';

const HIXL = { [OptionKey.OPTION_TRANSFER_BACKEND]: 'hixl' };
const CONFIG = OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG;

const BAD_CONFIGS = [
  'not_json',
  '[]',
  '"x"',
  '{"connect_pool.thread_num": 0}',
  '{"connect_pool.thread_num": 65}',
  '{"connect_pool.thread_num": "abc"}',
  '{"connect_pool.task_queue_capacity": 65536}',
  '{"comm_resource_config.listen_port": 0}',
  '{"comm_resource_config.qos": 8}',
  '{"comm_resource_config.max_active_channels": 0}',
  '{"comm_resource_config.protocol_desc": 5}',
  '{"comm_resource_config.protocol_desc": ["roce", 1]}',
  '{"fabric_memory.max_capacity": 1025}',
  '{"fabric_memory.start_address": 1025}',
  '{"fabric_memory.task_stream_num": 9}',
  '{"fabric_memory.task_stream_num": 2}',
  '{"fabric_memory": {"max_capacity": 0}}',
  '{"local_comm_res_path": ""}',
  '{"local_comm_res_path": "/nonexistent/dd-rank-table.json"}',
  '{"channel_pool.high_waterline": 1}',
  '{"channel_pool.high_waterline": 0.9, "channel_pool.low_waterline": 0}',
  '{"channel_pool.max_channel": 8}',
  '{"channel_pool.high_waterline": 0.9, "channel_pool.low_waterline": 0.1, "channel_pool.max_channel": 513}',
  '{"channel_pool.high_waterline": 0.3, "channel_pool.low_waterline": 0.2, "channel_pool.max_channel": 2}',
];

const GOOD_CONFIGS = [
  '',
  '{}',
  '{"connect_pool.thread_num": 64, "connect_pool.task_queue_capacity": "65535"}',
  '{"comm_resource_config.listen_port": "26000", "comm_resource_config.qos": 0, "comm_resource_config.max_active_channels": 100000}',
  '{"fabric_memory.max_capacity": 1024, "fabric_memory.start_address": 0, "fabric_memory.task_stream_num": 1}',
  '{"fabric_memory": {"task_stream_num": 8, "enable_aicpu_unfold": false}}',
  '{"comm_resource_config.protocol_desc": ["roce"], "unknown.key": [1, 2]}',
  '{"channel_pool.high_waterline": 0.9, "channel_pool.low_waterline": 0.1, "channel_pool.max_channel": 512}',
];

export function describeHixl(h: Harness): void {
  const hixlServer = (extra: Readonly<Record<string, string>> = {}, role: number = LlmRole.kPrompt): Promise<Engine> => h.server(role, { ...HIXL, ...extra });
  /** A linked hixl pair: the client's link is stored under `linkId`. */
  const hixlPair = async (linkId?: bigint) => {
    const server = await hixlServer();
    const client = await hixlServer({}, LlmRole.kDecoder);
    const src = h.memory({ tensors: 2, rows: 4, rowElements: 8 }, 1);
    const dst = h.memory({ tensors: 2, rows: 4, rowElements: 8 }, 2);
    const srcId = h.register(server, src);
    const dstId = h.register(client, dst);
    expectRets(h.linkTo(client, [Harness.clusterInfo(linkId ?? server.clusterId, server.address ?? '')]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
    return { server, client, src, dst, srcId, dstId };
  };
  const pullBlock = (into: Engine, clusterId: bigint, cacheId: bigint, dstId: bigint, from = 1, to = 0) =>
    h.b.LlmDataDist_PullKvBlocks(into.handle, makeCacheIndex({ cluster_id: clusterId, cache_id: cacheId }), makeCache({ cache_id: dstId }), blocks(from), blocks(to));
  const expectBlock = (dst: KvMemory, src: KvMemory, from: number, to: number) =>
    dst.tensors.forEach((_tensor, t) => expectBytes(rowOf(dst, t, to), initialRowOf(src, t, from), `tensor ${t}`));

  describe('TransferBackend "hixl"', () => {
    it('A1 (hixl): only the caller gets a link, stored under remote_cluster_id as given; transfers name that id', async () => {
      const pair = await hixlPair(777n);
      expectStatus(pullBlock(pair.client, 777n, pair.srcId, pair.dstId), 'LLM_SUCCESS');
      expectBlock(pair.dst, pair.src, 1, 0);
      expectStatus(pullBlock(pair.client, pair.server.clusterId, pair.srcId, pair.dstId), 'LLM_NOT_YET_LINK');
    });

    it('A1 (hixl): the accepting side has no link back: its pull from the caller is NOT_YET_LINK until it links too', async () => {
      const pair = await hixlPair();
      expectStatus(pullBlock(pair.server, pair.client.clusterId, pair.dstId, pair.srcId), 'LLM_NOT_YET_LINK');
    });

    it('A1 (hixl): a push over the caller\'s link writes the server\'s cache', async () => {
      const pair = await hixlPair();
      const srcCache = makeCache({ cache_id: pair.dstId, cache_desc: { ...pair.dst.desc, placement: CachePlacement.kDevice } });
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, srcCache, makeCacheIndex({ cluster_id: pair.server.clusterId, cache_id: pair.srcId }), blocks(3), blocks(2)), 'LLM_SUCCESS');
      expectBlock(pair.src, pair.dst, 3, 2);
    });

    it('A21 (hixl): linking the same ip:port again is ALREADY_LINK, whatever id it names', async () => {
      const pair = await hixlPair();
      expectRets(h.linkTo(pair.client, [Harness.to(pair.server)]), 'LLM_ALREADY_LINK', ['LLM_ALREADY_LINK']);
      expectRets(h.linkTo(pair.client, [Harness.clusterInfo(9999n, pair.server.address ?? '')]), 'LLM_ALREADY_LINK', ['LLM_ALREADY_LINK']);
    });

    it('A21 (hixl): the same id linked to another address now names the new link', async () => {
      const first = await hixlPair(5n);
      const second = await hixlServer();
      const other = h.memory({ tensors: 2, rows: 4, rowElements: 8 }, 9);
      const otherId = h.register(second, other);
      expectRets(h.linkTo(first.client, [Harness.clusterInfo(5n, second.address ?? '')]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expectStatus(pullBlock(first.client, 5n, otherId, first.dstId, 3, 1), 'LLM_SUCCESS');
      expectBlock(first.dst, other, 3, 1);
    });

    it('A20 (hixl): unlink is a local disconnect: no remote IpInfo needed, force_flag plays no part, an unknown id is SUCCESS', async () => {
      const pair = await hixlPair();
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server, { remote_ip_infos: [] })]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expectStatus(pullBlock(pair.client, pair.server.clusterId, pair.srcId, pair.dstId), 'LLM_NOT_YET_LINK');
      expectRets(h.unlinkFrom(pair.client, [Harness.clusterInfo(4321n, '127.0.0.1:9')]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server)], false, 0), 'LLM_PARAM_INVALID', []);
      expectRets(h.linkTo(pair.client, [Harness.to(pair.server)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
    });

    it('A17 (hixl): SetRole checks no links; another ListenIpInfo is FEATURE_NOT_ENABLED; none keeps the listener', async () => {
      const pair = await hixlPair();
      expectStatus(h.b.LlmDataDist_SetRole(pair.client.handle, LlmRole.kPrompt), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_SetRole(pair.server.handle, LlmRole.kDecoder, { [OptionKey.OPTION_LISTEN_IP_INFO]: await h.address() }), 'LLM_FEATURE_NOT_ENABLED');
      expectStatus(h.b.LlmDataDist_SetRole(pair.server.handle, LlmRole.kDecoder, { [OptionKey.OPTION_LISTEN_IP_INFO]: pair.server.address ?? '' }), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_SetRole(pair.server.handle, LlmRole.kDecoder), 'LLM_SUCCESS');
      const late = await hixlServer({}, LlmRole.kDecoder);
      expectRets(h.linkTo(late, [Harness.to(pair.server)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
    });

    it('A7 (hixl): LocalCommRes is parsed at Initialize: invalid JSON is PARAM_INVALID, "1.3" and other JSON initialize', async () => {
      expectStatus(h.initStatus({ ...HIXL, [OptionKey.OPTION_LISTEN_IP_INFO]: await h.address(), [OptionKey.OPTION_LOCAL_COMM_RES]: '{version' }), 'LLM_PARAM_INVALID');
      for (const commRes of ['{"version":"1.3"}', '{"version":"1.0","server_list":[]}', '{"any":"object"}', '']) {
        expectStatus(h.initStatus({ ...HIXL, [OptionKey.OPTION_LISTEN_IP_INFO]: await h.address(), [OptionKey.OPTION_LOCAL_COMM_RES]: commRes }), 'LLM_SUCCESS');
      }
    });

    it('A19: the default backend ignores llm.GlobalResourceConfig; hixl refuses "not_json" (ST)', async () => {
      expectStatus(h.initStatus({ [CONFIG]: 'not_json' }), 'LLM_SUCCESS');
      expectStatus(h.initStatus({ ...HIXL, [OptionKey.OPTION_LISTEN_IP_INFO]: await h.address(), [CONFIG]: 'not_json' }), 'LLM_PARAM_INVALID');
    });

    it.each(BAD_CONFIGS)('A19: hixl refuses llm.GlobalResourceConfig %s', async (config) => {
      expectStatus(h.initStatus({ ...HIXL, [OptionKey.OPTION_LISTEN_IP_INFO]: await h.address(), [CONFIG]: config }), 'LLM_PARAM_INVALID');
    });

    it.each(GOOD_CONFIGS)('A19: hixl accepts llm.GlobalResourceConfig %j', async (config) => {
      expectStatus(h.initStatus({ ...HIXL, [OptionKey.OPTION_LISTEN_IP_INFO]: await h.address(), [CONFIG]: config }), 'LLM_SUCCESS');
    });

    it('A19: with HIXL-CS (rank table "1.3") the channel_pool keys are not checked', async () => {
      const config = '{"channel_pool.max_channel": 8}';
      expectStatus(h.initStatus({ ...HIXL, [OptionKey.OPTION_LISTEN_IP_INFO]: await h.address(), [CONFIG]: config, [OptionKey.OPTION_LOCAL_COMM_RES]: '{"version":"1.3"}' }), 'LLM_SUCCESS');
    });

    it('A19: hixl takes llm.RdmaTrafficClass 0..255 in steps of 4 and llm.RdmaServiceLevel 0..7', async () => {
      const init = async (extra: Record<string, string>) => h.initStatus({ ...HIXL, [OptionKey.OPTION_LISTEN_IP_INFO]: await h.address(), ...extra });
      for (const value of ['256', '6', 'x']) expectStatus(await init({ 'llm.RdmaTrafficClass': value }), 'LLM_PARAM_INVALID');
      for (const value of ['8', '-1']) expectStatus(await init({ 'llm.RdmaServiceLevel': value }), 'LLM_PARAM_INVALID');
      expectStatus(await init({ 'llm.RdmaTrafficClass': '132', 'llm.RdmaServiceLevel': '7' }), 'LLM_SUCCESS');
    });

    it('A22 (hixl): a range that partially overlaps registered memory is PARAM_INVALID (consuming an id); the same range registers', async () => {
      const dd = await hixlServer();
      const buffer = new ArrayBuffer(256);
      const base = h.b.addressOf(buffer);
      const int8 = (bytes: number) => makeCacheDesc({ placement: CachePlacement.kHost, num_tensors: 1, data_type: DataType.DT_INT8, shape: BigInt64Array.of(BigInt(bytes)) });
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, int8(128), BigUint64Array.of(base)).status, 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, int8(128), BigUint64Array.of(base + 64n)).status, 'LLM_PARAM_INVALID');
      const again = h.b.LlmDataDist_RegisterKvCache(dd.handle, int8(128), BigUint64Array.of(base));
      expectStatus(again.status, 'LLM_SUCCESS');
      expect(again.cache_id).toBe(3n);
    });

    it('choice A27 (hixl): a link to an address nobody listens on is LLM_FAILED', async () => {
      const client = await hixlServer();
      expectRets(h.linkTo(client, [Harness.clusterInfo(h.clusterId(), await h.address())]), 'LLM_FAILED', ['LLM_FAILED']);
    });

    it('choice A14: links between a default-backend engine and a hixl engine fail with LLM_FAILED, both ways', async () => {
      const hixl = await hixlServer();
      const plain = await h.server();
      expectRets(h.linkTo(h.client(), [Harness.to(hixl)]), 'LLM_FAILED', ['LLM_FAILED']);
      expectRets(h.linkTo(hixl, [Harness.to(plain)]), 'LLM_FAILED', ['LLM_FAILED']);
    });
  });
}

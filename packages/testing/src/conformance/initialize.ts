import { LlmRole, OptionKey } from '@dd/sys';
import { describe, it } from 'vitest';
import { pullPair } from './fixtures.js';
import { Harness, expectStatus, type Engine } from './harness.js';

const LISTEN = OptionKey.OPTION_LISTEN_IP_INFO;
const DEVICE = OptionKey.OPTION_DEVICE_ID;
const WAIT = OptionKey.OPTION_SYNC_CACHE_WAIT_TIME;
const BACKEND = OptionKey.OPTION_TRANSFER_BACKEND;

const BAD_DEVICE_ITEMS = ['a', '-1', '4294967295', '2147483648', '1 ', '1;', ';', '0x1', '1.0', '1;a'];
const GOOD_DEVICE_IDS = [' 0', '+0', '-0', '0'];
const BAD_LISTEN = [
  '127.0.0.1',
  '127.0.1:26000',
  '256.0.0.1:26000',
  '127.0.0.01:26000',
  'localhost:26000',
  ':-1',
  ':',
  ':a',
  '[::1]',
  '[zz::1]:26000',
  '127.0.0.1:-1',
  '127.0.0.1:4294967296',
  '127.0.0.1:26000:1',
  '::1:26000',
  '127.0.0.1:26000x',
];
const BAD_WAIT = ['-1', 'abc', '', ' 1', '+1', '1.5', '1e3'];
const BAD_POOLS = [
  'x',
  '{}',
  '[]',
  '{"memory_size":-1}',
  '{"memory_size":1.5}',
  '{"memory_size":"1024"}',
  '{"memory_size":1024,"page_shift":9}',
  '{"memory_size":1024,"page_shift":31}',
  '{"memory_size":281474976710656,"page_shift":16}',
];
const GOOD_POOLS = ['{"memory_size":1073741824}', '{"memory_size":1024,"page_shift":10}', '{"memory_size":0,"page_shift":30}'];

export function describeInitialize(h: Harness): void {
  const serverAt = async (listen: string, port: string): Promise<Engine> => {
    const clusterId = h.clusterId();
    const handle = h.create(clusterId, LlmRole.kPrompt);
    expectStatus(h.b.LlmDataDist_Initialize(handle, Harness.options({ [LISTEN]: listen })), 'LLM_SUCCESS');
    return { handle, clusterId, address: `127.0.0.1:${port}` };
  };
  const portOf = (address: string): number => Number(address.split(':')[1]);

  describe('Initialize options', () => {
    it('B §3.2: an invalid role (kEnd) is PARAM_INVALID', () => {
      expectStatus(h.initStatus({}, LlmRole.kEnd), 'LLM_PARAM_INVALID');
    });

    it.each([['absent', undefined], ['""', '']])('A10: llm.DeviceId %s is PARAM_INVALID', (_name, value) => {
      const options = Harness.options();
      if (value === undefined) delete options[DEVICE];
      else options[DEVICE] = value;
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), options), 'LLM_PARAM_INVALID');
    });

    it.each(BAD_DEVICE_ITEMS)('A10: llm.DeviceId %j does not read as int32 ≥ 0 items: PARAM_INVALID', (deviceId) => {
      expectStatus(h.initStatus({ [DEVICE]: deviceId }), 'LLM_PARAM_INVALID');
    });

    it.each(GOOD_DEVICE_IDS)('A10: llm.DeviceId %j reads as device 0 (leading blanks and a sign pass)', (deviceId) => {
      expectStatus(h.initStatus({ [DEVICE]: deviceId }), 'LLM_SUCCESS');
    });

    it('B §3.2: llm.DeviceId "1;2" passes the item check and fails the single-device re-parse: PARAM_INVALID', () => {
      expectStatus(h.initStatus({ [DEVICE]: '1;2' }), 'LLM_PARAM_INVALID');
    });

    it('A10: the device, ListenIpInfo and TransferBackend checks come before the daemon starts: PARAM_INVALID even on an address in use', async () => {
      const server = await h.server();
      const taken = server.address ?? '';
      expectStatus(h.initStatus({ [LISTEN]: taken, [DEVICE]: '1;2' }), 'LLM_PARAM_INVALID');
      expectStatus(h.initStatus({ [LISTEN]: taken, [BACKEND]: 'rdma' }), 'LLM_PARAM_INVALID');
      expectStatus(h.initStatus({ [LISTEN]: taken, 'llm.LinkRetryCount': '0' }), 'LLM_PARAM_INVALID');
    });

    it('A10: the daemon starts before SyncKvCacheWaitTime is read: an address in use wins with LLM_FAILED', async () => {
      const server = await h.server();
      expectStatus(h.initStatus({ [LISTEN]: server.address ?? '', [WAIT]: 'abc' }), 'LLM_FAILED');
      expectStatus(h.initStatus({ [LISTEN]: server.address ?? '' }), 'LLM_FAILED');
    });

    h.deviation('D10: an Initialize that fails after the daemon started leaves nothing listening', async () => {
      const address = await h.address();
      const failed = h.create();
      expectStatus(h.b.LlmDataDist_Initialize(failed, Harness.options({ [LISTEN]: address, [WAIT]: 'abc' })), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_UnregisterKvCache(failed, 1n), 'LLM_FAILED'); // not initialized
      const clusterId = h.clusterId();
      expectStatus(h.linkTo(h.client(), [Harness.clusterInfo(clusterId, address)]).status, 'LLM_LINK_FAILED');
      const successor = h.create(clusterId, LlmRole.kPrompt);
      expectStatus(h.b.LlmDataDist_Initialize(successor, Harness.options({ [LISTEN]: address })), 'LLM_SUCCESS');
    });

    it.each(BAD_LISTEN)('A11: llm.ListenIpInfo %j is PARAM_INVALID', (listen) => {
      expectStatus(h.initStatus({ [LISTEN]: listen }), 'LLM_PARAM_INVALID');
    });

    it('A11: the port is any integer up to 4294967295 and the daemon binds it modulo 65536', async () => {
      const address = await h.address();
      const server = await serverAt(`127.0.0.1:${portOf(address) + 65536 * 3}`, String(portOf(address)));
      expectStatus(h.linkTo(h.client(), [Harness.to(server)]).status, 'LLM_SUCCESS');
    });

    it('A11: a port may carry leading blanks and a sign', async () => {
      const address = await h.address();
      const server = await serverAt(`127.0.0.1: +${portOf(address)}`, String(portOf(address)));
      expectStatus(h.linkTo(h.client(), [Harness.to(server)]).status, 'LLM_SUCCESS');
    });

    it('A11: "[ip]…:port" takes the IP inside the brackets and the port after the first ":" past "]"', async () => {
      const address = await h.address();
      const server = await serverAt(`[127.0.0.1]x:${portOf(address)}`, String(portOf(address)));
      expectStatus(h.linkTo(h.client(), [Harness.to(server)]).status, 'LLM_SUCCESS');
    });

    it('A11: port 0 listens on a free port; "[::1]:port" listens on IPv6', async () => {
      expectStatus(h.initStatus({ [LISTEN]: '127.0.0.1:0' }), 'LLM_SUCCESS');
      expectStatus(h.initStatus({ [LISTEN]: `[::1]:${portOf(await h.address())}` }), 'LLM_SUCCESS');
    });

    it('A11: the daemon binds the IP it was given, not every address', async () => {
      const address = await h.address();
      const server = await serverAt(address, String(portOf(address)));
      expectStatus(h.linkTo(h.client(), [Harness.clusterInfo(server.clusterId, `127.0.0.2:${portOf(address)}`)]).status, 'LLM_LINK_FAILED');
      expectStatus(h.linkTo(h.client(), [Harness.to(server)]).status, 'LLM_SUCCESS');
    });

    it.each(['', 'HIXL', 'hccl', 'carrier-pigeon'])('A12: TransferBackend %j is PARAM_INVALID', (backend) => {
      expectStatus(h.initStatus({ [BACKEND]: backend }), 'LLM_PARAM_INVALID');
    });

    it('B §3.2: TransferBackend "hixl" needs llm.ListenIpInfo', async () => {
      expectStatus(h.initStatus({ [BACKEND]: 'hixl' }), 'LLM_PARAM_INVALID');
      expectStatus(h.initStatus({ [BACKEND]: 'hixl', [LISTEN]: await h.address() }), 'LLM_SUCCESS');
    });

    it.each(BAD_WAIT)('A8: llm.SyncKvCacheWaitTime %j is not digits only: PARAM_INVALID', (wait) => {
      expectStatus(h.initStatus({ [WAIT]: wait }), 'LLM_PARAM_INVALID');
    });

    it.each(['0', '1', '2147483647'])('A8: llm.SyncKvCacheWaitTime %j is accepted', (wait) => {
      expectStatus(h.initStatus({ [WAIT]: wait }), 'LLM_SUCCESS');
    });

    it('A8: llm.SyncKvCacheWaitTime may be left out (1000 ms)', () => {
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), { [DEVICE]: '0' }), 'LLM_SUCCESS');
    });

    h.deviation('D11: llm.SyncKvCacheWaitTime above 2147483647 is PARAM_INVALID', () => {
      expectStatus(h.initStatus({ [WAIT]: '2147483648' }), 'LLM_PARAM_INVALID');
      expectStatus(h.initStatus({ [WAIT]: '99999999999999999999' }), 'LLM_PARAM_INVALID');
    });

    it.each(['2', 'true', '', 'yes'])('A9: flags are not validated: llm.EnableSwitchRole and llm.EnableCacheManager %j initialize', (flag) => {
      expectStatus(h.initStatus({ [OptionKey.OPTION_ENABLE_SET_ROLE]: flag, 'llm.EnableCacheManager': flag }), 'LLM_SUCCESS');
    });

    it('A9/B §1.2: llm.EnableRemoteCacheAccessible "0" is overwritten: peers still pull from and push to the engine', async () => {
      const pair = await pullPair(h, undefined, undefined, { serverOptions: { 'llm.EnableRemoteCacheAccessible': '0' } });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_SUCCESS');
    });

    it.each(['0', '4294967295', '300'])('A28: llm.RdmaTrafficClass and llm.RdmaServiceLevel take any uint32 on the default backend: %j', (value) => {
      expectStatus(h.initStatus({ 'llm.RdmaTrafficClass': value, 'llm.RdmaServiceLevel': value }), 'LLM_SUCCESS');
    });

    it.each(['x', '-1', '4294967296', ''])('A28: llm.RdmaTrafficClass %j is not an unsigned integer: PARAM_INVALID', (value) => {
      expectStatus(h.initStatus({ 'llm.RdmaTrafficClass': value }), 'LLM_PARAM_INVALID');
      expectStatus(h.initStatus({ 'llm.RdmaServiceLevel': value }), 'LLM_PARAM_INVALID');
    });

    it('A28: llm.LinkRetryCount must be in 1..100', () => {
      for (const value of ['0', '101', 'x']) expectStatus(h.initStatus({ 'llm.LinkRetryCount': value }), 'LLM_PARAM_INVALID');
      for (const value of ['1', '100']) expectStatus(h.initStatus({ 'llm.LinkRetryCount': value }), 'LLM_SUCCESS');
    });

    it.each(BAD_POOLS)('A28: llm.MemPoolConfig and llm.HostMemPoolConfig %j are PARAM_INVALID', (pool) => {
      expectStatus(h.initStatus({ 'llm.MemPoolConfig': pool }), 'LLM_PARAM_INVALID');
      expectStatus(h.initStatus({ 'llm.HostMemPoolConfig': pool }), 'LLM_PARAM_INVALID');
    });

    it.each(GOOD_POOLS)('A28: llm.MemPoolConfig and llm.HostMemPoolConfig %j initialize', (pool) => {
      expectStatus(h.initStatus({ 'llm.MemPoolConfig': pool, 'llm.HostMemPoolConfig': pool }), 'LLM_SUCCESS');
    });

    h.deviation('D13: a pool no device could hold still initializes (nothing is allocated, OUT_OF_MEMORY never comes)', () => {
      expectStatus(h.initStatus({ 'llm.MemPoolConfig': '{"memory_size":1125899906842624,"page_shift":30}' }), 'LLM_SUCCESS');
    });

    it('A28: ge.session_device_id and keys V2 does not know pass through', () => {
      expectStatus(h.initStatus({ 'llm.SomethingNew': 'x', 'ge.session_device_id': 'junk', 'llm.LinkTotalTime': 'x' }), 'LLM_SUCCESS');
    });

    it('A28: llm.ListenIp and llm.ListenPort set directly make the engine listen; a port without an IP is PARAM_INVALID', async () => {
      const address = await h.address();
      const server = await (async (): Promise<Engine> => {
        const clusterId = h.clusterId();
        const handle = h.create(clusterId, LlmRole.kPrompt);
        expectStatus(h.b.LlmDataDist_Initialize(handle, Harness.options({ 'llm.ListenIp': '127.0.0.1', 'llm.ListenPort': String(portOf(address)) })), 'LLM_SUCCESS');
        return { handle, clusterId, address };
      })();
      expectStatus(h.linkTo(h.client(), [Harness.to(server)]).status, 'LLM_SUCCESS');
      expectStatus(h.initStatus({ 'llm.ListenPort': String(portOf(await h.address())) }), 'LLM_PARAM_INVALID');
    });

    h.deviation('D16: dd.* keys are dd\'s own: an unknown one or a bad value is PARAM_INVALID', () => {
      expectStatus(h.initStatus({ 'dd.NoSuchOption': '1' }), 'LLM_PARAM_INVALID');
      for (const value of ['0', '1048577', 'x', '']) expectStatus(h.initStatus({ 'dd.MaxLinks': value }), 'LLM_PARAM_INVALID');
      for (const value of ['1', '1048576']) expectStatus(h.initStatus({ 'dd.MaxLinks': value }), 'LLM_SUCCESS');
    });

    it('B §3.2: a failed Initialize leaves the instance uninitialized', () => {
      const dd = h.create();
      expectStatus(h.b.LlmDataDist_Initialize(dd, Harness.options({ [LISTEN]: '127.0.0.1' })), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_UnregisterKvCache(dd, 1n), 'LLM_FAILED');
      expectStatus(h.b.LlmDataDist_Initialize(dd, Harness.options()), 'LLM_SUCCESS');
    });

  });
}

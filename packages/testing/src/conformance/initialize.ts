import { LlmRole, OptionKey } from '@dd/sys';
import { describe, it } from 'vitest';
import { Harness, expectNotSuccess, expectStatus } from './harness.js';

const BAD_DEVICE_IDS = ['', 'a', '-1', '4294967295', '1;2'];
const BAD_LISTEN_ADDRESSES = ['127.0.0.1', '127.0.1:26000', '256.0.0.1:26000', ':-1', ':', ':a', '127.0.0.1:65536', '[::1]', '[zz::1]:26000'];
const BAD_WAIT_TIMES = ['0', '-1', 'abc', ''];
const BAD_FLAGS = ['2', 'true', ''];

export function describeInitialize(h: Harness): void {
  describe('Initialize options (facts §3.2)', () => {
    it('an invalid role is PARAM_INVALID', () => {
      const dd = h.create(h.clusterId(), LlmRole.kEnd);
      expectStatus(h.b.LlmDataDist_Initialize(dd, Harness.options()), 'LLM_PARAM_INVALID');
    });

    it('llm.DeviceId is required', () => {
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), { [OptionKey.OPTION_SYNC_CACHE_WAIT_TIME]: '100' }), 'LLM_PARAM_INVALID');
    });

    it.each(BAD_DEVICE_IDS)('llm.DeviceId %j is PARAM_INVALID', (deviceId) => {
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), Harness.options({ [OptionKey.OPTION_DEVICE_ID]: deviceId })), 'LLM_PARAM_INVALID');
    });

    it.each(BAD_LISTEN_ADDRESSES)('llm.ListenIpInfo %j is PARAM_INVALID', (listen) => {
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), Harness.options({ [OptionKey.OPTION_LISTEN_IP_INFO]: listen })), 'LLM_PARAM_INVALID');
    });

    it('a failed Initialize leaves the instance uninitialized', () => {
      const dd = h.create();
      expectStatus(h.b.LlmDataDist_Initialize(dd, Harness.options({ [OptionKey.OPTION_LISTEN_IP_INFO]: '127.0.0.1' })), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_UnregisterKvCache(dd, 1n), 'LLM_FAILED');
    });

    it.each(BAD_WAIT_TIMES)('llm.SyncKvCacheWaitTime %j is PARAM_INVALID', (wait) => {
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), Harness.options({ [OptionKey.OPTION_SYNC_CACHE_WAIT_TIME]: wait })), 'LLM_PARAM_INVALID');
    });

    it('llm.SyncKvCacheWaitTime may be left out (1000 ms)', () => {
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), { [OptionKey.OPTION_DEVICE_ID]: '0' }), 'LLM_SUCCESS');
    });

    it.each(BAD_FLAGS)('flag llm.EnableSwitchRole %j is PARAM_INVALID', (flag) => {
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), Harness.options({ [OptionKey.OPTION_ENABLE_SET_ROLE]: flag })), 'LLM_PARAM_INVALID');
    });

    it.each(['0', '1'])('flag llm.EnableSwitchRole %j is accepted', (flag) => {
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), Harness.options({ [OptionKey.OPTION_ENABLE_SET_ROLE]: flag })), 'LLM_SUCCESS');
    });

    it('TransferBackend "hixl" needs llm.ListenIpInfo', async () => {
      const hixl = { [OptionKey.OPTION_TRANSFER_BACKEND]: 'hixl' };
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), Harness.options(hixl)), 'LLM_PARAM_INVALID');
      const listen = { [OptionKey.OPTION_LISTEN_IP_INFO]: await h.address() };
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), Harness.options({ ...hixl, ...listen })), 'LLM_SUCCESS');
    });

    it('an unknown TransferBackend makes Initialize fail', () => {
      expectNotSuccess(h.b.LlmDataDist_Initialize(h.create(), Harness.options({ [OptionKey.OPTION_TRANSFER_BACKEND]: 'carrier-pigeon' })));
    });

    it('keys V2 does not know pass through', () => {
      expectStatus(h.b.LlmDataDist_Initialize(h.create(), Harness.options({ 'llm.SomethingNew': 'x', 'ge.session_device_id': '0' })), 'LLM_SUCCESS');
    });
  });
}

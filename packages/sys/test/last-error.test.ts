// lastError() over the host backend: the detail of the last non-success status names the method once.
import { describe, expect, it } from 'vitest';
import { LlmRole, StatusCode, loadNativeBindings, type Bindings } from '../src/index.js';

const b: Bindings = loadNativeBindings();

describe('the error text', () => {
  it('names the method once although the host backend detail starts with it', () => {
    const r = b.LlmDataDist_create(2n, LlmRole.kDecoder);
    expect(r.status).toBe(StatusCode.LLM_SUCCESS);
    try {
      expect(b.LlmDataDist_Initialize(r.handle, {})).toBe(StatusCode.LLM_PARAM_INVALID);
      expect(b.lastError()).toBe('Initialize: LLM_PARAM_INVALID: option llm.DeviceId is required (e.g. "0")');
    } finally {
      b.LlmDataDist_destroy(r.handle);
    }
  });
});

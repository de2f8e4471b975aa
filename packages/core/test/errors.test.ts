import { describe, expect, it } from 'vitest';
import {
  AclError,
  AggregateLinkError,
  CacheNotFoundError,
  DataDistArgumentError,
  DataDistError,
  EngineClosedError,
  FeatureNotEnabledError,
  LinkError,
  NotLinkedError,
  OutOfMemoryError,
  ParamInvalidError,
  STATUS_TABLE,
  StatusCode,
  TimeoutError,
  isRetryableStatus,
  statusMeaningOf,
  statusNameOf,
} from '../src/index.js';
import { errorFromStatus } from '../src/errors.js';

describe('errors', () => {
  it('maps every status of the table to its family, name and meaning', () => {
    const families: Partial<Record<string, new (...args: never[]) => DataDistError>> = {
      LLM_PARAM_INVALID: ParamInvalidError,
      LLM_NOT_YET_LINK: NotLinkedError,
      LLM_LINK_FAILED: LinkError,
      LLM_ALREADY_LINK: LinkError,
      LLM_EXIST_LINK: LinkError,
      LLM_TIMEOUT: TimeoutError,
      LLM_WAIT_PROC_TIMEOUT: TimeoutError,
      LLM_KV_CACHE_NOT_EXIST: CacheNotFoundError,
      LLM_OUT_OF_MEMORY: OutOfMemoryError,
      LLM_DEVICE_OUT_OF_MEMORY: OutOfMemoryError,
      LLM_FEATURE_NOT_ENABLED: FeatureNotEnabledError,
      LLM_ENGINE_FINALIZED: EngineClosedError,
    };
    for (const row of STATUS_TABLE.filter((r) => r.value !== 0)) {
      const error = errorFromStatus({ status: row.value, operation: 'pullBlocks', nativeMessage: 'PullKvBlocks: detail' });
      expect(error).toBeInstanceOf(families[row.name] ?? DataDistError);
      expect(error.statusName).toBe(row.name);
      expect(error.status).toBe(row.value >>> 0);
      expect(error.operation).toBe('pullBlocks');
      expect(error.nativeMessage).toBe('PullKvBlocks: detail');
      expect(error.name).toBe(error.constructor.name);
      expect(error.message).toContain(row.name);
      expect(error.message).toContain(row.meaning);
      expect(error.message).toContain('PullKvBlocks: detail');
    }
  });

  it('marks as retryable exactly the codes callers retry in practice', () => {
    const retryable = STATUS_TABLE.filter((r) => isRetryableStatus(r.value)).map((r) => r.name);
    expect(retryable.sort()).toEqual(
      [
        'LLM_REPEAT_REQUEST',
        'LLM_CLUSTER_NUM_EXCEED_LIMIT',
        'LLM_PROCESSING_LINK',
        'LLM_DEVICE_OUT_OF_MEMORY',
        'LLM_TIMEOUT',
        'LLM_WAIT_PROC_TIMEOUT',
        'LLM_LINK_BUSY',
      ].sort(),
    );
    expect(errorFromStatus({ status: StatusCode.LLM_TIMEOUT, operation: 'pullCache' }).retryable).toBe(true);
    expect(errorFromStatus({ status: StatusCode.LLM_PARAM_INVALID, operation: 'pullCache' }).retryable).toBe(false);
  });

  it('keeps codes from outside the table (ACL/HCCL leaks) as UNKNOWN_STATUS', () => {
    const error = errorFromStatus({ status: 507053, operation: 'link' });
    expect(error.constructor).toBe(DataDistError);
    expect(error.statusName).toBe('UNKNOWN_STATUS');
    expect(error.message).toContain('0x0007bcad');
    expect(statusNameOf(-1)).toBe('LLM_FAILED');
  });

  it('an ACL code an LLM-DataDist call passes through (A27) is an AclError named after the code', () => {
    const error = errorFromStatus({ status: 207001, operation: 'pullBlocks', nativeMessage: 'PullKvBlocks: 207001' });
    expect(error).toBeInstanceOf(AclError);
    expect(error).toMatchObject({ status: 207001, statusName: 'ACL_ERROR_RT_MEMORY_ALLOCATION', aclFunction: undefined, retryable: false });
    expect(error.message).toBe('pullBlocks failed with ACL_ERROR_RT_MEMORY_ALLOCATION (207001). Native: PullKvBlocks: 207001');
    expect(statusNameOf(0)).toBe('LLM_SUCCESS');
    expect(statusNameOf(100000)).toBe('ACL_ERROR_INVALID_PARAM');
    expect(statusMeaningOf(107000)).toBe('An ACL runtime error code (AclStatusCode).');
  });

  it('argument errors carry LLM_PARAM_INVALID, the argument and the rule', () => {
    const error = new DataDistArgumentError('pullBlocks', 'srcBlocks[2]', 'must be an integer', '1.5');
    expect(error).toBeInstanceOf(ParamInvalidError);
    expect(error).toMatchObject({ status: StatusCode.LLM_PARAM_INVALID, argument: 'srcBlocks[2]', rule: 'must be an integer', nativeMessage: '' });
    expect(error.message).toBe('pullBlocks: `srcBlocks[2]` must be an integer; got 1.5');
  });

  it('aggregate link errors list every failed cluster', () => {
    const failure = { clusterId: 3n, error: errorFromStatus({ status: StatusCode.LLM_LINK_FAILED, operation: 'link' }) };
    const error = new AggregateLinkError('link', StatusCode.LLM_LINK_FAILED, [failure], [1n, 2n]);
    expect(error).toBeInstanceOf(LinkError);
    expect(error.message).toBe('link failed for 1 of 3 clusters (cluster 3: LLM_LINK_FAILED)');
    expect(error.failures).toEqual([failure]);
    expect(error.succeeded).toEqual([1n, 2n]);
  });
});

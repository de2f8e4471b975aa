// Type-level proof that the generated @dd/sys surface keeps every name and type of the contract
// placeholder (placeholder-api.ts, the hand-written file other packages were built against).
// Checked by `tsc` in contract.test.ts; a mismatch is a compile error.
import type * as Placeholder from './placeholder-api.js';
import type * as Generated from '../../../../packages/sys/src/generated/index.js';

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

/** Every export of the placeholder exists in the generated module. */
export type EveryName = Assert<Mutual<Exclude<keyof typeof Placeholder, keyof typeof Generated>, never>>;

export type Values = [
  Assert<Same<typeof Placeholder.LlmRole, typeof Generated.LlmRole>>,
  Assert<Same<typeof Placeholder.CachePlacement, typeof Generated.CachePlacement>>,
  Assert<Same<typeof Placeholder.DataType, typeof Generated.DataType>>,
  Assert<Same<typeof Placeholder.DATA_TYPE_ELEMENT_BITS, typeof Generated.DATA_TYPE_ELEMENT_BITS>>,
  Assert<Same<typeof Placeholder.StatusCode, typeof Generated.StatusCode>>,
  Assert<Same<typeof Placeholder.STATUS_TABLE, typeof Generated.STATUS_TABLE>>,
  Assert<Same<typeof Placeholder.OptionKey, typeof Generated.OptionKey>>,
  Assert<Same<typeof Placeholder.kDefaultTensorNumPerLayer, typeof Generated.kDefaultTensorNumPerLayer>>,
  Assert<Same<typeof Placeholder.makeIpInfo, typeof Generated.makeIpInfo>>,
  Assert<Same<typeof Placeholder.makeClusterInfo, typeof Generated.makeClusterInfo>>,
  Assert<Same<typeof Placeholder.makeCacheIndex, typeof Generated.makeCacheIndex>>,
  Assert<Same<typeof Placeholder.makeCacheDesc, typeof Generated.makeCacheDesc>>,
  Assert<Same<typeof Placeholder.makeCache, typeof Generated.makeCache>>,
  Assert<Same<typeof Placeholder.makeKvCacheExtParam, typeof Generated.makeKvCacheExtParam>>,
];

export type Types = [
  Assert<Mutual<Placeholder.Status, Generated.Status>>,
  Assert<Mutual<Placeholder.StatusName, Generated.StatusName>>,
  Assert<Mutual<Placeholder.LlmDataDistHandle, Generated.LlmDataDistHandle>>,
  Assert<Same<Placeholder.LlmRole, Generated.LlmRole>>,
  Assert<Same<Placeholder.CachePlacement, Generated.CachePlacement>>,
  Assert<Same<Placeholder.DataType, Generated.DataType>>,
  Assert<Mutual<Placeholder.IpInfo, Generated.IpInfo>>,
  Assert<Mutual<Placeholder.ClusterInfo, Generated.ClusterInfo>>,
  Assert<Mutual<Placeholder.CacheIndex, Generated.CacheIndex>>,
  Assert<Mutual<Placeholder.CacheDesc, Generated.CacheDesc>>,
  Assert<Mutual<Placeholder.Cache, Generated.Cache>>,
  Assert<Mutual<Placeholder.KvCacheExtParam, Generated.KvCacheExtParam>>,
  Assert<Mutual<Placeholder.RegisterCfg, Generated.RegisterCfg>>,
  Assert<Mutual<Placeholder.StatusWithRets, Generated.StatusWithRets>>,
  Assert<Mutual<Placeholder.LlmDataDistBindings, Generated.LlmDataDistBindings>>,
];

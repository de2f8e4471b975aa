import type { Cache, CacheDesc, CacheIndex, ClusterInfo, KvCacheExtParam } from '@dd/sys';

/*
 * The mechanical checks @dd/sys makes before a value reaches koffi (bindings contract §2): C
 * integer ranges and typed-array kinds, thrown as RangeError/TypeError. The fake makes the same
 * ones, so code that passes on the fake does not throw on a native backend.
 */

function integer(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} ${value} is not an integer in [${min}, ${max}]`);
}

export const uint8 = (name: string, value: unknown): void => integer(name, value, 0, 0xff);
export const uint16 = (name: string, value: unknown): void => integer(name, value, 0, 0xffff);
export const int32 = (name: string, value: unknown): void => integer(name, value, -0x80000000, 0x7fffffff);
export const uint32 = (name: string, value: unknown): void => integer(name, value, 0, 0xffffffff);

function big(name: string, value: unknown, min: bigint, max: bigint): void {
  if (typeof value !== 'bigint') throw new TypeError(`${name} must be a bigint, got ${typeof value}`);
  if (value < min || value > max) throw new RangeError(`${name} ${value} is out of range [${min}, ${max}]`);
}

export const uint64 = (name: string, value: unknown): void => big(name, value, 0n, (1n << 64n) - 1n);
export const int64 = (name: string, value: unknown): void => big(name, value, -(1n << 63n), (1n << 63n) - 1n);

export function bigUint64Array(name: string, value: unknown): void {
  if (!(value instanceof BigUint64Array)) throw new TypeError(`${name} must be a BigUint64Array`);
}

/** C strings end at the first NUL, so a JS string with one would be cut short silently. */
export function cString(name: string, value: unknown): void {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string`);
  if (value.includes('\0')) throw new RangeError(`${name} must not contain a NUL character`);
}

export function stringMap(name: string, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${name} must be an object of strings`);
  for (const [key, entry] of Object.entries(value)) {
    cString(`${name} key`, key);
    cString(`${name}["${key}"]`, entry);
  }
}

export function clusterInfos(name: string, value: unknown): asserts value is readonly ClusterInfo[] {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of ClusterInfo`);
  value.forEach((cluster: ClusterInfo, index) => {
    uint64(`${name}[${index}].remote_cluster_id`, cluster.remote_cluster_id);
    int32(`${name}[${index}].remote_role_type`, cluster.remote_role_type);
    for (const field of ['local_ip_infos', 'remote_ip_infos'] as const) {
      const infos: unknown = cluster[field];
      if (!Array.isArray(infos)) throw new TypeError(`${name}[${index}].${field} must be an array of IpInfo`);
      infos.forEach((info: { ip: unknown; port: unknown }, at) => {
        cString(`${name}[${index}].${field}[${at}].ip`, info.ip);
        uint16(`${name}[${index}].${field}[${at}].port`, info.port);
      });
    }
  });
}

export function cacheDesc(name: string, desc: CacheDesc): void {
  uint32(`${name}.placement`, desc.placement);
  uint32(`${name}.num_tensors`, desc.num_tensors);
  int32(`${name}.data_type`, desc.data_type);
  if (!(desc.shape instanceof BigInt64Array)) throw new TypeError(`${name}.shape must be a BigInt64Array`);
}

export function cache(name: string, value: Cache): void {
  int64(`${name}.cache_id`, value.cache_id);
  bigUint64Array(`${name}.tensor_addrs`, value.tensor_addrs);
  cacheDesc(`${name}.cache_desc`, value.cache_desc);
}

export function cacheIndex(name: string, value: CacheIndex): void {
  uint64(`${name}.cluster_id`, value.cluster_id);
  int64(`${name}.cache_id`, value.cache_id);
  uint32(`${name}.batch_index`, value.batch_index);
}

export function extParam(name: string, value: KvCacheExtParam): void {
  for (const field of ['src_layer_range', 'dst_layer_range'] as const) {
    const pair: unknown = value[field];
    if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`${name}.${field} must be a [first, second] pair`);
    const [first, second] = value[field];
    int32(`${name}.${field}[0]`, first);
    int32(`${name}.${field}[1]`, second);
  }
  uint8(`${name}.tensor_num_per_layer`, value.tensor_num_per_layer);
}

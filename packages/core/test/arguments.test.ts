import { describe, expect, it } from 'vitest';
import { DataDistArgumentError, DataType, LlmDataDist, StatusCode, type KvCache } from '../src/index.js';
import { backends, freePort } from './backends.js';
import { recordingBindings, smallCache } from './harness.js';

interface Context {
  readonly engine: LlmDataDist;
  readonly other: LlmDataDist;
  /** 4 host tensors × 8 blocks of 64 bytes (2 layers). */
  readonly cache: KvCache;
  /** The same geometry, placed on 'device'. */
  readonly deviceCache: KvCache;
  /** 3 tensors, 2 per layer: layer ranges cannot apply. */
  readonly oddCache: KvCache;
  readonly otherCache: KvCache;
  readonly port: number;
}

type Case = readonly [name: string, argument: string, call: (c: Context) => unknown];

const remote = { clusterId: 1n, cacheId: 1n };
const peer = (port: number) => ({ clusterId: 1n, remote: { ip: '127.0.0.1', port } });
const base = { clusterId: 5n, role: 'decoder' } as const;
const descOf = (extra: object) => ({ desc: { placement: 'host', dataType: DataType.DT_INT32, shape: [8, 16], ...extra }, tensors: [new Uint8Array(512)] });
const blocks = (c: Context, extra: object) => c.engine.pullBlocks({ from: remote, into: c.cache, srcBlocks: [0], dstBlocks: [0], ...extra });
// Casts below feed deliberately ill-typed values, as JavaScript callers can.
const create = (options: object) => LlmDataDist.create(options as Parameters<typeof LlmDataDist.create>[0]);
const register = (c: Context, options: object) => c.engine.registerCache(options as Parameters<LlmDataDist['registerCache']>[0]);

const cases: readonly Case[] = [
  ['negative cluster id', 'options.clusterId', () => create({ ...base, clusterId: -1 })],
  ['fractional cluster id', 'options.clusterId', () => create({ ...base, clusterId: 1.5 })],
  ['unsafe-integer cluster id', 'options.clusterId', () => create({ ...base, clusterId: 2 ** 53 })],
  ['cluster id of 2^64', 'options.clusterId', () => create({ ...base, clusterId: 2n ** 64n })],
  ['cluster id as a string', 'options.clusterId', () => create({ ...base, clusterId: '1' })],
  ['unknown role', 'options.role', () => create({ ...base, role: 'leader' })],
  ['negative device id', 'options.deviceId', () => create({ ...base, deviceId: -1 })],
  ['fractional device id', 'options.deviceId', () => create({ ...base, deviceId: 0.5 })],
  ['listen port out of range', 'options.listen.port', () => create({ ...base, listen: { ip: '127.0.0.1', port: 70000 } })],
  ['listen host name', 'options.listen.ip', () => create({ ...base, listen: { ip: 'localhost', port: 1 } })],
  ['zero sync timeout', 'options.syncTimeoutMs', () => create({ ...base, syncTimeoutMs: 0 })],
  ['extra option repeating a typed one', 'options.extraOptions["llm.DeviceId"]', () => create({ ...base, extraOptions: { 'llm.DeviceId': '1' } })],
  ['extra option that is not a string', 'options.extraOptions["llm.X"]', () => create({ ...base, extraOptions: { 'llm.X': 1 } })],
  ['extra option value with a NUL', 'options.extraOptions["llm.X"]', () => create({ ...base, extraOptions: { 'llm.X': 'a\0b' } })],
  ['extra option key with a NUL', 'options.extraOptions["llm.\\u0000X"] (its key)', () => create({ ...base, extraOptions: { 'llm.\0X': '1' } })],
  ['empty extra option key', 'options.extraOptions[""] (its key)', () => create({ ...base, extraOptions: { '': '1' } })],
  ['an option key with a typo', 'options.syncTimeoutMS', () => create({ ...base, syncTimeoutMS: 100 })],
  ['an option key that is no option', 'options.colour', () => create({ ...base, colour: 'red' })],
  ['maxLinks of 0', 'options.maxLinks', () => create({ ...base, maxLinks: 0 })],
  ['localCommResources JSON cannot hold', 'options.localCommResources', () => create({ ...base, localCommResources: { version: 1n } })],
  ['a host cache too large for JS memory (2 TiB)', 'desc.shape', (c) => c.engine.registerHostCache({ placement: 'host', dataType: DataType.DT_UINT8, shape: [2048, 2 ** 30], numTensors: 1 })],
  ['bindings that are not Bindings', 'options.bindings', () => create({ ...base, bindings: {} })],

  ['unknown role in setRole', 'role', (c) => c.engine.setRole('leader' as 'prompt')],
  ['listen port 0 in setRole', 'options.listen.port', (c) => c.engine.setRole('prompt', { listen: { ip: '127.0.0.1', port: 0 } })],

  ['no clusters to link', 'peers', (c) => c.engine.linkClusters([])],
  ['negative remote cluster id', 'peers.clusterId', (c) => c.engine.linkClusters({ ...peer(c.port), clusterId: -2 })],
  ['IPv6 remote address', 'peers.remote.ip', (c) => c.engine.linkClusters({ clusterId: 1n, remote: { ip: '::1', port: c.port } })],
  ['zero link timeout', 'options.timeoutMs', (c) => c.engine.linkClusters(peer(c.port), { timeoutMs: 0 })],
  ['fractional link timeout', 'options.timeoutMs', (c) => c.engine.linkClusters(peer(c.port), { timeoutMs: 1.5 })],
  ['duplicate clusters in one call', 'peers[1].clusterId', (c) => c.engine.linkClusters([peer(c.port), peer(c.port)])],
  ['signal that is not an AbortSignal', 'options.signal', (c) => c.engine.linkClusters(peer(c.port), { signal: 'stop' as unknown as AbortSignal })],
  ['unlink of a cluster never linked', 'targets', (c) => c.engine.unlinkClusters(9n)],
  ['non-boolean force', 'options.force', (c) => c.engine.unlinkClusters(9n, { force: 'yes' as unknown as boolean })],

  ['more than 240 addresses', 'tensors', (c) => register(c, { desc: { placement: 'host', dataType: DataType.DT_UINT8, shape: [1] }, tensors: Array.from({ length: 241 }, () => new Uint8Array(1)) })],
  ['both tensors and addresses', 'options', (c) => register(c, { ...descOf({}), addresses: [1n] })],
  ['tensor smaller than its shape', 'tensors[0]', (c) => register(c, { ...descOf({}), tensors: [new Uint8Array(511)] })],
  ['tensor that is not memory', 'tensors[0]', (c) => register(c, { ...descOf({}), tensors: ['bytes'] })],
  ['empty shape', 'desc.shape', (c) => register(c, descOf({ shape: [] }))],
  ['zero dimension', 'desc.shape[0]', (c) => register(c, descOf({ shape: [0, 4] }))],
  ['fractional dimension', 'desc.shape[1]', (c) => register(c, descOf({ shape: [8, 1.5] }))],
  ['unknown data type', 'desc.dataType', (c) => register(c, descOf({ dataType: 999 }))],
  ['unknown placement', 'desc.placement', (c) => register(c, descOf({ placement: 'gpu' }))],
  ['numTensors not matching the buffers', 'desc.numTensors', (c) => register(c, descOf({ numTensors: 2 }))],
  ['zero tensors per layer', 'desc.tensorsPerLayer', (c) => register(c, descOf({ tensorsPerLayer: 0 }))],
  ['address 0', 'addresses[0]', (c) => register(c, { desc: { placement: 'host', dataType: DataType.DT_INT8, shape: [1] }, addresses: [0n] })],
  ['negative address', 'addresses[0]', (c) => register(c, { desc: { placement: 'host', dataType: DataType.DT_INT8, shape: [1] }, addresses: [-1] })],

  ['pull from its own cluster', 'from.clusterId', (c) => c.engine.pullBlocks({ from: { clusterId: 5n, cacheId: 1n }, into: c.cache, srcBlocks: [0], dstBlocks: [0] })],
  ['negative remote cache id', 'from.cacheId', (c) => blocks(c, { from: { clusterId: 1n, cacheId: -1 } })],
  ['remote cache id of 2^63', 'from.cacheId', (c) => blocks(c, { from: { clusterId: 1n, cacheId: 2n ** 63n } })],
  ['destination that is not a KvCache', 'into', (c) => blocks(c, { into: {} })],
  ["another engine's cache", 'into', (c) => blocks(c, { into: c.otherCache })],
  ['empty block list', 'srcBlocks', (c) => blocks(c, { srcBlocks: [] })],
  ['block list of the wrong type', 'srcBlocks', (c) => blocks(c, { srcBlocks: 'abc' })],
  ['negative block index', 'srcBlocks[0]', (c) => blocks(c, { srcBlocks: [-1] })],
  ['fractional block index', 'srcBlocks[0]', (c) => blocks(c, { srcBlocks: [1.5] })],
  ['unsafe-integer block index', 'srcBlocks[0]', (c) => blocks(c, { srcBlocks: [2 ** 53] })],
  ['local block index out of range', 'dstBlocks[1]', (c) => blocks(c, { srcBlocks: [0, 1], dstBlocks: [0, 8] })],
  ['mismatched block list lengths', 'dstBlocks', (c) => blocks(c, { srcBlocks: [0, 1], dstBlocks: [0] })],
  ['layer range past the last layer', 'layers.end', (c) => blocks(c, { layers: { start: 0, end: 3 } })],
  ['empty layer range', 'layers.end', (c) => blocks(c, { layers: { start: 1, end: 1 } })],
  ['negative layer start', 'layers.start', (c) => blocks(c, { layers: { start: -1, end: 1 } })],
  ['remote range of another length', 'remoteLayers', (c) => blocks(c, { layers: { start: 0, end: 1 }, remoteLayers: { start: 0, end: 2 } })],
  ['remote range without a local one', 'layers', (c) => blocks(c, { remoteLayers: { start: 0, end: 1 } })],
  ['layer range on a cache without whole layers', 'layers', (c) => blocks(c, { into: c.oddCache, layers: { start: 0, end: 1 } })],
  ['negative per-call timeout', 'timeoutMs', (c) => blocks(c, { timeoutMs: -5 })],
  ['row past the last', 'batchIndex', (c) => c.engine.pullCache({ from: remote, into: c.cache, batchIndex: 8 })],
  ['zero size', 'size', (c) => c.engine.pullCache({ from: remote, into: c.cache, size: 0 })],
  ['size beyond a row', 'size', (c) => c.engine.pullCache({ from: remote, into: c.cache, size: 65 })],
  ['negative remote row', 'from.batchIndex', (c) => c.engine.pullCache({ from: { ...remote, batchIndex: -1 }, into: c.cache })],
  ['push source block out of range', 'srcBlocks[0]', (c) => c.engine.pushBlocks({ from: c.deviceCache, to: remote, srcBlocks: [8], dstBlocks: [0] })],
  ['push from a host cache', 'from', (c) => c.engine.pushCache({ from: c.cache, to: remote })],
  ['tensor view out of range', 'index', (c) => c.cache.tensor(4)],
  ['block view out of range', 'block', (c) => c.cache.block(0, 8)],
];

describe('option keys', () => {
  it('an unknown key names the closest known one', () => {
    const error = (() => {
      try {
        create({ ...base, syncTimeoutMS: 100 });
      } catch (e) {
        return e as DataDistArgumentError;
      }
      throw new Error('expected a DataDistArgumentError');
    })();
    expect(error.message).toContain('did you mean `syncTimeoutMs`?');
  });
});

describe.each(backends)('argument checks over the $name backend', (backend) => {
  it.each(cases)('%s → DataDistArgumentError naming `%s`, before native code', async (_name, argument, call) => {
    const rec = recordingBindings(backend.newBindings());
    const engine = LlmDataDist.create({ clusterId: 5n, role: 'decoder', listen: { ip: '127.0.0.1', port: await freePort() }, bindings: rec.bindings });
    const other = LlmDataDist.create({ clusterId: 6n, role: 'decoder', bindings: rec.bindings });
    const context: Context = {
      engine,
      other,
      cache: smallCache(engine),
      deviceCache: smallCache(engine, 4, 8, 'device'),
      oddCache: smallCache(engine, 3),
      otherCache: smallCache(other),
      port: await freePort(),
    };
    const before = rec.calls.length;
    let caught: unknown;
    try {
      await call(context);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DataDistArgumentError);
    const error = caught as DataDistArgumentError;
    expect(error.argument).toBe(argument);
    expect(error.status).toBe(StatusCode.LLM_PARAM_INVALID);
    expect(error.statusName).toBe('LLM_PARAM_INVALID');
    expect(error.message).toContain(`\`${argument}\``);
    expect(error.message).toContain(error.rule);
    expect(rec.calls.length - before).toBe(0);
    engine.close({ force: true });
    other.close({ force: true });
  });
});

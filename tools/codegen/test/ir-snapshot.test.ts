// The IR of headers/ is committed (ir/headers.ir.json) and must equal a fresh parse; the facts the
// bindings depend on are asserted explicitly so a snapshot update cannot hide a regression.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultConfigPath, loadConfig } from '../src/config.js';
import { generate, type GenerateResult } from '../src/generate.js';
import type { IrDocument } from '../src/ir.js';
import { codegenRoot, headersDir } from './helpers.js';

let result: GenerateResult;
let ir: IrDocument;

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath(codegenRoot));
  result = await generate({ headersDir, headersDisplay: 'headers', config, configName: 'codegen.config.json' });
  ir = result.ir;
}, 60_000);

const enumValues = (name: string): Record<string, number> =>
  Object.fromEntries(ir.enums.find((e) => e.qualifiedName === name)!.enumerators.map((e) => [e.name, Number(e.value)]));

describe('IR of headers/', () => {
  it('equals the committed snapshot byte for byte', () => {
    expect(result.outputs.ir).toBe(readFileSync(join(codegenRoot, 'ir/headers.ir.json'), 'utf8'));
  });

  it('reads every header, entry headers first-class and their includes as dependencies', () => {
    expect(ir.inputs.map((i) => `${i.role}:${i.path}`)).toEqual([
      'dependency:ge/ge_error_codes.h',
      'dependency:graph/ascend_string.h',
      'dependency:graph/types.h',
      'entry:llm_datadist/llm_error_codes.h',
      'entry:llm_datadist/llm_datadist.h',
      'entry:llm_datadist/llm_engine_types.h',
      'entry:acl/acl_base_rt.h',
      'entry:acl/error_codes/rt_error_codes.h',
      'entry:acl/acl_rt.h',
      'entry:dd/link_health.h',
    ]);
    expect(ir.unresolvedIncludes).toEqual([]);
    expect(ir.diagnostics).toEqual([]);
  });

  it('classifies every namespace-scope line: nothing unclassified, no variables, and the macros read (guards, export macros)', () => {
    expect(ir.unclassified).toEqual([]);
    expect(ir.variables).toEqual([]);
    expect(ir.macros.map((m) => m.name)).toEqual([
      'DD_HEADERS_LLM_DATADIST_LLM_DATADIST_H_',
      'DD_HEADERS_GE_GE_ERROR_CODES_H_',
      'DD_HEADERS_GRAPH_ASCEND_STRING_H_',
      'GE_FUNC_VISIBILITY',
      'DD_HEADERS_GRAPH_TYPES_H_',
      'DD_HEADERS_LLM_DATADIST_LLM_ERROR_CODES_H_',
      'LLM_DATADIST_API',
      'DD_HEADERS_LLM_DATADIST_LLM_ENGINE_TYPES_H_',
      'DD_HEADERS_ACL_ACL_BASE_RT_H_',
      'ACL_FUNC_VISIBILITY',
      'DD_HEADERS_ACL_ACL_RT_H_',
      'DD_HEADERS_ACL_ERROR_CODES_RT_ERROR_CODES_H_',
      'ACL_ERROR_RT_PARAM_INVALID',
      'ACL_ERROR_RT_INVALID_DEVICEID',
      'ACL_ERROR_RT_MEMORY_ALLOCATION',
      'ACL_ERROR_RT_DEV_SETUP_ERROR',
      'DD_HEADERS_DD_LINK_HEALTH_H_',
      'DD_EXTENSION_API',
      'DD_LINK_STATE_UNKNOWN',
      'DD_LINK_STATE_UP',
      'DD_LINK_STATE_BROKEN',
      'DD_LINK_STATE_ABSENT',
    ]);
    expect(ir.constants.filter((c) => c.macro !== undefined)).toEqual([]);
  });

  it('reads object-like macros with integer bodies as constants of the global namespace, and nothing else', () => {
    expect(ir.constants.filter((c) => c.define).map((c) => [c.qualifiedName, c.value.kind === 'integer' ? c.value.value : null, c.type.text, c.file])).toEqual([
      ['ACL_ERROR_RT_PARAM_INVALID', '107000', 'int', 'acl/error_codes/rt_error_codes.h'],
      ['ACL_ERROR_RT_INVALID_DEVICEID', '107001', 'int', 'acl/error_codes/rt_error_codes.h'],
      ['ACL_ERROR_RT_MEMORY_ALLOCATION', '207001', 'int', 'acl/error_codes/rt_error_codes.h'],
      ['ACL_ERROR_RT_DEV_SETUP_ERROR', '507033', 'int', 'acl/error_codes/rt_error_codes.h'],
      ['DD_LINK_STATE_UNKNOWN', '0', 'int', 'dd/link_health.h'],
      ['DD_LINK_STATE_UP', '1', 'int', 'dd/link_health.h'],
      ['DD_LINK_STATE_BROKEN', '2', 'int', 'dd/link_health.h'],
      ['DD_LINK_STATE_ABSENT', '3', 'int', 'dd/link_health.h'],
    ]);
    expect(ir.constants.find((c) => c.name === 'ACL_ERROR_RT_INVALID_DEVICEID')!.doc).toBe('The device id is out of range.');
  });

  it('binds the ACL memory functions of headers/acl as group Acl, with their C shapes', () => {
    expect(ir.coverage.filter((c) => c.kind === 'function').map((c) => [c.name, c.status, c.as])).toEqual(
      ['aclInit', 'aclFinalize', 'aclrtSetDevice', 'aclrtResetDevice', 'aclrtGetDeviceCount', 'aclrtMalloc', 'aclrtFree', 'aclrtMallocHost', 'aclrtFreeHost', 'aclrtMemcpy', 'aclrtMemset', 'ddLinkStates', 'ddLinkBreakCause'].map((f) => [f, 'bound', `dd_${f}`]),
    );
    const group = result.api.functionGroups.find((g) => g.name === 'Acl')!;
    expect([group.statusType, group.scalar, group.statusGroup.name, group.success.name, group.paramInvalid.name]).toEqual(['aclError', 'int32', 'AclStatusCode', 'ACL_SUCCESS', 'ACL_ERROR_INVALID_PARAM']);
    const shape = (name: string) =>
      group.functions.find((f) => f.name === name)!.params.map((p) => `${p.direction} ${p.name}:${p.type.kind === 'scalar' ? `${p.type.scalar}${p.type.address ? ' address' : ''}` : p.type.kind === 'string' ? `string${p.type.nullable ? '|null' : ''}` : p.type.kind === 'enum' ? p.type.enum.name : p.type.kind}${p.byPointer ? ' *' : ''}`);
    expect(shape('aclInit')).toEqual(['in configPath:string|null']);
    expect(shape('aclrtGetDeviceCount')).toEqual(['out count:uint32 *']);
    expect(shape('aclrtMalloc')).toEqual(['out devPtr:uintptr address *', 'in size:size', 'in policy:aclrtMemMallocPolicy']);
    expect(shape('aclrtMemcpy')).toEqual(['in dst:uintptr address', 'in destMax:size', 'in src:uintptr address', 'in count:size', 'in kind:aclrtMemcpyKind']);
    expect(enumValues('aclrtMemMallocPolicy')).toMatchObject({ ACL_MEM_MALLOC_HUGE_ONLY: 1, ACL_MEM_MALLOC_HUGE1G_ONLY_P2P: 7, ACL_MEM_TYPE_LOW_BAND_WIDTH: 0x100, ACL_MEM_ACCESS_USER_SPACE_READONLY: 0x100000 });
    expect(enumValues('aclrtMemcpyKind')).toMatchObject({ ACL_MEMCPY_HOST_TO_HOST: 0, ACL_MEMCPY_INTER_DEVICE_TO_DEVICE: 7 });
  });

  it('binds dd\'s link-health extension (headers/extensions/dd) as group LinkHealth, with the LLM status table', () => {
    const group = result.api.functionGroups.find((g) => g.name === 'LinkHealth')!;
    expect([group.statusType, group.scalar, group.statusGroup.name, group.success.name, group.paramInvalid.name]).toEqual(['ddStatus', 'uint32', 'StatusCode', 'LLM_SUCCESS', 'LLM_PARAM_INVALID']);
    const shape = (name: string) =>
      group.functions.find((f) => f.name === name)!.params.map((p) => `${p.direction} ${p.name}:${p.type.kind === 'scalar' ? `${p.type.scalar}${p.type.address ? ' address' : ''}` : p.type.kind}${p.byPointer ? ' *' : ''}`);
    expect(shape('ddLinkStates')).toEqual(['in engine:uintptr address', 'in cluster_ids:uintptr address', 'in states:uintptr address', 'in count:size']);
    expect(shape('ddLinkBreakCause')).toEqual(['in engine:uintptr address', 'in cluster_id:uint64', 'in text:uintptr address', 'in capacity:size', 'out length:size *']);
    expect(result.api.groups.find((g) => g.name === 'LinkState')!.members.map((m) => [m.name, Number(m.value)])).toEqual([
      ['DD_LINK_STATE_UNKNOWN', 0],
      ['DD_LINK_STATE_UP', 1],
      ['DD_LINK_STATE_BROKEN', 2],
      ['DD_LINK_STATE_ABSENT', 3],
    ]);
  });

  it('computes enumerator values the header leaves implicit', () => {
    expect(enumValues('llm_datadist::LlmRole')).toEqual({ kPrompt: 1, kDecoder: 2, kMix: 3, kEnd: 4 });
    expect(enumValues('ge::DataType')).toMatchObject({ DT_UINT8: 4, DT_INT16: 6, DT_UNDEFINED: 28, DT_FLOAT4_E1M2: 41, DT_MAX: 44 });
    const role = ir.enums.find((e) => e.name === 'LlmRole')!;
    expect([role.scoped, role.underlying?.name]).toEqual([true, 'int32_t']);
    expect(ir.enums.find((e) => e.name === 'DataType')!.scoped).toBe(false);
  });

  it('records aliases, using-declarations and constants with their evaluated values', () => {
    expect(ir.aliases.map((a) => `${a.qualifiedName}=${a.target.text}`)).toEqual(['ge::Status=uint32_t', 'llm_datadist::Status=ge::Status', 'llm_datadist::AscendString=ge::AscendString', 'aclError=int', 'ddStatus=uint32_t']);
    expect(ir.usings.length).toBe(42);
    expect(ir.usings[0]).toMatchObject({ namespace: 'llm_datadist', target: 'ge::DataType' });
    const constant = (q: string) => ir.constants.find((c) => c.qualifiedName === q)!;
    expect(constant('llm_datadist::LLM_FAILED').value).toMatchObject({ kind: 'integer', value: '4294967295' });
    expect(constant('llm_datadist::LLM_FAILED').doc).toBe('The call failed for an unspecified reason (also: any call before Initialize).');
    expect(constant('llm_datadist::OPTION_DEVICE_ID')).toMatchObject({ array: true, value: { kind: 'string', value: 'llm.DeviceId' } });
    expect(constant('llm_datadist::kDefaultTensorNumPerLayer').value).toMatchObject({ kind: 'integer', value: '2' });
  });

  it('records struct fields with types, array sizes and defaults', () => {
    const fields = (name: string) => ir.structs.find((s) => s.name === name)!.fields;
    expect(fields('KvCacheExtParam').map((f) => [f.name, f.type.text, f.arraySize ?? null, f.default?.text ?? null])).toEqual([
      ['src_layer_range', 'std::pair<int32_t, int32_t>', null, '{-1, -1}'],
      ['dst_layer_range', 'std::pair<int32_t, int32_t>', null, '{-1, -1}'],
      ['tensor_num_per_layer', 'uint8_t', null, 'kDefaultTensorNumPerLayer'],
      ['reserved', 'uint8_t', 127, null],
    ]);
    expect(fields('KvCacheExtParam')[2]!.default).toMatchObject({ kind: 'integer', value: '2', symbol: 'llm_datadist::kDefaultTensorNumPerLayer' });
    expect(fields('CacheDesc')[0]!.default).toMatchObject({ kind: 'enumerator', enum: 'llm_datadist::CachePlacement', name: 'kDevice', value: '1' });
    expect(fields('CacheDesc')[2]!.default).toMatchObject({ kind: 'enumerator', enum: 'ge::DataType', name: 'DT_UNDEFINED', value: '28' });
  });

  it('records methods with parameter directions and defaults, and the pimpl member', () => {
    const cls = ir.classes.find((c) => c.qualifiedName === 'llm_datadist::LlmDataDist')!;
    const link = cls.methods.find((m) => m.name === 'LinkLlmClusters')!;
    expect(link.params.map((p) => [p.name, p.type.text, p.type.const ?? false, p.type.reference ?? null, p.direction, p.default?.text ?? null])).toEqual([
      ['clusters', 'std::vector<ClusterInfo>', true, 'lvalue', 'in', null],
      ['rets', 'std::vector<Status>', false, 'lvalue', 'out', null],
      ['timeout_in_millis', 'int32_t', false, null, 'in', '1000'],
    ]);
    const setRole = cls.methods.find((m) => m.name === 'SetRole')!;
    expect(setRole.params[1]!.default).toMatchObject({ kind: 'list', items: [] });
    expect(cls.methods.filter((m) => m.deleted).map((m) => m.kind)).toEqual(['constructor', 'operator']);
    expect(cls.members.map((m) => `${m.name}:${m.type.text}`)).toEqual(['impl_:std::unique_ptr<LlmDataDistImpl>']);
  });

  it('lists every method and constant of the entry headers as bound or skipped with a reason', () => {
    const methods = ir.coverage.filter((c) => c.kind === 'method' || c.kind === 'constructor' || c.kind === 'destructor');
    expect(methods.filter((m) => m.status === 'bound').map((m) => m.as)).toEqual([
      'dd_LlmDataDist_create',
      'dd_LlmDataDist_destroy',
      ...['Initialize', 'Finalize', 'SetRole', 'LinkLlmClusters', 'UnlinkLlmClusters', 'AllocateCache', 'DeallocateCache', 'PullKvCache', 'PullKvBlocks', 'CopyKvCache', 'CopyKvBlocks', 'PushKvCache', 'PushKvBlocks', 'RegisterKvCache', 'UnregisterKvCache'].map((m) => `dd_LlmDataDist_${m}`),
    ]);
    expect(methods.filter((m) => m.status === 'skipped').map((m) => [m.name, m.reason])).toEqual([
      ['llm_datadist::LlmDataDist::LlmDataDist', 'deleted'],
      ['llm_datadist::LlmDataDist::operator=', 'deleted'],
    ]);
    const entryConstants = ir.constants.filter((c) => ir.inputs.find((i) => i.path === c.file)?.role === 'entry');
    const covered = ir.coverage.filter((c) => c.kind === 'constant');
    expect(covered.map((c) => c.name).sort()).toEqual(entryConstants.map((c) => c.qualifiedName).sort());
    expect(covered.every((c) => c.status === 'bound' || (c.reason ?? '') !== '')).toBe(true);
  });
});

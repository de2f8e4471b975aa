import type { IrType } from '../ir.js';
import {
  asyncMethodFunction,
  C_SCALARS,
  cDeclaration,
  classFunctions,
  COMPLETION_QUEUE,
  completesThroughQueue,
  createFunction,
  destroyFunction,
  freeFunction,
  methodFunction,
  RUNTIME_FUNCTIONS,
  scalarOf,
  structLayouts,
  submitMethodFunction,
  type CFunction,
  type CStructLayout,
} from '../bind/c-abi.js';
import type { ApiModel, ClassModel, ConstantMember, FieldModel, FunctionGroupModel, FunctionModel, FunctionParamModel, MethodModel, ParamModel, StructModel } from '../bind/model.js';
import { lineBanner, type Provenance } from './banner.js';

/** A comment body that cannot close the comment early. */
function commentText(text: string): string {
  return text.replace(/\*\//g, '* /');
}

/** The C++ type as the header wrote it, without top-level const and reference. */
function cppSpelling(t: IrType): string {
  const ptr = t.pointer ? ` ${'*'.repeat(t.pointer)}` : '';
  return `${t.const && t.pointer ? 'const ' : ''}${t.text}${ptr}`;
}

function cFunctionPrototype(f: CFunction): string {
  const params = f.params.length === 0 ? 'void' : f.params.map((p) => cDeclaration(p.type, p.name)).join(', ');
  return `${f.returns}${f.returns.endsWith('*') ? '' : ' '}${f.name}(${params})`;
}

function emitHeader(api: ApiModel, layouts: readonly CStructLayout[], p: Provenance): string {
  const lines: string[] = [
    lineBanner(p),
    '// The C ABI over the LLM-DataDist C++ API (docs/design/bindings-contract.md §1): every function',
    '// returns the C++ status unchanged, never lets an exception out, and records the last error of',
    '// its thread for dd_last_error().',
    '#ifndef DD_SHIM_H_',
    '#define DD_SHIM_H_',
    '',
    '#include <stdbool.h>',
    '#include <stddef.h>',
    '#include <stdint.h>',
    '',
    '#if defined(__GNUC__)',
    '#define DD_SHIM_API __attribute__((visibility("default")))',
    '#else',
    '#define DD_SHIM_API',
    '#endif',
    '',
    '#ifdef __cplusplus',
    'extern "C" {',
    '#endif',
    '',
  ];
  for (const c of api.classes) {
    lines.push(`/* Opaque handle of a ${c.qualifiedName}. */`, `typedef struct ${c.cName} ${c.cName};`);
  }
  lines.push('/* Opaque handle of a completion queue of async calls (packages/sys/native/completions). */', `typedef struct ${COMPLETION_QUEUE} ${COMPLETION_QUEUE};`);
  for (const l of layouts) lines.push(`typedef struct ${l.struct.cName} ${l.struct.cName};`);
  lines.push('');
  for (const l of layouts) {
    const doc = l.struct.doc ? ` ${commentText(l.struct.doc)}` : '';
    lines.push(`/* ${l.struct.qualifiedName}.${doc} */`, `struct ${l.struct.cName} {`);
    for (const f of l.fields) lines.push(`  ${cDeclaration(f.type, f.name)};`);
    lines.push('};', '');
  }
  for (const f of RUNTIME_FUNCTIONS) lines.push(`/* ${commentText(f.doc ?? '')} */`, `DD_SHIM_API ${cFunctionPrototype(f)};`);
  lines.push('');
  for (const c of api.classes) {
    for (const f of classFunctions(c)) {
      if (f.doc) lines.push(`/* ${commentText(f.doc)} */`);
      lines.push(`DD_SHIM_API ${cFunctionPrototype(f)};`);
    }
    lines.push('');
  }
  for (const g of api.functionGroups) {
    lines.push(`/* Free functions of group ${g.name}: each calls the one of the same name and returns its ${g.statusType} unchanged. */`);
    for (const f of g.functions) {
      const c = freeFunction(g, f);
      if (c.doc) lines.push(`/* ${commentText(c.doc)} */`);
      lines.push(`DD_SHIM_API ${cFunctionPrototype(c)};`);
    }
    lines.push('');
  }
  lines.push('/* ABI self-check: sizes and offsets as the compiler laid the structs out. */');
  for (const l of layouts) {
    lines.push(`DD_SHIM_API size_t dd_abi_sizeof_${l.struct.cName}(void);`);
    for (const f of l.fields) lines.push(`DD_SHIM_API size_t dd_abi_offsetof_${l.struct.cName}_${f.name}(void);`);
  }
  lines.push('', '#ifdef __cplusplus', '}  // extern "C"', '#endif', '', '#endif  // DD_SHIM_H_', '');
  return lines.join('\n');
}

const HELPERS = `// Thrown when a caller breaks the C contract (a NULL pointer with a count, …): LLM_PARAM_INVALID.
class InvalidArgument : public std::exception {
 public:
  explicit InvalidArgument(std::string what) : what_(std::move(what)) {}
  const char *what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};

thread_local std::string last_error;

// A backend may already start its detail with "<Method>: " (the host backend does); the text names
// the method once.
const char *WithoutMethodPrefix(const char *detail, const char *method) noexcept {
  const size_t length = std::strlen(method);
  if (std::strncmp(detail, method, length) == 0 && detail[length] == ':' && detail[length + 1] == ' ') return detail + length + 2;
  return detail;
}

// Copies the last error of this thread into buf (NUL-terminated, truncated to cap); returns its full length.
size_t CopyLastError(char *buf, size_t cap) noexcept {
  if (buf != nullptr && cap > 0) {
    const size_t n = last_error.size() < cap - 1 ? last_error.size() : cap - 1;
    std::memcpy(buf, last_error.data(), n);
    buf[n] = '\\0';
  }
  return last_error.size();
}

// "<method>: <status name, else code>[: <detail>]" as this thread's last error, or nothing on success.
void RecordLastError(const char *method, bool success, const char *name, const char *code, const char *detail) noexcept {
  try {
    if (success) {
      last_error.clear();
      return;
    }
    std::string text(method);
    text += ": ";
    text += name != nullptr ? name : code;
    if (detail == nullptr && dd_backend_error_detail != nullptr) detail = dd_backend_error_detail();
    if (detail != nullptr) detail = WithoutMethodPrefix(detail, method);
    if (detail != nullptr && *detail != '\\0') {
      text += ": ";
      text += detail;
    }
    last_error = std::move(text);
  } catch (...) {
    last_error.clear();
  }
}

void SetLastError(const char *method, uint32_t status, const char *detail) noexcept {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(status));
  RecordLastError(method, status == kSuccess, StatusName(status), hex, detail);
}

// Runs one call of the C API: no exception crosses the boundary, and the last error follows the status.
template <typename Body>
uint32_t Guard(const char *method, Body &&body) noexcept {
  try {
    const uint32_t status = body();
    SetLastError(method, status, nullptr);
    return status;
  } catch (const InvalidArgument &e) {
    SetLastError(method, kParamInvalid, e.what());
    return kParamInvalid;
  } catch (const std::bad_alloc &e) {
    SetLastError(method, kOutOfMemory, e.what());
    return kOutOfMemory;
  } catch (const std::exception &e) {
    SetLastError(method, kFailed, e.what());
    return kFailed;
  } catch (...) {
    SetLastError(method, kFailed, "unknown C++ exception");
    return kFailed;
  }
}

// Runs a queued call on its thread, as Guard runs a direct one, and keeps that thread's last error
// with the call's status for the caller that drains the queue.
template <typename Body>
::dd::completions::Completion Complete(const char *method, Body &&body) noexcept {
  const uint32_t status = Guard(method, std::forward<Body>(body));
  try {
    return {status, status == kSuccess ? std::string() : last_error};
  } catch (...) {
    return {status, std::string()};
  }
}

void CheckPointer(const void *pointer, const char *what) {
  if (pointer == nullptr) throw InvalidArgument(std::string(what) + " is NULL");
}

template <typename T>
void CheckArray(const T *data, size_t count, const char *what) {
  if (data == nullptr && count > 0) throw InvalidArgument(std::string(what) + " is NULL but its count is " + std::to_string(count));
}

template <typename S>
S StringFromC(const char *text) {
  return text == nullptr ? S() : S(text);
}

template <typename T, typename C>
void AssignScalars(std::vector<T> &out, const C *data, size_t count, const char *what) {
  CheckArray(data, count, what);
  out.clear();
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.push_back(static_cast<T>(data[i]));
}

template <typename S>
void AssignStrings(std::vector<S> &out, const char *const *data, size_t count, const char *what) {
  CheckArray(data, count, what);
  out.clear();
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.push_back(StringFromC<S>(data[i]));
}

template <typename T, typename C>
void AssignRows(std::vector<std::vector<T>> &out, const C *data, const size_t *lengths, size_t count, const char *what) {
  CheckArray(lengths, count, what);
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    if (lengths[i] > SIZE_MAX - total) throw InvalidArgument(std::string(what) + " row lengths overflow");
    total += lengths[i];
  }
  CheckArray(data, total, what);
  out.assign(count, std::vector<T>());
  size_t at = 0;
  for (size_t i = 0; i < count; ++i) {
    out[i].reserve(lengths[i]);
    for (size_t j = 0; j < lengths[i]; ++j) out[i].push_back(static_cast<T>(data[at + j]));
    at += lengths[i];
  }
}

template <typename Map>
void AssignMap(Map &out, const char *const *keys, const char *const *values, size_t count, const char *what) {
  CheckArray(keys, count, what);
  CheckArray(values, count, what);
  out.clear();
  for (size_t i = 0; i < count; ++i) {
    if (keys[i] == nullptr || values[i] == nullptr) throw InvalidArgument(std::string(what) + " has a NULL key or value at index " + std::to_string(i));
    out.insert_or_assign(typename Map::key_type(keys[i]), typename Map::mapped_type(values[i]));
  }
}

// Out-vectors are caller-allocated: capacity elements at data, and the full size goes to *count.
template <typename C>
void CheckOutVector(const C *data, size_t capacity, const size_t *count, const char *what) {
  CheckArray(data, capacity, what);
  if (count == nullptr) throw InvalidArgument(std::string(what) + "_count is NULL");
}

template <typename C, typename T>
void CopyOut(const std::vector<T> &in, C *data, size_t capacity, size_t *count) noexcept {
  const size_t n = in.size() < capacity ? in.size() : capacity;
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<C>(in[i]);
  *count = in.size();
}`;

function fromCStatements(s: StructModel): string[] {
  const out: string[] = [];
  for (const f of s.fields) out.push(...fieldFromC(s, f));
  return out;
}

function fieldFromC(s: StructModel, f: FieldModel): string[] {
  const what = `"${s.name}.${f.name}"`;
  const t = f.type;
  if (scalarOf(t)) return [`  out.${f.name} = static_cast<decltype(out.${f.name})>(in.${f.name});`];
  switch (t.kind) {
    case 'string':
      return [`  out.${f.name} = StringFromC<decltype(out.${f.name})>(in.${f.name});`];
    case 'struct':
      return [`  FromC(in.${f.name}, out.${f.name});`];
    case 'pair':
      return [
        `  out.${f.name}.first = static_cast<decltype(out.${f.name}.first)>(in.${f.name}_first);`,
        `  out.${f.name}.second = static_cast<decltype(out.${f.name}.second)>(in.${f.name}_second);`,
      ];
    case 'vector':
      if (t.element.kind === 'struct') {
        return [
          `  CheckArray(in.${f.name}, in.${f.name}_count, ${what});`,
          `  out.${f.name}.resize(in.${f.name}_count);`,
          `  for (size_t i = 0; i < in.${f.name}_count; ++i) FromC(in.${f.name}[i], out.${f.name}[i]);`,
        ];
      }
      if (t.element.kind === 'string') return [`  AssignStrings(out.${f.name}, in.${f.name}, in.${f.name}_count, ${what});`];
      return [`  AssignScalars(out.${f.name}, in.${f.name}, in.${f.name}_count, ${what});`];
    default:
      throw new Error(`no conversion for field ${s.name}.${f.name}`);
  }
}

function toCStatements(s: StructModel): string[] {
  const out: string[] = [];
  for (const f of s.fields) {
    const t = f.type;
    const scalar = scalarOf(t);
    if (scalar) out.push(`  out.${f.name} = static_cast<${C_SCALARS[scalar].c}>(in.${f.name});`);
    else if (t.kind === 'struct') out.push(`  ToC(in.${f.name}, out.${f.name});`);
    else if (t.kind === 'pair') {
      out.push(`  out.${f.name}_first = static_cast<${C_SCALARS[scalarOf(t.first)!].c}>(in.${f.name}.first);`);
      out.push(`  out.${f.name}_second = static_cast<${C_SCALARS[scalarOf(t.second)!].c}>(in.${f.name}.second);`);
    } else if (t.kind === 'vector') out.push(`  CopyOut(in.${f.name}, out.${f.name}, out.${f.name}_count, &out.${f.name}_count);`);
  }
  return out;
}

function checkOutStatements(s: StructModel): string[] {
  const out: string[] = [];
  for (const f of s.fields) {
    if (f.type.kind === 'struct') out.push(`  CheckOut(c.${f.name});`);
    if (f.type.kind === 'vector') out.push(`  CheckArray(c.${f.name}, c.${f.name}_count, "${s.name}.${f.name}");`);
  }
  if (out.length === 0) out.push('  (void)c;');
  return out;
}

function converters(api: ApiModel): string[] {
  const structs = api.structs.filter((s) => !s.reservedOnly);
  const lines: string[] = ['// Forward declarations: converters call each other for nested structs.'];
  for (const s of structs) lines.push(`void FromC(const ${s.cName} &in, ::${s.qualifiedName} &out);`);
  for (const s of structs.filter((x) => x.usedAsOutput)) {
    lines.push(`void CheckOut(const ${s.cName} &c);`);
    lines.push(`void ToC(const ::${s.qualifiedName} &in, ${s.cName} &out) noexcept;`);
  }
  lines.push('');
  for (const s of structs) {
    lines.push(`void FromC(const ${s.cName} &in, ::${s.qualifiedName} &out) {`, ...fromCStatements(s), '}', '');
  }
  for (const s of structs.filter((x) => x.usedAsOutput)) {
    lines.push(`void CheckOut(const ${s.cName} &c) {`, ...checkOutStatements(s), '}', '');
    lines.push(`void ToC(const ::${s.qualifiedName} &in, ${s.cName} &out) noexcept {`, ...toCStatements(s), '}', '');
  }
  return lines;
}

interface CallPlan {
  readonly before: string[];
  readonly argument: string;
  readonly after: string[];
}

function planParam(p: ParamModel): CallPlan {
  const t = p.type;
  const local = `${p.name}_value`;
  const spelled = cppSpelling(p.cppType);
  const what = `"${p.name}"`;
  const scalar = scalarOf(t);
  if (p.direction === 'out') {
    if (scalar) {
      return {
        before: [`CheckPointer(${p.name}, ${what});`, `${spelled} ${local}{};`],
        argument: local,
        after: [`*${p.name} = static_cast<${C_SCALARS[scalar].c}>(${local});`],
      };
    }
    if (t.kind === 'struct') {
      return {
        before: [`CheckPointer(${p.name}, ${what});`, `CheckOut(*${p.name});`, `${spelled} ${local}{};`],
        argument: local,
        after: [`ToC(${local}, *${p.name});`],
      };
    }
    return {
      before: [`CheckOutVector(${p.name}, ${p.name}_capacity, ${p.name}_count, ${what});`, `${spelled} ${local};`],
      argument: local,
      after: [`CopyOut(${local}, ${p.name}, ${p.name}_capacity, ${p.name}_count);`],
    };
  }
  if (scalar) return { before: [], argument: t.kind === 'enum' ? `static_cast<${spelled}>(${p.name})` : p.name, after: [] };
  switch (t.kind) {
    case 'string':
      return p.cppType.pointer
        ? { before: [], argument: `(${p.name} == nullptr ? "" : ${p.name})`, after: [] }
        : { before: [`const ${spelled} ${local} = StringFromC<${spelled}>(${p.name});`], argument: local, after: [] };
    case 'struct':
      if (t.struct.reservedOnly) return { before: [`const ${spelled} ${local}{};`], argument: local, after: [] };
      return { before: [`CheckPointer(${p.name}, ${what});`, `${spelled} ${local}{};`, `FromC(*${p.name}, ${local});`], argument: local, after: [] };
    case 'map':
      return { before: [`${spelled} ${local};`, `AssignMap(${local}, ${p.name}_keys, ${p.name}_values, ${p.name}_count, ${what});`], argument: local, after: [] };
    case 'pair':
      return { before: [`const ${spelled} ${local}(${p.name}_first, ${p.name}_second);`], argument: local, after: [] };
    case 'vector': {
      const e = t.element;
      if (e.kind === 'struct') {
        return {
          before: [
            `CheckArray(${p.name}, ${p.name}_count, ${what});`,
            `${spelled} ${local}(${p.name}_count);`,
            `for (size_t i = 0; i < ${p.name}_count; ++i) FromC(${p.name}[i], ${local}[i]);`,
          ],
          argument: local,
          after: [],
        };
      }
      if (e.kind === 'vector') return { before: [`${spelled} ${local};`, `AssignRows(${local}, ${p.name}, ${p.name}_lengths, ${p.name}_count, ${what});`], argument: local, after: [] };
      if (e.kind === 'string') return { before: [`${spelled} ${local};`, `AssignStrings(${local}, ${p.name}, ${p.name}_count, ${what});`], argument: local, after: [] };
      return { before: [`${spelled} ${local};`, `AssignScalars(${local}, ${p.name}, ${p.name}_count, ${what});`], argument: local, after: [] };
    }
    default:
      throw new Error(`no conversion for parameter ${p.name}`);
  }
}

function functionBody(name: string, prelude: readonly string[], plans: readonly CallPlan[], call: (args: string) => string[]): string[] {
  const lines = [`  return Guard("${name}", [&]() -> uint32_t {`];
  for (const l of prelude) lines.push(`    ${l}`);
  for (const plan of plans) for (const l of plan.before) lines.push(`    ${l}`);
  for (const l of call(plans.map((p) => p.argument).join(', '))) lines.push(`    ${l}`);
  lines.push('  });');
  return lines;
}

function classDefinitions(c: ClassModel): string[] {
  const cls = `::${c.qualifiedName}`;
  const lines: string[] = [];
  const create = createFunction(c);
  const createPlans = c.constructorParams.map(planParam);
  lines.push(`extern "C" DD_SHIM_API ${cFunctionPrototype(create)} {`);
  lines.push(
    ...functionBody(c.name, ['CheckPointer(out, "out");', '*out = nullptr;'], createPlans, (args) => [
      `auto object = std::make_unique<${cls}>(${args});`,
      `*out = reinterpret_cast<${c.cName} *>(object.release());`,
      'return kSuccess;',
    ]),
  );
  lines.push('}', '');
  lines.push(`extern "C" DD_SHIM_API ${cFunctionPrototype(destroyFunction(c))} {`);
  lines.push(`  // Destructors do not throw; a NULL handle is ignored, like free(NULL).`);
  lines.push(`  std::unique_ptr<${cls}> object(reinterpret_cast<${cls} *>(self));`);
  lines.push('}', '');
  for (const m of c.methods) lines.push(...methodDefinition(c, m), '');
  return lines;
}

function methodDefinition(c: ClassModel, m: MethodModel): string[] {
  const cls = `::${c.qualifiedName}`;
  const plans = m.params.map(planParam);
  const after = plans.flatMap((p) => p.after);
  const plain = methodFunction(c, m);
  const body = functionBody(m.name, [`CheckPointer(self, "self");`, `${cls} &object = *reinterpret_cast<${cls} *>(self);`], plans, (args) => {
    if (!m.returnsStatus) return [`object.${m.name}(${args});`, ...after, 'return kSuccess;'];
    if (after.length === 0) return [`return object.${m.name}(${args});`];
    return [`const uint32_t status = object.${m.name}(${args});`, ...after, 'return status;'];
  });
  if (!m.async) return [`extern "C" DD_SHIM_API ${cFunctionPrototype(plain)} {`, ...body, '}'];
  if (completesThroughQueue(m)) {
    // The arguments are converted here, on the caller's thread; the closure owns copies of them,
    // so nothing the caller passed is read once this returns.
    const submit = functionBody(m.name, ['CheckPointer(queue, "queue");', 'CheckPointer(self, "self");', `${cls} &object = *reinterpret_cast<${cls} *>(self);`], plans, (args) => [
      `::dd::completions::Submit(queue, token, [=, target = &object]() mutable { return Complete("${m.name}", [&]() -> uint32_t { return target->${m.name}(${args}); }); });`,
      'return kSuccess;',
    ]);
    return [
      `extern "C" DD_SHIM_API ${cFunctionPrototype(plain)} {`,
      ...body,
      '}',
      '',
      `extern "C" DD_SHIM_API ${cFunctionPrototype(submitMethodFunction(c, m))} {`,
      ...submit,
      '}',
    ];
  }
  // One body for both entry points; the _async one hands the thread-local last error back.
  const run = { ...plain, name: `Run${m.name}` };
  const args = plain.params.map((p) => p.name).join(', ');
  return [
    `static ${cFunctionPrototype(run)} noexcept {`,
    ...body,
    '}',
    '',
    `extern "C" DD_SHIM_API ${cFunctionPrototype(plain)} { return ${run.name}(${args}); }`,
    '',
    `extern "C" DD_SHIM_API ${cFunctionPrototype(asyncMethodFunction(c, m))} {`,
    `  const uint32_t status = ${run.name}(${args});`,
    '  CopyLastError(error, error_cap);',
    '  return status;',
    '}',
  ];
}

function staticAsserts(api: ApiModel, layouts: readonly CStructLayout[]): string[] {
  const lines = ['// The C structs have the LP64 layouts the generated koffi declarations assume.', 'static_assert(sizeof(void *) == 8, "the bindings assume LP64");'];
  for (const l of layouts) {
    lines.push(`static_assert(sizeof(${l.struct.cName}) == ${l.size}, "sizeof(${l.struct.cName})");`);
    for (const f of l.fields) lines.push(`static_assert(offsetof(${l.struct.cName}, ${f.name}) == ${f.offset}, "offsetof(${l.struct.cName}, ${f.name})");`);
  }
  for (const g of api.functionGroups) {
    const c = C_SCALARS[g.scalar].c;
    lines.push(`static_assert(std::is_integral<::${g.statusType}>::value && sizeof(::${g.statusType}) == sizeof(${c}) && std::is_signed<::${g.statusType}>::value == std::is_signed<${c}>::value, "${g.statusType} is ${c}");`);
  }
  lines.push('', '// The C++ fields have the types the codegen read from the headers.');
  for (const s of api.structs.filter((x) => !x.reservedOnly)) {
    for (const f of s.fields) {
      const scalar = scalarOf(f.type);
      if (!scalar) continue;
      const member = `decltype(::${s.qualifiedName}::${f.name})`;
      const c = C_SCALARS[scalar].c;
      lines.push(
        f.type.kind === 'enum'
          ? `static_assert(sizeof(${member}) == sizeof(${c}), "${s.name}.${f.name} is a ${c}-sized enum");`
          : `static_assert(std::is_integral<${member}>::value == std::is_integral<${c}>::value && sizeof(${member}) == sizeof(${c}) && std::is_signed<${member}>::value == std::is_signed<${c}>::value, "${s.name}.${f.name} is ${c}");`,
      );
    }
  }
  return lines;
}

/** How C++ names a constant: a macro as written, a declared constant fully qualified. */
function constantRef(m: ConstantMember): string {
  return m.define ? m.name : `::${m.qualifiedName}`;
}

/** `<Group>StatusName` and `<Group>Result`: the last error of a free function names its group's status. */
function groupHelpers(g: FunctionGroupModel): string[] {
  const c = C_SCALARS[g.scalar].c;
  const seen = new Set<string>();
  const lines = [
    `// Group ${g.name}: the codes of ${g.statusType} (${g.statusGroup.name}).`,
    `constexpr ${c} k${g.name}Success = ${constantRef(g.success)};`,
    `constexpr ${c} k${g.name}ParamInvalid = ${constantRef(g.paramInvalid)};`,
    '',
    `const char *${g.name}StatusName(${c} status) noexcept {`,
    '  switch (status) {',
  ];
  for (const m of g.statusGroup.members) {
    const value = String(m.value);
    if (seen.has(value)) continue;
    seen.add(value);
    lines.push(`    case ${constantRef(m)}:`, `      return "${m.name}";`);
  }
  lines.push(
    '    default:',
    '      return nullptr;',
    '  }',
    '}',
    '',
    `// Records the last error of a function of group ${g.name} and returns its status unchanged.`,
    `${c} ${g.name}Result(const char *function, ${c} status, const char *detail) noexcept {`,
    '  char code[24];',
    '  std::snprintf(code, sizeof code, "%lld", static_cast<long long>(status));',
    `  RecordLastError(function, status == k${g.name}Success, ${g.name}StatusName(status), code, detail);`,
    '  return status;',
    '}',
  );
  return lines;
}

/** The argument a free function gets for one parameter, with what runs before and after the call. */
function planFunctionParam(p: FunctionParamModel): CallPlan {
  const local = `${p.name}_value`;
  const spelled = cppSpelling(p.cppType);
  const t = p.type;
  if (p.direction === 'out') {
    // The pointee as the header writes it: `void *` for void **, the scalar or enum otherwise.
    const pointee = cppSpelling({ ...p.cppType, pointer: (p.cppType.pointer ?? 1) - 1 });
    const c = C_SCALARS[scalarOf(t)!].c;
    const store = t.kind === 'scalar' && t.address ? `reinterpret_cast<${c}>(${local})` : `static_cast<${c}>(${local})`;
    return { before: [`${pointee}${pointee.endsWith('*') ? '' : ' '}${local}{};`], argument: `&${local}`, after: [`*${p.name} = ${store};`] };
  }
  if (t.kind === 'scalar' && t.address) return { before: [], argument: `reinterpret_cast<${spelled}>(${p.name})`, after: [] };
  if (t.kind === 'enum') return { before: [], argument: `static_cast<${spelled}>(${p.name})`, after: [] };
  return { before: [], argument: p.name, after: [] };
}

function freeFunctionDefinition(g: FunctionGroupModel, f: FunctionModel): string[] {
  const c = freeFunction(g, f);
  const type = C_SCALARS[g.scalar].c;
  const plans = f.params.map(planFunctionParam);
  const lines = [`extern "C" DD_SHIM_API ${cFunctionPrototype(c)} {`];
  for (const p of f.params.filter((x) => x.direction === 'out')) {
    lines.push(`  if (${p.name} == nullptr) return ${g.name}Result("${f.name}", k${g.name}ParamInvalid, "${p.name} is NULL");`);
  }
  for (const plan of plans) for (const l of plan.before) lines.push(`  ${l}`);
  lines.push(`  const ${type} status = static_cast<${type}>(::${f.qualifiedName}(${plans.map((p) => p.argument).join(', ')}));`);
  for (const plan of plans) for (const l of plan.after) lines.push(`  ${l}`);
  lines.push(`  return ${g.name}Result("${f.name}", status, nullptr);`, '}');
  return lines;
}

function statusSwitch(api: ApiModel): string[] {
  const seen = new Set<string>();
  const lines = ['const char *StatusName(uint32_t status) noexcept {', '  switch (status) {'];
  for (const m of api.statusGroup.members) {
    const value = String(m.value);
    if (seen.has(value)) continue;
    seen.add(value);
    lines.push(`    case ::${m.qualifiedName}:`, `      return "${m.name}";`);
  }
  lines.push('    default:', '      return nullptr;', '  }', '}');
  return lines;
}

function emitSource(api: ApiModel, layouts: readonly CStructLayout[], p: Provenance, shimVersion: string, includes: readonly string[]): string {
  const names = api.statusNames;
  const namespaces = [...new Set(api.classes.map((c) => c.namespace))];
  const ns = namespaces[0] ?? 'dd';
  const lines: string[] = [
    lineBanner(p),
    '#include "dd_shim.h"',
    '#include "completion_queue.h"',
    '',
    '#include <cstddef>',
    '#include <cstdint>',
    '#include <cstdio>',
    '#include <cstring>',
    '#include <exception>',
    '#include <map>',
    '#include <memory>',
    '#include <new>',
    '#include <string>',
    '#include <type_traits>',
    '#include <utility>',
    '#include <vector>',
    '',
    ...includes.map((i) => `#include "${i}"`),
    '',
    '#ifndef DD_BACKEND_NAME',
    '#define DD_BACKEND_NAME "unknown"',
    '#endif',
    '',
    '// Defined by a backend that can say why its last call failed on this thread (the host backend',
    '// does; CANN does not). Weak, so the shim links against either.',
    'extern "C" const char *dd_backend_error_detail(void) __attribute__((weak));',
    '',
    ...staticAsserts(api, layouts),
    '',
    '// The C functions are defined inside the API namespace so that parameter types can be spelled',
    '// exactly as the header writes them; extern "C" gives them their global C names all the same,',
    '// and DD_SHIM_API on each definition keeps them exported under -fvisibility=hidden.',
    `namespace ${ns} {`,
    'namespace dd_shim {',
    'namespace {',
    '',
    `constexpr uint32_t kSuccess = ::${names.success.qualifiedName};`,
    `constexpr uint32_t kFailed = ::${names.failed.qualifiedName};`,
    `constexpr uint32_t kParamInvalid = ::${names.paramInvalid.qualifiedName};`,
    `constexpr uint32_t kOutOfMemory = ::${names.outOfMemory.qualifiedName};`,
    '',
    ...statusSwitch(api),
    '',
    HELPERS,
    '',
    ...api.functionGroups.flatMap((g) => [...groupHelpers(g), '']),
    ...converters(api),
    '}  // namespace',
    '',
    'extern "C" DD_SHIM_API size_t dd_last_error(char *buf, size_t cap) { return CopyLastError(buf, cap); }',
    '',
    `extern "C" DD_SHIM_API const char *dd_shim_version(void) { return "${shimVersion}"; }`,
    '',
    'extern "C" DD_SHIM_API const char *dd_backend_name(void) { return DD_BACKEND_NAME; }',
    '',
    ...api.classes.flatMap(classDefinitions),
    ...api.functionGroups.flatMap((g) => g.functions.flatMap((f) => [...freeFunctionDefinition(g, f), ''])),
    '}  // namespace dd_shim',
    `}  // namespace ${ns}`,
    '',
  ];
  for (const l of layouts) {
    lines.push(`extern "C" DD_SHIM_API size_t dd_abi_sizeof_${l.struct.cName}(void) { return sizeof(${l.struct.cName}); }`);
    for (const f of l.fields) lines.push(`extern "C" DD_SHIM_API size_t dd_abi_offsetof_${l.struct.cName}_${f.name}(void) { return offsetof(${l.struct.cName}, ${f.name}); }`);
  }
  lines.push('');
  return lines.join('\n');
}

export interface ShimFiles {
  readonly header: string;
  readonly source: string;
}

/** dd_shim.h and dd_shim.cc for the model. */
export function emitShim(api: ApiModel, p: Provenance, shimVersion: string, includes: readonly string[]): ShimFiles {
  const layouts = structLayouts(api.structs);
  return { header: emitHeader(api, layouts, p), source: emitSource(api, layouts, p, shimVersion, includes) };
}


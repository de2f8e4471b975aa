import type { ScalarName } from '../config.js';
import type { IrCoverageEntry, IrType, IrUnclassified, IrValue } from '../ir.js';

/**
 * The API model: the IR after binding decisions, with every type mapped to one of the shapes
 * the bindings contract knows. Emitters read only this, never the IR.
 */
export type Mapped =
  /**
   * `status` marks the configured status alias (TS `Status`); `address` a raw memory address of a
   * free function (`void *`, `const void *`, or what a `void **` out-parameter receives), which
   * crosses as `uintptr_t` and is a bigint in TS.
   */
  | { readonly kind: 'scalar'; readonly scalar: ScalarName; readonly status?: true; readonly address?: true }
  | { readonly kind: 'enum'; readonly enum: EnumModel }
  /** `nullable`: a free function's `const char *`, passed as written, NULL included (TS `string | null`). */
  | { readonly kind: 'string'; readonly nullable?: true }
  | { readonly kind: 'struct'; readonly struct: StructModel }
  | { readonly kind: 'vector'; readonly element: Mapped }
  | { readonly kind: 'map'; readonly key: Mapped; readonly value: Mapped }
  | { readonly kind: 'pair'; readonly first: Mapped; readonly second: Mapped };

export interface EnumModel {
  readonly qualifiedName: string;
  /** Unqualified name: TS object/type name. */
  readonly name: string;
  readonly scalar: ScalarName;
  readonly members: readonly { readonly name: string; readonly value: bigint; readonly doc?: string }[];
  readonly doc?: string;
}

export interface FieldModel {
  readonly name: string;
  /** Where the field is declared, for messages about its default. */
  readonly file: string;
  readonly line: number;
  readonly type: Mapped;
  readonly cppType: IrType;
  readonly default?: IrValue;
  readonly doc?: string;
}

export interface StructModel {
  readonly qualifiedName: string;
  readonly name: string;
  /** `dd_<name>`. */
  readonly cName: string;
  readonly doc?: string;
  /** Fields the bindings carry: every field except `reserved*`. */
  readonly fields: readonly FieldModel[];
  /** Only reserved fields (`RegisterCfg`): no C struct, parameters of this type are dropped. */
  readonly reservedOnly: boolean;
  /** Written by the shim somewhere (an out-parameter or inside one): pointer fields are not const. */
  usedAsOutput: boolean;
}

export interface ParamModel {
  readonly name: string;
  readonly type: Mapped;
  readonly direction: 'in' | 'out';
  readonly cppType: IrType;
  readonly default?: IrValue;
  /** Out-vectors: the in-parameter whose length is the capacity the caller allocates. */
  readonly capacityFrom?: string;
}

export interface MethodModel {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly qualifiedName: string;
  /** `dd_<Class>_<Method>`. */
  readonly cName: string;
  readonly doc?: string;
  readonly params: readonly ParamModel[];
  /** False for `void` methods (the shim returns success). */
  readonly returnsStatus: boolean;
  /** Has an `…Async` twin. */
  readonly async: boolean;
}

export interface ClassModel {
  readonly qualifiedName: string;
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly namespace: string;
  /** `dd_<name>`: the opaque handle. */
  readonly cName: string;
  readonly doc?: string;
  readonly constructorParams: readonly ParamModel[];
  readonly methods: readonly MethodModel[];
}

export interface ConstantMember {
  readonly name: string;
  readonly qualifiedName: string;
  readonly value: bigint | string;
  readonly doc?: string;
  /** Where it is declared (and the macro it was written through), for messages. */
  readonly file: string;
  readonly line: number;
  readonly macro?: string;
  /** An object-like macro: C++ names it unqualified. */
  readonly define?: true;
}

export interface ConstantGroup {
  readonly name: string;
  readonly kind: 'integer' | 'string' | 'status';
  readonly members: readonly ConstantMember[];
}

export interface SingleConstant extends ConstantMember {
  readonly type: Mapped;
}

export interface StatusNames {
  readonly success: ConstantMember;
  readonly failed: ConstantMember;
  readonly paramInvalid: ConstantMember;
  readonly outOfMemory: ConstantMember;
}

export interface FunctionParamModel extends ParamModel {
  /** An out-parameter the C function takes as a pointer (`uint32_t *count`, `void **devPtr`): the shim passes a local's address. */
  readonly byPointer?: true;
}

/** A bound free function: `dd_<name>` in the shim, `<name>` in its group's bindings interface. */
export interface FunctionModel {
  readonly name: string;
  readonly qualifiedName: string;
  readonly file: string;
  readonly line: number;
  /** `dd_<name>`. */
  readonly cName: string;
  readonly doc?: string;
  readonly params: readonly FunctionParamModel[];
}

/** Free functions bound together, with the status type they all return (config `functionGroups`). */
export interface FunctionGroupModel {
  /** `Acl`: the interface is `AclBindings`, the status type `AclStatus`. */
  readonly name: string;
  /** The status alias as configured (`aclError`) and the scalar it is. */
  readonly statusType: string;
  readonly scalar: ScalarName;
  /** The constant group of its codes, and the two the shim names itself. */
  readonly statusGroup: ConstantGroup;
  readonly success: ConstantMember;
  readonly paramInvalid: ConstantMember;
  readonly functions: readonly FunctionModel[];
}

export interface ApiModel {
  readonly enums: readonly EnumModel[];
  /** In declaration order; C++ guarantees by-value members come first. */
  readonly structs: readonly StructModel[];
  readonly classes: readonly ClassModel[];
  /** Free functions by group, in config order; functions in header order. */
  readonly functionGroups: readonly FunctionGroupModel[];
  readonly groups: readonly ConstantGroup[];
  readonly singles: readonly SingleConstant[];
  readonly statusGroup: ConstantGroup;
  readonly statusNames: StatusNames;
  /** The element-type enum and its bits per element, when the headers have it. */
  readonly dataType?: { readonly enum: EnumModel; readonly bits: ReadonlyMap<string, number> };
  readonly coverage: readonly IrCoverageEntry[];
  /** Namespace-scope lines of the entry headers that are neither bound nor skipped. */
  readonly unclassified: readonly IrUnclassified[];
}

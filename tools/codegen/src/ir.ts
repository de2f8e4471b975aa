/**
 * The IR: what the parser read from the headers, before any binding decision. It is plain JSON
 * (docs/codegen.md documents every field) and is committed for `headers/` as a snapshot, so a
 * header change shows up as a reviewable IR diff. Names are as written; `qualifiedName`s are
 * resolved (`ns::Name`, global names have no prefix, anonymous namespaces are transparent).
 */
export const IR_VERSION = 2;

/** Where a declaration is: header path relative to its include root, and 1-based line. */
export interface IrLocation {
  readonly file: string;
  readonly line: number;
}

/** A type as written: `const std::vector<ClusterInfo> &` → name `std::vector`, one arg, const, ref. */
export interface IrType {
  /** The spelling without qualifiers and declarators, e.g. `std::vector<ClusterInfo>`. */
  readonly text: string;
  /** The template or plain name as written, e.g. `std::vector`, `ge::Status`, `uint32_t`. */
  readonly name: string;
  readonly args?: readonly IrType[];
  readonly const?: true;
  readonly reference?: 'lvalue' | 'rvalue';
  /** Number of `*` declarators. */
  readonly pointer?: number;
}

/** A value the parser evaluated (integers as decimal strings, so 64-bit values survive JSON). */
export type IrValue =
  | { readonly kind: 'integer'; readonly value: string; readonly text: string; readonly symbol?: string }
  | { readonly kind: 'float'; readonly value: number; readonly text: string }
  | { readonly kind: 'bool'; readonly value: boolean; readonly text: string }
  | { readonly kind: 'string'; readonly value: string; readonly text: string; readonly symbol?: string }
  | { readonly kind: 'enumerator'; readonly enum: string; readonly name: string; readonly value: string; readonly text: string }
  | { readonly kind: 'list'; readonly items: readonly IrValue[]; readonly text: string }
  /** An expression the parser could not evaluate (it names an unknown symbol, or uses sizeof…). */
  | { readonly kind: 'unevaluated'; readonly text: string; readonly reason: string };

export interface IrDecl extends IrLocation {
  readonly name: string;
  /** `a::b`, or '' for the global namespace. */
  readonly namespace: string;
  readonly qualifiedName: string;
  /** Text of the `///` or `/** … *\/` comment right above, whitespace collapsed. */
  readonly doc?: string;
}

export interface IrEnumerator {
  readonly name: string;
  /** Computed value (explicit, or previous + 1), as a decimal string. */
  readonly value: string;
  readonly explicit: boolean;
  readonly doc?: string;
}

export interface IrEnum extends IrDecl {
  readonly scoped: boolean;
  /** The `: T` base, if written. */
  readonly underlying?: IrType;
  readonly enumerators: readonly IrEnumerator[];
}

export interface IrConstant extends IrDecl {
  readonly type: IrType;
  /** `[]` for `const char NAME[] = "…"`. */
  readonly array?: true;
  readonly value: IrValue;
  /** The macro the declaration was written through (`GE_ERRORNO_DEFINE(…)`), when it was. */
  readonly macro?: string;
  /** An object-like macro with an integer body (`#define NAME 107000`): code names it as written, never qualified. */
  readonly define?: true;
}

/** A namespace-scope variable that is not a constant: an object of class type, a mutable or `extern` variable. */
export interface IrVariable extends IrDecl {
  readonly type: IrType;
  /** The initializer as written (`(LLM_X, "LLM_X")`, `= 3`), when there is one. */
  readonly initializer?: string;
  readonly macro?: string;
}

/** A `#define` the preprocessor read in a compiled branch. */
export interface IrMacro extends IrLocation {
  readonly name: string;
  /** Parameters of a function-like macro (`...` for the variadic one). */
  readonly params?: readonly string[];
  /** The replacement list, whitespace collapsed. */
  readonly body: string;
}

/** A namespace-scope line of an entry header that no rule binds or skips, and what to do about it. */
export interface IrUnclassified extends IrLocation {
  /** The line(s) as written, whitespace collapsed. */
  readonly text: string;
  /** What the codegen takes it for. */
  readonly what: string;
  readonly fix: string;
  /** The qualified name it declares, when it has one (a `skip` entry for it classifies it). */
  readonly name?: string;
}

export interface IrField extends IrLocation {
  readonly name: string;
  readonly type: IrType;
  /** Size of a fixed array member (`uint8_t reserved[128]`). */
  readonly arraySize?: number;
  readonly default?: IrValue;
  readonly doc?: string;
}

export interface IrStruct extends IrDecl {
  readonly fields: readonly IrField[];
}

export interface IrParam {
  readonly name: string;
  readonly type: IrType;
  /** `out` for a non-const lvalue reference or pointer, `in` otherwise. */
  readonly direction: 'in' | 'out';
  readonly default?: IrValue;
}

export interface IrMethod extends IrLocation {
  readonly name: string;
  /** `method`, `constructor`, `destructor` or `operator`. */
  readonly kind: 'method' | 'constructor' | 'destructor' | 'operator';
  readonly access: 'public' | 'protected' | 'private';
  readonly returnType?: IrType;
  readonly params: readonly IrParam[];
  readonly const?: true;
  readonly static?: true;
  readonly virtual?: true;
  /** `= delete`. */
  readonly deleted?: true;
  readonly template?: true;
  readonly doc?: string;
}

export interface IrClass extends IrDecl {
  /** A declaration without a body (`class LlmDataDistImpl;`). */
  readonly forward: boolean;
  readonly methods: readonly IrMethod[];
  /** Data members (public or not), e.g. the pimpl `std::unique_ptr<LlmDataDistImpl> impl_`. */
  readonly members: readonly IrField[];
}

export interface IrFunction extends IrDecl {
  readonly returnType: IrType;
  readonly params: readonly IrParam[];
}

/** `using X = T;` or `typedef T X;` */
export interface IrAlias extends IrDecl {
  readonly target: IrType;
}

/** `using ns::NAME;` re-exports NAME into the enclosing namespace. */
export interface IrUsing extends IrLocation {
  readonly namespace: string;
  readonly target: string;
}

/** `using namespace ns;` */
export interface IrUsingNamespace extends IrLocation {
  readonly namespace: string;
  readonly target: string;
}

export interface IrInput {
  readonly path: string;
  readonly sha256: string;
  /** `entry` headers make up the API; `dependency` headers were reached through `#include`. */
  readonly role: 'entry' | 'dependency';
}

export interface IrCoverageEntry {
  /**
   * `declaration`: a template, union or other declaration the contract has no shape for;
   * `include`: an `#include "…"` no include folder has, skipped on purpose.
   */
  readonly kind: 'method' | 'constructor' | 'destructor' | 'constant' | 'class' | 'struct' | 'enum' | 'function' | 'variable' | 'declaration' | 'include';
  readonly name: string;
  readonly file: string;
  readonly status: 'bound' | 'skipped';
  /** For bound entries: what it became (`dd_LlmDataDist_Initialize`, `OptionKey.OPTION_DEVICE_ID`). */
  readonly as?: string;
  /** For skipped entries: why. */
  readonly reason?: string;
}

export interface IrDocument {
  readonly irVersion: typeof IR_VERSION;
  readonly inputs: readonly IrInput[];
  /** `#include "…"` lines that no include folder has; only fatal if a type from them is needed. */
  readonly unresolvedIncludes: readonly (IrLocation & { readonly include: string })[];
  /** Syntax errors in dependency headers (in entry headers they are fatal). */
  readonly diagnostics: readonly (IrLocation & { readonly message: string })[];
  /** Every `#define` read, in reading order (header guards included). */
  readonly macros: readonly IrMacro[];
  readonly aliases: readonly IrAlias[];
  readonly usings: readonly IrUsing[];
  readonly usingNamespaces: readonly IrUsingNamespace[];
  readonly enums: readonly IrEnum[];
  readonly constants: readonly IrConstant[];
  readonly structs: readonly IrStruct[];
  readonly classes: readonly IrClass[];
  readonly functions: readonly IrFunction[];
  readonly variables: readonly IrVariable[];
  /** Filled in by the binder: every method, constant, class, struct, enum, function and variable of the entry headers. */
  readonly coverage: readonly IrCoverageEntry[];
  /** Filled in by the binder: namespace-scope lines of the entry headers that are neither bound nor skipped. */
  readonly unclassified: readonly IrUnclassified[];
}

/** The IR as the parser leaves it, before the binder adds coverage and the unclassified lines. */
export type ParsedIr = Omit<IrDocument, 'coverage' | 'unclassified'>;

/**
 * @dd/codegen as a library: parse C++ headers into the IR, bind them, and emit the C ABI shim and
 * the TypeScript bindings. The CLI (`dd-codegen`, `pnpm codegen`) is a thin layer over `generate`.
 */
export { main } from './cli.js';
export { loadConfig, defaultConfigPath, SCALAR_NAMES } from './config.js';
export type { CodegenConfig, ConstantRule, FunctionGroup, FunctionRule, ScalarName, TypeMapEntry } from './config.js';
export { CodegenError } from './errors.js';
export { generate } from './generate.js';
export type { GenerateOptions, GenerateResult, GeneratedOutputs } from './generate.js';
export { IR_VERSION } from './ir.js';
export type * from './ir.js';
export type * from './bind/model.js';

export * from './generated/index.js';
export type { HostMemory } from './memory.js';
export type { Bindings, BackendInfo } from './bindings.js';

// CONTRACT PLACEHOLDER written by hand before @dd/codegen exists; @dd/codegen replaces this
// file with generated output exporting the same names and types. Do not build on details beyond them.

export * from './api.js';

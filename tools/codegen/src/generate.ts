import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { IndentationText, Project, QuoteKind, type SourceFile } from 'ts-morph';
import { bindApi } from './bind/bind.js';
import { abiSignature } from './bind/c-abi.js';
import type { ApiModel } from './bind/model.js';
import type { CodegenConfig } from './config.js';
import { lineBanner, bannerText, type Provenance } from './emit/banner.js';
import { emitShim } from './emit/shim.js';
import { emitAbi } from './emit/ts-abi.js';
import { emitApi } from './emit/ts-api.js';
import { emitNative } from './emit/ts-native.js';
import { CodegenError } from './errors.js';
import type { IrDocument } from './ir.js';
import { loadCppParser } from './parse/cpp-parser.js';
import { HeaderLocator } from './parse/header-set.js';
import { buildIr } from './parse/ir-builder.js';
import { preprocessHeaders } from './parse/preprocess.js';

export interface GenerateOptions {
  /** The header tree to read (absolute or relative to the working directory). */
  readonly headersDir: string;
  /** How banners and messages name the header folder (`headers`, `$ASCEND_HOME_PATH/include`). */
  readonly headersDisplay: string;
  readonly config: CodegenConfig;
  /** How messages name the config. */
  readonly configName: string;
}

/** Every generated artefact, by role; the CLI decides where each one goes. */
export interface GeneratedOutputs {
  readonly ir: string;
  readonly shimHeader: string;
  readonly shimSource: string;
  /** TypeScript files by name (`api.ts`, `abi.ts`, `native.ts`, `index.ts`). */
  readonly ts: ReadonlyMap<string, string>;
}

export interface GenerateResult {
  readonly outputs: GeneratedOutputs;
  readonly ir: IrDocument;
  readonly api: ApiModel;
  /** 12 hex digits. */
  readonly inputHash: string;
  /** `abi-<12 hex>`: the hash of the C ABI only (bind/c-abi.ts abiSignature). */
  readonly shimVersion: string;
}

function readJsonFile(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CodegenError(`cannot read ${what} (${error instanceof Error ? error.message : String(error)}).`, file, 0, `fix the "${what}" path in the config (--config).`);
  }
}

/** JSON with sorted keys, so the hash does not depend on key order. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function formatted(project: Project, name: string, banner: string, fill: (sf: SourceFile) => void): string {
  const sf = project.createSourceFile(name, '', { overwrite: true });
  fill(sf);
  sf.insertStatements(0, banner);
  sf.formatText({ indentSize: 2, convertTabsToSpaces: true, ensureNewLineAtEndOfFile: true });
  return sf.getFullText();
}

/** Parses the headers, binds them and emits every output, in memory. */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const { config } = options;
  const locator = new HeaderLocator(options.headersDir, config.includeDirs, options.headersDisplay);
  const headers = preprocessHeaders(locator, config.entryHeaders, { erased: config.visibilityMacros, configName: options.configName, ...(config.defines ? { defines: config.defines } : {}) });
  const parser = await loadCppParser();
  const { ir: parsed, symbols, unrecognized, writtenLine } = buildIr(parser, headers, config.typeMap);
  const sizes = readJsonFile(config.dataTypeSizes, 'dataTypeSizes') as { bits?: Record<string, number> };
  const api = bindApi({ ir: parsed, symbols, unrecognized, writtenLine, config, configName: options.configName, dataTypeBits: sizes.bits ?? {} });
  const ir: IrDocument = { ...parsed, coverage: api.coverage, unclassified: api.unclassified };

  // Paths are left out of the hash (it must be the same on every machine), and so are the
  // required constants, which can fail a run but never change what it writes.
  const { includeDirs: _dirs, dataTypeSizes: _sizes, required: _required, ...portableConfig } = config;
  const hash = createHash('sha256');
  for (const f of [...headers.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) hash.update(`${f.path}\0${f.sha256}\n`);
  hash.update(stableJson(portableConfig));
  hash.update(stableJson(sizes));
  const inputHash = hash.digest('hex').slice(0, 12);
  // The loader compares this with the library's: it must change with the ABI and with nothing else.
  const shimVersion = `abi-${createHash('sha256').update(abiSignature(api)).digest('hex').slice(0, 12)}`;
  const entries = config.entryHeaders.length === 1 ? config.entryHeaders[0]! : `{${config.entryHeaders.join(',')}}`;
  const provenance: Provenance = { inputs: `${options.headersDisplay.replace(/\/$/, '')}/${entries}`, hash: inputHash };

  const shim = emitShim(api, provenance, shimVersion, config.shimIncludes);
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces, quoteKind: QuoteKind.Single },
  });
  const banner = lineBanner(provenance);
  const ts = new Map<string, string>([
    ['api.ts', formatted(project, 'api.ts', banner, (sf) => emitApi(sf, api))],
    ['abi.ts', formatted(project, 'abi.ts', banner, (sf) => emitAbi(sf, api))],
    ['native.ts', formatted(project, 'native.ts', banner, (sf) => emitNative(sf, api, config.outStructVectorCapacity, shimVersion))],
    ['index.ts', formatted(project, 'index.ts', banner, (sf) => sf.addStatements(["export * from './api.js';", "export * from './abi.js';", "export * from './native.js';"]))],
  ]);
  const irText = `${JSON.stringify({ $generated: bannerText(provenance), ...ir }, null, 2)}\n`;
  return { outputs: { ir: irText, shimHeader: shim.header, shimSource: shim.source, ts }, ir, api, inputHash, shimVersion };
}

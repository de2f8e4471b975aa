import { StatusCode, loadNativeBindings, type Bindings } from '@dd/sys';
import { DataDistArgumentError, DataDistError } from './errors.js';
import { describe } from './validate.js';

/**
 * The bindings an engine runs on: the ones given, or the native library, loaded only now (importing
 * this package never loads native code).
 */
export function resolveBindings(bindings: unknown, library: unknown): Bindings {
  if (bindings !== undefined) {
    if (typeof bindings !== 'object' || bindings === null || typeof (bindings as Partial<Bindings>).LlmDataDist_create !== 'function') {
      throw new DataDistArgumentError('create', 'options.bindings', 'must be a Bindings object (e.g. new FakeNetwork().bindings)', describe(bindings));
    }
    return bindings as Bindings;
  }
  if (library !== undefined && (typeof library !== 'string' || library.length === 0)) {
    throw new DataDistArgumentError('create', 'options.nativeLibrary', 'must be a non-empty path', describe(library));
  }
  try {
    return loadNativeBindings(library === undefined ? {} : { library });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new DataDistError({
      status: StatusCode.LLM_FAILED,
      operation: 'create',
      message: `create: the native backend could not be loaded: ${reason}`,
      cause,
    });
  }
}

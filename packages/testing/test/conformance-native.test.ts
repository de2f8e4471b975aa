import { loadNativeBindings, type Bindings } from '@dd/sys';
import { loopbackBackend, runConformance } from '../src/conformance/index.js';

// The same suite over the native library @dd/sys loads: the host backend here, CANN on Ascend
// (DD_BACKEND=cann or DD_LIBRARY_PATH). A library that is missing or fails to load makes every
// test fail with the loader's error; nothing is skipped.
let bindings: Bindings | undefined;
runConformance(
  () => {
    bindings ??= loadNativeBindings();
    return loopbackBackend(bindings);
  },
  { name: 'native' },
);

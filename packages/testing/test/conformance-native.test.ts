import * as sys from '@dd/sys';
import type { Bindings } from '@dd/sys';
import { describe, it } from 'vitest';
import { loopbackBackend, runConformance } from '../src/conformance/index.js';

// The same suite over the native backend @dd/sys loads (the host backend in CI, CANN on Ascend).
// It is skipped only while @dd/sys does not export the loader at all; once it does, a library that
// is missing or fails to load makes every test fail with the loader's error.
type Loader = (options?: Record<string, unknown>) => Bindings;
const loadNativeBindings = (sys as Record<string, unknown>)['loadNativeBindings'] as Loader | undefined;

if (typeof loadNativeBindings !== 'function') {
  console.warn('conformance over the native backend SKIPPED: @dd/sys does not export loadNativeBindings yet');
  describe.skip('LLM-DataDist conformance (native)', () => {
    it('needs loadNativeBindings from @dd/sys', () => undefined);
  });
} else {
  let bindings: Bindings | undefined;
  runConformance(
    () => {
      bindings ??= loadNativeBindings();
      return loopbackBackend(bindings);
    },
    { name: 'native' },
  );
}

import { afterEach, beforeEach, describe } from 'vitest';
import type { ConformanceBackendFactory } from './backend.js';
import { Harness } from './harness.js';
import { describeInitialize } from './initialize.js';
import { describeLayerRanges } from './layer-ranges.js';
import { describeLifecycle } from './lifecycle.js';
import { describeLinks } from './links.js';
import { describePullKvBlocks } from './pull-kv-blocks.js';
import { describePullKvCache } from './pull-kv-cache.js';
import { describePush } from './push.js';
import { describeRegistration } from './registration.js';
import { describeSurface } from './surface.js';

export type { ConformanceBackend, ConformanceBackendFactory } from './backend.js';
export { fakeBackend, loopbackBackend, freeLoopbackAddress } from './backends.js';

export interface ConformanceOptions {
  /** Shown in the suite title, e.g. 'fake' or 'host'. */
  readonly name?: string;
}

/**
 * Registers the conformance suite with vitest: the V2 rules of facts §3, each asserted with exact
 * status codes and bytes. `factory` is called before every test for a fresh, isolated backend.
 */
export function runConformance(factory: ConformanceBackendFactory, options: ConformanceOptions = {}): void {
  describe(`LLM-DataDist conformance${options.name === undefined ? '' : ` (${options.name})`}`, () => {
    const harness = new Harness(factory);
    beforeEach(() => harness.setUp());
    afterEach(() => harness.tearDown());

    describeSurface(harness);
    describeLifecycle(harness);
    describeInitialize(harness);
    describeLinks(harness);
    describeRegistration(harness);
    describePullKvCache(harness);
    describePullKvBlocks(harness);
    describePush(harness);
    describeLayerRanges(harness);
  });
}

import { afterEach, beforeEach, describe } from 'vitest';
import { describeAclMemory } from './acl-memory.js';
import type { ConformanceBackendFactory } from './backend.js';
import { describeCacheTable } from './cache-table.js';
import { Harness, type EngineKind } from './harness.js';
import { describeHixl } from './hixl.js';
import { describeInitialize } from './initialize.js';
import { describeLayerRanges } from './layer-ranges.js';
import { describeLifecycle } from './lifecycle.js';
import { describeLinkHealth } from './link-health.js';
import { describeLinks } from './links.js';
import { describeLocalCommRes } from './local-comm-res.js';
import { describePeerAuthentication } from './peer-authentication.js';
import { describePeerDeath } from './peer-death.js';
import { describePullKvBlocks } from './pull-kv-blocks.js';
import { describePullKvCache } from './pull-kv-cache.js';
import { describePush } from './push.js';
import { describeRegistration } from './registration.js';
import { describeSetRole } from './set-role.js';
import { describeSurface } from './surface.js';
import { describeUnlink } from './unlink.js';

export type { ConformanceBackend, ConformanceBackendFactory, ConformanceScenarios } from './backend.js';
export type { EngineKind } from './harness.js';
export { fakeBackend, loopbackBackend, freeLoopbackAddress } from './backends.js';

export interface ConformanceOptions {
  /** Shown in the suite title, e.g. 'fake' or 'host'. */
  readonly name?: string;
  /**
   * `'dd'` (default) for dd's backends, which apply the deviations of docs/compat.md; `'v2'` for
   * CANN's engine, where each deviation's case shows as skipped with the reason in its name.
   */
  readonly engine?: EngineKind;
}

/**
 * Registers the conformance suite with vitest: the V2 engine's rules (A1-A29 and the confirmed
 * rows of section B of the audit, summarised in docs/compat.md), dd's deviations (D1-D16) and
 * choices, each case named by its rule id and asserted with exact statuses and bytes. `factory`
 * is called before every test for a fresh, isolated backend.
 */
export function runConformance(factory: ConformanceBackendFactory, options: ConformanceOptions = {}): void {
  describe(`LLM-DataDist conformance${options.name === undefined ? '' : ` (${options.name})`}`, () => {
    const harness = new Harness(factory, options.engine);
    beforeEach(() => harness.setUp());
    afterEach(() => harness.tearDown());

    describeSurface(harness);
    describeLifecycle(harness);
    describeInitialize(harness);
    describeLocalCommRes(harness);
    describeLinks(harness);
    describeUnlink(harness);
    describeSetRole(harness);
    describePeerDeath(harness);
    describeLinkHealth(harness);
    describePeerAuthentication(harness);
    describeRegistration(harness);
    describePullKvCache(harness);
    describePullKvBlocks(harness);
    describePush(harness);
    describeLayerRanges(harness);
    describeCacheTable(harness);
    describeHixl(harness);
    describeAclMemory(harness);
  });
}

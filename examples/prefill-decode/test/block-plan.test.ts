import { describe, expect, it } from 'vitest';
import { planBlocks } from '../src/block-plan.js';

describe('planBlocks', () => {
  it.each([
    { blocks: 128, requestBlocks: 64, pushBlocks: 4 },
    { blocks: 32, requestBlocks: 16, pushBlocks: 4 },
    { blocks: 8, requestBlocks: 7, pushBlocks: 1 },
    { blocks: 5, requestBlocks: 2, pushBlocks: 3 },
  ])('places a request of $requestBlocks in $blocks blocks', (o) => {
    const plan = planBlocks(o);
    expect(plan.promptBlocks).toHaveLength(o.requestBlocks);
    expect(new Set(plan.promptBlocks).size).toBe(o.requestBlocks);
    for (const b of [...plan.promptBlocks, ...plan.pushTarget, ...plan.pushSource]) expect(b).toBeGreaterThanOrEqual(0);
    for (const b of [...plan.promptBlocks, ...plan.pushTarget, ...plan.pushSource]) expect(b).toBeLessThan(o.blocks);
    expect(plan.decoderBlocks).toEqual(Array.from({ length: o.requestBlocks }, (_, i) => i));
    expect(plan.pushTarget).toHaveLength(o.pushBlocks);
    expect(plan.pushTarget.filter((b) => plan.promptBlocks.includes(b))).toEqual([]);
    expect(plan.pushSource.filter((b) => plan.decoderBlocks.includes(b))).toEqual([]);
  });

  it('mixes adjacent runs with scattered blocks, the same way every time', () => {
    const o = { blocks: 128, requestBlocks: 64, pushBlocks: 4 };
    const plan = planBlocks(o);
    expect(planBlocks(o)).toEqual(plan);
    const steps = plan.promptBlocks.slice(1).map((b, i) => b - (plan.promptBlocks[i] as number));
    expect(steps.filter((s) => s === 1).length).toBeGreaterThan(10);
    expect(steps.filter((s) => s !== 1).length).toBeGreaterThan(10);
  });
});

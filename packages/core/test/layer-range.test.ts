import { describe, expect, it } from 'vitest';
import { DataDistArgumentError } from '../src/index.js';
import { toInclusivePair } from '../src/layer-range.js';
import { backends } from './backends.js';
import { createPair, recordingBindings } from './harness.js';

describe('half-open layer ranges', () => {
  it('convert to the inclusive C++ pair', () => {
    expect(toInclusivePair('pullBlocks', 'layers', { start: 0, end: 1 }, 4)).toEqual([0, 0]);
    expect(toInclusivePair('pullBlocks', 'layers', { start: 0, end: 4 }, 4)).toEqual([0, 3]);
    expect(toInclusivePair('pullBlocks', 'layers', { start: 2, end: 3 }, undefined)).toEqual([2, 2]);
    expect(() => toInclusivePair('pullBlocks', 'layers', { start: 0, end: 5 }, 4)).toThrow(DataDistArgumentError);
    expect(() => toInclusivePair('pullBlocks', 'layers', { start: 2, end: 2 }, 4)).toThrow(/half-open/);
  });
});

describe.each(backends)('layer ranges reach the $name backend inclusive', (backend) => {
  it('passes src/dst by direction, with tensorsPerLayer from the cache', async () => {
    const rec = recordingBindings(backend.newBindings());
    const pair = await createPair(backend, { bindings: rec.bindings });
    try {
      const src = pair.prompt.registerHostCache({ placement: 'device', dataType: 4, shape: [2, 8], numTensors: 6, tensorsPerLayer: 3 });
      const dst = pair.decoder.registerHostCache({ placement: 'device', dataType: 4, shape: [2, 8], numTensors: 6, tensorsPerLayer: 3 });
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: src.id }, into: dst, srcBlocks: [0], dstBlocks: [1], layers: { start: 1, end: 2 }, remoteLayers: { start: 0, end: 1 } });
      await pair.decoder.pushBlocks({ from: dst, to: { clusterId: 1n, cacheId: src.id }, srcBlocks: [1], dstBlocks: [0], layers: { start: 0, end: 2 } });
      await pair.decoder.pullCache({ from: { clusterId: 1n, cacheId: src.id }, into: dst });
      const ext = rec.calls.filter((c) => c.name.endsWith('Async') && !c.name.includes('Link')).map((c) => c.args[c.args.length - 1]);
      expect(ext).toEqual([
        { src_layer_range: [0, 0], dst_layer_range: [1, 1], tensor_num_per_layer: 3 },
        { src_layer_range: [0, 1], dst_layer_range: [0, 1], tensor_num_per_layer: 3 },
        { src_layer_range: [-1, -1], dst_layer_range: [-1, -1], tensor_num_per_layer: 3 },
      ]);
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
    }
  });
});

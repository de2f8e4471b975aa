import { describe, expect, it } from 'vitest';
import { DemoUsageError, bytesPerBlock, parseDemoOptions, promptArgv } from '../src/demo-options.js';

describe('demo flags', () => {
  it('defaults to a Llama-3-8B-shaped cache: 32 KiB per block per tensor', () => {
    const o = parseDemoOptions([]);
    expect(o).toMatchObject({ role: 'decoder', layers: 32, blocks: 128, requestBlocks: 64, blockTokens: 16, kvHeads: 8, headDim: 128, port: 0, placements: ['device', 'host'] });
    expect(bytesPerBlock(o)).toBe(32 * 1024);
  });

  it('hands the prompt process the same geometry', () => {
    const o = parseDemoOptions(['--layers', '2', '--blocks', '32', '--head-dim', '64']);
    const prompt = parseDemoOptions(promptArgv(o, 4242));
    expect(prompt).toMatchObject({ role: 'prompt', port: 4242, layers: 2, blocks: 32, headDim: 64, requestBlocks: 16, pushBlocks: 4, placements: ['device', 'host'] });
    expect(parseDemoOptions(promptArgv(parseDemoOptions(['--placement', 'device']), 1)).placements).toEqual(['device']);
  });

  it('one placement may use all 240 addresses: 120 layers', () => {
    expect(parseDemoOptions(['--placement', 'host', '--layers', '120']).layers).toBe(120);
  });

  it.each([
    [['--layers', '0'], /--layers must be an integer in \[1, 120\]/],
    [['--layers', '121'], /--layers/],
    [['--blocks', '1.5'], /--blocks/],
    [['--blocks', '-3'], /--blocks/],
    [['--blocks', '8', '--request-blocks', '6', '--push-blocks', '3'], /must fit in --blocks/],
    [['--block-tokens', '1', '--kv-heads', '1', '--head-dim', '1'], /multiple of 4 bytes/],
    [['--role', 'mix'], /--role/],
    [['--placement', 'gpu'], /--placement must be 'device', 'host' or 'both'/],
    [['--layers', '61'], /registers 244 tensors per engine/],
    [['--nope'], /nope/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseDemoOptions(argv)).toThrow(DemoUsageError);
    expect(() => parseDemoOptions(argv)).toThrow(message);
  });
});

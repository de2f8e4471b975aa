import diagnostics_channel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { NotLinkedError, OPERATION_END_CHANNEL, OPERATION_START_CHANNEL, type OperationEndEvent, type OperationStartEvent } from '../src/index.js';
import { backends } from './backends.js';
import { createPair, smallCache } from './harness.js';

describe.each(backends)('diagnostics_channel over the $name backend', (backend) => {
  const starts: OperationStartEvent[] = [];
  const ends: OperationEndEvent[] = [];
  const onStart = (message: unknown): void => void starts.push(message as OperationStartEvent);
  const onEnd = (message: unknown): void => void ends.push(message as OperationEndEvent);

  afterEach(() => {
    diagnostics_channel.unsubscribe(OPERATION_START_CHANNEL, onStart);
    diagnostics_channel.unsubscribe(OPERATION_END_CHANNEL, onEnd);
    starts.length = 0;
    ends.length = 0;
  });

  it('publishes start and end of every operation with bytes, duration and status', async () => {
    diagnostics_channel.subscribe(OPERATION_START_CHANNEL, onStart);
    diagnostics_channel.subscribe(OPERATION_END_CHANNEL, onEnd);
    const pair = await createPair(backend);
    const src = smallCache(pair.prompt);
    const dst = smallCache(pair.decoder);
    await expect(pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: src.id }, into: dst, srcBlocks: [0], dstBlocks: [0] })).rejects.toBeInstanceOf(NotLinkedError);
    await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
    await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: src.id }, into: dst, srcBlocks: [0, 1], dstBlocks: [2, 3] });
    await pair.decoder.unlink(1n);
    dst.unregister();
    pair.decoder.close();

    const decoderOps = ends.filter((e) => e.clusterId === 2n).map((e) => [e.operation, e.statusName]);
    expect(decoderOps).toEqual([
      ['initialize', 'LLM_SUCCESS'],
      ['registerCache', 'LLM_SUCCESS'],
      ['pullBlocks', 'LLM_NOT_YET_LINK'],
      ['link', 'LLM_SUCCESS'],
      ['pullBlocks', 'LLM_SUCCESS'],
      ['unlink', 'LLM_SUCCESS'],
      ['unregisterCache', 'LLM_SUCCESS'],
      ['close', 'LLM_SUCCESS'],
    ]);
    for (const end of ends) {
      const start = starts.find((s) => s.id === end.id);
      expect(start).toBeDefined();
      expect(end).toMatchObject({ ...start, abandoned: false });
      expect(end.durationMs).toBeGreaterThanOrEqual(0);
    }
    const [failed, pulled] = ends.filter((e) => e.operation === 'pullBlocks');
    expect(failed?.error).toBeInstanceOf(NotLinkedError);
    expect(pulled).toMatchObject({ remoteClusterId: 1n, bytes: 4 * 2 * 64, status: 0 });
    expect(pulled?.error).toBeUndefined();
    await pair.dispose();
  });

  it('publishes nothing for calls refused in TypeScript', async () => {
    const pair = await createPair(backend);
    diagnostics_channel.subscribe(OPERATION_START_CHANNEL, onStart);
    const dst = smallCache(pair.decoder);
    starts.length = 0;
    await expect(pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: 1n }, into: dst, srcBlocks: [], dstBlocks: [] })).rejects.toThrow();
    expect(starts).toEqual([]);
    await pair.dispose();
  });
});

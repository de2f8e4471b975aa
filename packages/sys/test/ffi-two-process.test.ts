// End to end through koffi across two real processes on loopback: the prompt side runs in a
// child process, this process is the decoder. Both the same-host and the forced-TCP paths move bytes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CachePlacement,
  DataType,
  LlmRole,
  StatusCode,
  loadNativeBindings,
  type Cache,
  type LlmDataDistHandle,
} from '../src/index.js';
import { freePort } from './free-port.js';

const LAYERS = 8;
const BLOCKS = 64;
const BLOCK_BYTES = 4096;
const b = loadNativeBindings();

class PromptProcess {
  private readonly lines: AsyncIterator<string>;
  private constructor(
    readonly child: ChildProcessWithoutNullStreams,
    readonly port: number,
    private readonly reader: Interface,
  ) {
    this.lines = reader[Symbol.asyncIterator]();
  }
  static async start(): Promise<{ prompt: PromptProcess; cacheId: bigint }> {
    const port = await freePort();
    const script = fileURLToPath(new URL('./fixtures/prompt-process.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, String(port), String(LAYERS), String(BLOCKS), String(BLOCK_BYTES)]);
    child.stderr.on('data', (d: Buffer) => process.stderr.write(`[prompt] ${d.toString()}`));
    const prompt = new PromptProcess(child, port, createInterface({ input: child.stdout }));
    const ready = await prompt.line();
    const match = /^READY (\d+)$/.exec(ready);
    if (!match) throw new Error(`prompt process said: ${ready}`);
    return { prompt, cacheId: BigInt(match[1]!) };
  }
  async line(): Promise<string> {
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('prompt process did not answer within 10 s')), 10_000).unref());
    const next = await Promise.race([this.lines.next(), timer]);
    if (next.done) throw new Error('prompt process closed its output');
    return next.value;
  }
  async block(t: number, index: number): Promise<Uint8Array> {
    this.child.stdin.write(`BLOCK ${t} ${index}\n`);
    return Uint8Array.from(Buffer.from(await this.line(), 'hex'));
  }
  async stop(): Promise<void> {
    this.reader.close();
    this.child.stdin.end('EXIT\n');
    await once(this.child, 'exit');
  }
}

for (const transport of ['auto', 'tcp'] as const) {
  describe(`two processes over loopback (transport: ${transport})`, () => {
    let prompt: PromptProcess;
    let remoteCacheId: bigint;
    let decoder: LlmDataDistHandle;
    const memory = Array.from({ length: LAYERS }, () => new ArrayBuffer(BLOCKS * BLOCK_BYTES));
    let local: Cache;

    beforeAll(async () => {
      ({ prompt, cacheId: remoteCacheId } = await PromptProcess.start());
      decoder = b.LlmDataDist_create(1n, LlmRole.kDecoder).handle;
      const options: Record<string, string> = { 'llm.DeviceId': '0' };
      if (transport === 'tcp') options['dd.DataPath'] = 'tcp';
      expect(b.LlmDataDist_Initialize(decoder, options), b.lastError()).toBe(0);
      const desc = {
        placement: CachePlacement.kHost,
        num_tensors: LAYERS,
        data_type: DataType.DT_UINT8,
        shape: BigInt64Array.from([BigInt(BLOCKS), BigInt(BLOCK_BYTES)]),
      };
      const reg = b.LlmDataDist_RegisterKvCache(decoder, desc, BigUint64Array.from(memory.map((m) => b.addressOf(m))));
      expect(reg.status, b.lastError()).toBe(0);
      local = { cache_id: reg.cache_id, tensor_addrs: new BigUint64Array(0), cache_desc: desc };
      const linked = await b.LlmDataDist_LinkLlmClustersAsync(
        decoder,
        [{ remote_cluster_id: 0n, remote_role_type: 0, local_ip_infos: [{ ip: '127.0.0.1', port: 0 }], remote_ip_infos: [{ ip: '127.0.0.1', port: prompt.port }] }],
        3000,
      );
      expect(linked.status, b.lastError()).toBe(StatusCode.LLM_SUCCESS);
    });

    afterAll(async () => {
      b.LlmDataDist_Finalize(decoder);
      b.LlmDataDist_destroy(decoder);
      await prompt.stop();
    });

    it('pulls 64 scattered blocks of every layer and they equal the prompt side', async () => {
      const src = BigUint64Array.from({ length: BLOCKS }, (_, i) => BigInt((i * 5) % BLOCKS));
      const dst = BigUint64Array.from({ length: BLOCKS }, (_, i) => BigInt(i));
      const status = await b.LlmDataDist_PullKvBlocksAsync(decoder, { cluster_id: 0n, cache_id: remoteCacheId, batch_index: 0 }, local, src, dst);
      expect(status, b.lastError()).toBe(StatusCode.LLM_SUCCESS);
      for (const t of [0, 3, LAYERS - 1]) {
        for (const i of [0, 1, 17, BLOCKS - 1]) {
          expect(new Uint8Array(memory[t]!, i * BLOCK_BYTES, BLOCK_BYTES)).toEqual(await prompt.block(t, (i * 5) % BLOCKS));
        }
      }
    });

    it('pushes blocks into the prompt process', async () => {
      new Uint8Array(memory[4]!, 0, BLOCK_BYTES).fill(transport === 'tcp' ? 0x5a : 0xa5);
      const status = await b.LlmDataDist_PushKvBlocksAsync(
        decoder,
        { ...local, cache_desc: { ...local.cache_desc, placement: CachePlacement.kDevice } },
        { cluster_id: 0n, cache_id: remoteCacheId, batch_index: 0 },
        BigUint64Array.from([0n]),
        BigUint64Array.from([9n]),
        { src_layer_range: [4, 4], dst_layer_range: [4, 4], tensor_num_per_layer: 1 },
      );
      expect(status, b.lastError()).toBe(StatusCode.LLM_SUCCESS);
      expect(await prompt.block(4, 9)).toEqual(new Uint8Array(BLOCK_BYTES).fill(transport === 'tcp' ? 0x5a : 0xa5));
    });
  });
}

import { OptionKey, StatusCode } from '@dd/sys';
import { parseListenAddress, type ListenAddress } from './ip-address.js';
import { fail, invalid, ok, type Outcome } from './outcome.js';

/** What Initialize keeps from its options (V2, facts §3.2). */
export interface EngineOptions {
  readonly deviceId: number;
  readonly listen: ListenAddress | null;
  /** `llm.SyncKvCacheWaitTime`: the deadline of every pull and push. */
  readonly syncWaitMs: number;
  readonly transferBackend: 'hccl' | 'hixl';
  /** Whether local communication resources exist, which lifts the one-local-IP rule of links. */
  readonly hasLocalCommRes: boolean;
  /** Links allowed per instance: 512 on an HCCL comm domain, unbounded for rank table v1.3. */
  readonly linkLimit: number;
}

const DEFAULT_SYNC_WAIT_MS = 1000;
const HCCL_LINK_LIMIT = 512;
const INT32_MAX = 0x7fffffff;
const FLAG_KEYS = [OptionKey.OPTION_ENABLE_SET_ROLE, 'llm.EnableCacheManager', 'llm.EnableRemoteCacheAccessible'];

function parseDeviceId(text: string | undefined): Outcome<number> {
  if (text === undefined || text === '') return invalid(`${OptionKey.OPTION_DEVICE_ID} is required`);
  const items = text.split(';');
  if (!items.every((item) => /^[0-9]+$/.test(item))) {
    return invalid(`${OptionKey.OPTION_DEVICE_ID} "${text}": every item must be an integer >= 0`);
  }
  // V2 serves one device per process and re-parses the whole value as one int32.
  if (items.length !== 1 || Number(text) > INT32_MAX) {
    return invalid(`${OptionKey.OPTION_DEVICE_ID} "${text}": V2 takes exactly one device id (an int32)`);
  }
  return ok(Number(text));
}

function parseSyncWait(text: string | undefined): Outcome<number> {
  if (text === undefined) return ok(DEFAULT_SYNC_WAIT_MS);
  if (!/^[0-9]+$/.test(text) || Number(text) <= 0 || Number(text) > INT32_MAX) {
    return invalid(`${OptionKey.OPTION_SYNC_CACHE_WAIT_TIME} "${text}": must be a positive integer (milliseconds)`);
  }
  return ok(Number(text));
}

/** The rank table's version decides the link cap; anything that is not a JSON object is refused. */
function parseLocalCommRes(text: string | undefined, listen: ListenAddress | null): Outcome<{ present: boolean; limit: number }> {
  if (text === undefined) return ok({ present: false, limit: HCCL_LINK_LIMIT });
  // Empty means "generate it from the listen IP"; without one there is nothing to generate from.
  if (text === '') return ok({ present: listen !== null, limit: HCCL_LINK_LIMIT });
  let table: unknown;
  try {
    table = JSON.parse(text);
  } catch {
    return invalid(`${OptionKey.OPTION_LOCAL_COMM_RES} is not valid JSON`);
  }
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    return invalid(`${OptionKey.OPTION_LOCAL_COMM_RES} must be a JSON object (a rank table)`);
  }
  const version = (table as { version?: unknown }).version;
  return ok({ present: true, limit: version === '1.3' ? Number.POSITIVE_INFINITY : HCCL_LINK_LIMIT });
}

/** Initialize's option checks, in V2's order; keys V2 does not know pass through untouched. */
export function parseEngineOptions(options: Readonly<Record<string, string>>): Outcome<EngineOptions> {
  const deviceId = parseDeviceId(options[OptionKey.OPTION_DEVICE_ID]);
  if (!deviceId.ok) return deviceId;

  const listenText = options[OptionKey.OPTION_LISTEN_IP_INFO];
  let listen: ListenAddress | null = null;
  if (listenText !== undefined) {
    const parsed = parseListenAddress(listenText);
    if (!parsed.ok) return parsed;
    listen = parsed.value;
  }

  const syncWaitMs = parseSyncWait(options[OptionKey.OPTION_SYNC_CACHE_WAIT_TIME]);
  if (!syncWaitMs.ok) return syncWaitMs;

  for (const key of FLAG_KEYS) {
    const value = options[key];
    if (value !== undefined && value !== '0' && value !== '1') return invalid(`${key} "${value}": must be "0" or "1"`);
  }

  const backendText = options[OptionKey.OPTION_TRANSFER_BACKEND];
  let transferBackend: EngineOptions['transferBackend'] = 'hccl';
  if (backendText === 'hixl') {
    if (listen === null) return invalid(`${OptionKey.OPTION_TRANSFER_BACKEND} "hixl" needs ${OptionKey.OPTION_LISTEN_IP_INFO}`);
    transferBackend = 'hixl';
  } else if (backendText !== undefined) {
    // V2 fails to create an engine it does not know, and Initialize squashes that into LLM_FAILED.
    return fail(StatusCode.LLM_FAILED, `${OptionKey.OPTION_TRANSFER_BACKEND} "${backendText}": unknown transfer backend`);
  }

  const commRes = parseLocalCommRes(options[OptionKey.OPTION_LOCAL_COMM_RES], listen);
  if (!commRes.ok) return commRes;

  return ok({
    deviceId: deviceId.value,
    listen,
    syncWaitMs: syncWaitMs.value,
    transferBackend,
    hasLocalCommRes: commRes.value.present,
    linkLimit: commRes.value.limit,
  });
}

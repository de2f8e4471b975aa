import { OptionKey } from '@dd/sys';
import { generateCommRes } from './comm-res.js';
import { checkHixlOptions, type HixlEngine } from './hixl-options.js';
import { parseListenIpInfo, type ListenAddress } from './ip-address.js';
import { INT32_MAX, UINT32_MAX, isDigits, streamInteger, uint32Option } from './option-values.js';
import { invalid, ok, type Outcome } from './outcome.js';

/*
 * Initialize's option checks in V2's order (A10). The listen daemon starts between the transfer
 * engine's checks (step 8) and the data-cache checks (step 9), so they come in two halves.
 */

export type TransferBackend = 'default' | 'hixl';

/** What steps 3-8 keep. */
export interface EngineSetup {
  readonly deviceId: number;
  readonly listen: ListenAddress | null;
  readonly transferBackend: TransferBackend;
  /** Default backend: the stored or generated `llm.LocalCommRes`; null until a link generates it. */
  readonly commRes: string | null;
  readonly hixlEngine: HixlEngine | null;
}

/** What steps 9-10 keep. */
export interface EngineLimits {
  /** `llm.SyncKvCacheWaitTime`: the deadline of every pull and push, and of the cache-table fetch. */
  readonly syncWaitMs: number;
  /** `dd.MaxLinks` (D12). */
  readonly maxLinks: number;
  /** `dd.AuthSecret` (D18): every link and unlink handshake proves it; null when not set. */
  readonly authSecret: string | null;
}

export type EngineOptions = EngineSetup & EngineLimits;

const DEFAULT_SYNC_WAIT_MS = 1000;
const DEFAULT_MAX_LINKS = 4096;
const MAX_LINKS_LIMIT = 1_048_576;

/** Step 3: every ';'-separated item reads as an int32 ≥ 0. Step 6: the whole value reads as one int32. */
function deviceIdItems(text: string | undefined): Outcome<void> {
  if (text === undefined || text === '') return invalid(`${OptionKey.OPTION_DEVICE_ID} is required`);
  for (const item of text.split(';')) {
    if (streamInteger(item, 0n, INT32_MAX) === null) return invalid(`${OptionKey.OPTION_DEVICE_ID} "${text}": "${item}" is not an integer in 0..${INT32_MAX}`);
  }
  return ok(undefined);
}

function singleDeviceId(text: string): Outcome<number> {
  const value = streamInteger(text, 0n, INT32_MAX);
  return value === null ? invalid(`${OptionKey.OPTION_DEVICE_ID} "${text}": V2 runs on one device (one int32)`) : ok(Number(value));
}

function transferBackend(text: string | undefined): Outcome<TransferBackend> {
  if (text === undefined) return ok('default');
  if (text === 'hixl') return ok('hixl');
  return invalid(`${OptionKey.OPTION_TRANSFER_BACKEND} "${text}": the only backend besides the default is "hixl"`);
}

/** The internal keys Initialize writes from ListenIpInfo; a caller may set them directly (A28). */
function listenFromInternalKeys(options: Readonly<Record<string, string>>): Outcome<ListenAddress | null> {
  const ip = options['llm.ListenIp'];
  const portText = options['llm.ListenPort'];
  if (portText === undefined) return ok(null);
  if (ip === undefined) return invalid('llm.ListenPort is set without llm.ListenIp');
  const port = uint32Option(portText);
  if (port === null) return invalid(`llm.ListenPort "${portText}" is not an integer in 0..${UINT32_MAX}`);
  return ok({ ip, port: Number(port), family: ip.includes(':') ? 6 : 4 });
}

/** Step 8, default backend: the HCCL transfer engine's options. */
function defaultEngineOptions(options: Readonly<Record<string, string>>): Outcome<void> {
  for (const key of ['llm.RdmaTrafficClass', 'llm.RdmaServiceLevel']) {
    const value = options[key];
    if (value !== undefined && uint32Option(value) === null) return invalid(`${key} "${value}" is not an unsigned 32-bit integer`);
  }
  const retries = options['llm.LinkRetryCount'];
  if (retries !== undefined && streamInteger(retries, 1n, 100n) === null) return invalid(`llm.LinkRetryCount "${retries}" is not an integer in 1..100`);
  return ok(undefined);
}

/** Steps 3-8, up to the start of the listen daemon. */
export function checkEngineSetup(options: Readonly<Record<string, string>>): Outcome<EngineSetup> {
  const deviceText = options[OptionKey.OPTION_DEVICE_ID];
  const items = deviceIdItems(deviceText);
  if (!items.ok) return items;
  const listenText = options[OptionKey.OPTION_LISTEN_IP_INFO];
  let listen: ListenAddress | null = null;
  if (listenText !== undefined) {
    const parsed = parseListenIpInfo(listenText);
    if (!parsed.ok) return parsed;
    listen = parsed.value;
  }
  const backend = transferBackend(options[OptionKey.OPTION_TRANSFER_BACKEND]);
  if (!backend.ok) return backend;
  const deviceId = singleDeviceId(deviceText as string);
  if (!deviceId.ok) return deviceId;
  if (listen === null) {
    const internal = listenFromInternalKeys(options);
    if (!internal.ok) return internal;
    listen = internal.value;
  }
  if (backend.value === 'hixl') {
    if (listen === null) return invalid(`${OptionKey.OPTION_TRANSFER_BACKEND} "hixl" needs ${OptionKey.OPTION_LISTEN_IP_INFO}`);
    const engine = checkHixlOptions(options);
    if (!engine.ok) return engine;
    return ok({ deviceId: deviceId.value, listen, transferBackend: 'hixl', commRes: null, hixlEngine: engine.value });
  }
  const engine = defaultEngineOptions(options);
  if (!engine.ok) return engine;
  const given = options[OptionKey.OPTION_LOCAL_COMM_RES] ?? '';
  const commRes = given !== '' ? given : listen !== null ? generateCommRes(listen.ip, deviceId.value) : null;
  return ok({ deviceId: deviceId.value, listen, transferBackend: 'default', commRes, hixlEngine: null });
}

/** `llm.MemPoolConfig` / `llm.HostMemPoolConfig` (A28); nothing is allocated (D13). */
function checkPoolConfig(key: string, text: string | undefined): Outcome<void> {
  if (text === undefined) return ok(undefined);
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    return invalid(`${key} is not valid JSON`);
  }
  const size = typeof config === 'object' && config !== null ? (config as Record<string, unknown>)['memory_size'] : undefined;
  const shift = typeof config === 'object' && config !== null ? ((config as Record<string, unknown>)['page_shift'] ?? 16) : undefined;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) return invalid(`${key}: memory_size must be an unsigned integer`);
  if (typeof shift !== 'number' || !Number.isInteger(shift) || shift < 10 || shift >= 31) return invalid(`${key}: page_shift must be an integer in [10, 31)`);
  if (BigInt(size) >> BigInt(shift) >= UINT32_MAX) return invalid(`${key}: memory_size >> page_shift must stay below 4294967295 pages`);
  return ok(undefined);
}

const MIB = 1_048_576;

/** Decimal digits only, within [min, max] (the host backend's reader). */
function integerIn(min: number, max: number): (value: string) => boolean {
  return (value) => isDigits(value) && Number(value) >= min && Number(value) <= max;
}

/**
 * dd's own keys (D16): known ones are validated, an unknown one is refused so a typo shows. The
 * ranges are the host backend's (packages/sys/native/host/own_options.cc); the fake accepts every key
 * the host backend does, whether or not it has a use for it.
 */
const DD_OPTIONS: Readonly<Record<string, (value: string) => boolean>> = {
  'dd.MaxLinks': integerIn(1, MAX_LINKS_LIMIT),
  'dd.DataPath': (value) => value === 'auto' || value === 'tcp',
  'dd.HeartbeatIntervalMs': integerIn(10, 600_000),
  // A shared secret of 16..4096 bytes (UTF-8).
  'dd.AuthSecret': (value) => {
    const bytes = new TextEncoder().encode(value).length;
    return bytes >= 16 && bytes <= 4096;
  },
  'dd.HandshakeTimeoutMs': integerIn(100, 600_000),
  'dd.HandshakeMaxBytes': integerIn(1024, 16 * MIB),
  'dd.MaxPendingHandshakes': integerIn(1, 65_536),
  'dd.LinkWindowBytes': integerIn(65_536, 1024 * MIB),
  'dd.PieceBytes': integerIn(4096, 256 * MIB),
  'dd.StreamsPerLink': integerIn(1, 16),
};

function checkDdOptions(options: Readonly<Record<string, string>>): Outcome<void> {
  for (const [key, value] of Object.entries(options)) {
    if (!key.startsWith('dd.')) continue;
    const valid = DD_OPTIONS[key];
    if (valid === undefined) return invalid(`unknown option ${key} (dd's own options: ${Object.keys(DD_OPTIONS).join(', ')})`);
    if (!valid(value)) return invalid(`option ${key} = "${value}" is not valid`);
  }
  return ok(undefined);
}

/** Steps 9-10, after the listen daemon started, then dd's own options. */
export function checkEngineLimits(options: Readonly<Record<string, string>>): Outcome<EngineLimits> {
  const waitText = options[OptionKey.OPTION_SYNC_CACHE_WAIT_TIME];
  let syncWaitMs = DEFAULT_SYNC_WAIT_MS;
  if (waitText !== undefined) {
    // Digits only, as V2 checks; "0" is accepted. V2 then uses atoi, which overflows past int32 (D11).
    if (!isDigits(waitText) || BigInt(waitText) > INT32_MAX) {
      return invalid(`${OptionKey.OPTION_SYNC_CACHE_WAIT_TIME} "${waitText}" must be digits only, at most ${INT32_MAX}`);
    }
    syncWaitMs = Number(waitText);
  }
  for (const key of ['llm.MemPoolConfig', 'llm.HostMemPoolConfig']) {
    const pool = checkPoolConfig(key, options[key]);
    if (!pool.ok) return pool;
  }
  const own = checkDdOptions(options);
  if (!own.ok) return own;
  const maxLinks = options['dd.MaxLinks'];
  return ok({ syncWaitMs, maxLinks: maxLinks === undefined ? DEFAULT_MAX_LINKS : Number(maxLinks), authSecret: options['dd.AuthSecret'] ?? null });
}

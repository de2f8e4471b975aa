import { OptionKey, type Bindings, type LlmRole } from '@dd/sys';
import { closestName } from './closest-name.js';
import { DEFAULT_LINK_POLL_MS } from './link-health.js';
import { DataDistArgumentError, type OperationName } from './errors.js';
import { toNativeRole, type Role } from './role.js';
import { describe, requireObject, toIP, toIntInRange, toPort, toTimeoutMs, toU64 } from './validate.js';

/** An address this engine listens on for incoming links (IPv4 or IPv6). */
export interface ListenAddress {
  readonly ip: string;
  /** TCP port in [1, 65535]. */
  readonly port: number;
}

/** The shared secret of {@link EngineOptions.auth}. */
export interface AuthOptions {
  /** 16 to 4096 bytes of UTF-8 without NUL, the same on every engine; never echoed in errors. */
  readonly secret: string;
}

/** Everything {@link LlmDataDist.create} needs, in one object. */
export interface EngineOptions {
  /** This engine's cluster id: a bigint in [0, 2^64), or a non-negative safe-integer number. */
  readonly clusterId: bigint | number;
  /** The engine's role. */
  readonly role: Role;
  /** Device (card) id, an integer in [0, 2^31); default 0. Becomes `llm.DeviceId`. */
  readonly deviceId?: number | undefined;
  /**
   * Listen for incoming links on this address (`llm.ListenIpInfo`); omit for a client-only engine.
   * Peers that pull from or push to this engine link to this address.
   */
  readonly listen?: ListenAddress | undefined;
  /**
   * The native deadline of every pull and push, in ms (`llm.SyncKvCacheWaitTime`, default 1000).
   * This is the deadline the backend enforces; a per-call `timeoutMs` can only give up earlier.
   */
  readonly syncTimeoutMs?: number | undefined;
  /**
   * The most links this engine holds, made and accepted (`dd.MaxLinks`, an integer in [1, 1048576],
   * default 4096). V2 has no such cap; dd bounds it so no peer can exhaust an engine (docs/compat.md D12).
   */
  readonly maxLinks?: number | undefined;
  /**
   * Peer authentication (`dd.AuthSecret`, host backend and fake; docs/security.md). Every engine
   * that links to or accepts links from this one must hold the same secret: both sides prove it in
   * the handshake before anything about memory is sent, and a peer that cannot gets
   * `LLM_LINK_FAILED`. It does not encrypt the data path. Without it, any process that reaches the
   * listen port can link, as in V2; an engine listening beyond loopback without it warns once.
   */
  readonly auth?: AuthOptions | undefined;
  /** Local communication resources (`llm.LocalCommRes`): the JSON rank table, as text or an object. */
  readonly localCommResources?: string | Readonly<Record<string, unknown>>;
  /**
   * How often, in ms, the engine asks its backend about the links it made, while it holds any
   * (an integer in [10, 60000], default 100). A backend that watches its links (the host backend,
   * the fake) then reports a dead peer without a transfer (`linkstatechange`); each ask is one
   * native call that never waits on the network. CANN's engine cannot tell, and is not asked again.
   */
  readonly linkPollIntervalMs?: number | undefined;
  /** Further raw options passed through unchanged (e.g. `'llm.MemPoolConfig'`); must not repeat a key set above. */
  readonly extraOptions?: Readonly<Record<string, string>>;
  /** The backend to run on, e.g. `new FakeNetwork().bindings`; default: the native library via `loadNativeBindings()`. */
  readonly bindings?: Bindings | undefined;
  /** Path of the native library, passed to `loadNativeBindings({ library })` when `bindings` is not given. */
  readonly nativeLibrary?: string | undefined;
}

/** Engine options after validation, in native form. */
export interface ResolvedEngineOptions {
  readonly clusterId: bigint;
  readonly role: Role;
  readonly nativeRole: LlmRole;
  readonly listen: ListenAddress | undefined;
  readonly hasLocalCommResources: boolean;
  /** Whether the engine holds a shared secret (`auth` or `dd.AuthSecret` in `extraOptions`). */
  readonly authenticated: boolean;
  /** `llm.DeviceId`: the device the engine runs on and allocates device memory on. */
  readonly deviceId: number;
  readonly nativeOptions: Readonly<Record<string, string>>;
  readonly linkPollIntervalMs: number;
}

const OP: OperationName = 'create';

/** Every key of EngineOptions; anything else is a typo caught before it silently does nothing. */
const OPTION_NAMES: readonly (keyof EngineOptions)[] = [
  'clusterId',
  'role',
  'deviceId',
  'listen',
  'syncTimeoutMs',
  'maxLinks',
  'auth',
  'localCommResources',
  'linkPollIntervalMs',
  'extraOptions',
  'bindings',
  'nativeLibrary',
];

const MAX_LINKS_KEY = 'dd.MaxLinks';
const AUTH_SECRET_KEY = 'dd.AuthSecret';

/** `auth.secret` as `dd.AuthSecret` takes it; the secret itself never appears in the error. */
function toAuthSecret(value: unknown): string {
  const auth = requireObject(OP, 'options.auth', value);
  for (const key of Object.keys(auth)) {
    if (key !== 'secret') throw new DataDistArgumentError(OP, `options.auth.${key}`, 'is not an auth option; the only one is `secret`');
  }
  const secret = toOptionText('options.auth.secret', auth.secret, 'secret');
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < 16 || bytes > 4096) throw new DataDistArgumentError(OP, 'options.auth.secret', `must be 16 to 4096 bytes of UTF-8 (it is ${bytes})`);
  return secret;
}

/** `localCommResources` given as an object, as JSON text; a value JSON cannot hold is an argument error. */
function toJson(value: object): string {
  try {
    return JSON.stringify(value);
  } catch (cause) {
    throw new DataDistArgumentError(OP, 'options.localCommResources', `must be JSON-serializable (${(cause as Error).message})`);
  }
}

/** Throws for a key EngineOptions does not have, naming the closest one. */
function rejectUnknownKeys(options: Record<string, unknown>): void {
  for (const key of Object.keys(options)) {
    if ((OPTION_NAMES as readonly string[]).includes(key)) continue;
    const closest = closestName(key, OPTION_NAMES);
    const hint = closest === undefined ? `; the options are ${OPTION_NAMES.join(', ')}` : `; did you mean \`${closest}\`?`;
    throw new DataDistArgumentError(OP, `options.${key}`, `is not an engine option${hint}`);
  }
}

/** A raw option key or value as the native map takes it: a string without NUL (C strings end there). A secret is never echoed. */
function toOptionText(argument: string, value: unknown, what: 'key' | 'value' | 'secret'): string {
  const shown = what === 'secret' ? undefined : describe(value);
  if (typeof value !== 'string') throw new DataDistArgumentError(OP, argument, 'must be a string', shown);
  if (value.includes('\0')) throw new DataDistArgumentError(OP, argument, `must not contain a NUL character (the native ${what === 'key' ? 'key' : 'value'} would end there)`, shown);
  if (what === 'key' && value.length === 0) throw new DataDistArgumentError(OP, argument, 'must not be empty');
  return value;
}

/** `ip:port`, with IPv6 in brackets, as `llm.ListenIpInfo` expects. */
export function formatListenAddress(address: ListenAddress): string {
  return address.ip.includes(':') ? `[${address.ip}]:${address.port}` : `${address.ip}:${address.port}`;
}

/** A listen address checked for `op`. */
export function toListenAddress(op: OperationName, argument: string, value: unknown): ListenAddress {
  const obj = requireObject(op, argument, value);
  return { ip: toIP(op, `${argument}.ip`, obj.ip), port: toPort(op, `${argument}.port`, obj.port, false) };
}

/** Validates the options and builds the native option map. */
export function resolveEngineOptions(value: unknown): ResolvedEngineOptions {
  const options = requireObject(OP, 'options', value);
  rejectUnknownKeys(options);
  const clusterId = toU64(OP, 'options.clusterId', options.clusterId);
  const nativeRole = toNativeRole(OP, 'options.role', options.role);
  const role = options.role as Role;
  const deviceId = options.deviceId === undefined ? 0 : toIntInRange(OP, 'options.deviceId', options.deviceId, 0, 0x7fffffff);
  const native: Record<string, string> = { [OptionKey.OPTION_DEVICE_ID]: String(deviceId) };

  let listen: ListenAddress | undefined;
  if (options.listen !== undefined) {
    listen = toListenAddress(OP, 'options.listen', options.listen);
    native[OptionKey.OPTION_LISTEN_IP_INFO] = formatListenAddress(listen);
  }
  if (options.syncTimeoutMs !== undefined) {
    native[OptionKey.OPTION_SYNC_CACHE_WAIT_TIME] = String(toTimeoutMs(OP, 'options.syncTimeoutMs', options.syncTimeoutMs));
  }
  if (options.maxLinks !== undefined) {
    native[MAX_LINKS_KEY] = String(toIntInRange(OP, 'options.maxLinks', options.maxLinks, 1, 1_048_576));
  }
  if (options.auth !== undefined) native[AUTH_SECRET_KEY] = toAuthSecret(options.auth);
  const comm = options.localCommResources;
  if (comm !== undefined) {
    if (typeof comm === 'string' && comm.length > 0) native[OptionKey.OPTION_LOCAL_COMM_RES] = toOptionText('options.localCommResources', comm, 'value');
    else if (typeof comm === 'object' && comm !== null && !Array.isArray(comm)) native[OptionKey.OPTION_LOCAL_COMM_RES] = toJson(comm);
    else throw new DataDistArgumentError(OP, 'options.localCommResources', 'must be a non-empty JSON string or an object', describe(comm));
  }
  if (options.extraOptions !== undefined) {
    const extra = requireObject(OP, 'options.extraOptions', options.extraOptions);
    for (const [key, raw] of Object.entries(extra)) {
      const argument = `options.extraOptions[${JSON.stringify(key)}]`;
      toOptionText(`${argument} (its key)`, key, 'key');
      const text = toOptionText(argument, raw, key === AUTH_SECRET_KEY ? 'secret' : 'value');
      if (Object.hasOwn(native, key)) {
        throw new DataDistArgumentError(OP, argument, 'repeats an option set by a typed field (deviceId, listen, syncTimeoutMs, maxLinks, auth, localCommResources); set it there');
      }
      native[key] = text;
    }
  }
  const authenticated = Object.hasOwn(native, AUTH_SECRET_KEY);
  const linkPollIntervalMs = options.linkPollIntervalMs === undefined ? DEFAULT_LINK_POLL_MS : toIntInRange(OP, 'options.linkPollIntervalMs', options.linkPollIntervalMs, 10, 60_000);
  return { clusterId, role, nativeRole, listen, deviceId, hasLocalCommResources: comm !== undefined, authenticated, nativeOptions: native, linkPollIntervalMs };
}

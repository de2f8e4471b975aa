import { lstatSync, readFileSync } from 'node:fs';
import { OptionKey } from '@dd/sys';
import { streamInteger } from './option-values.js';
import { invalid, ok, type Outcome } from './outcome.js';

/*
 * What the hixl backend checks while its engine is created at Initialize (A7, A19): the four llm
 * keys it takes over, `llm.GlobalResourceConfig` included. Every failure is PARAM_INVALID.
 */

/** Which engine hixl runs: HIXL-CS for rank table "1.3" or a protocol_desc, else the comm (ADXL) engine. */
export type HixlEngine = 'hixl-cs' | 'comm';

const MAX_COMM_RES_FILE_BYTES = 1024 * 1024;
const DEFAULT_MAX_CHANNEL = 512;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON integers or numeric strings. */
function integerField(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) return Number(value);
  return null;
}

interface IntegerRule {
  readonly key: string;
  readonly min: number;
  readonly max: number;
}

const INTEGER_RULES: readonly IntegerRule[] = [
  { key: 'fabric_memory.max_capacity', min: 1, max: 1024 },
  { key: 'fabric_memory.start_address', min: 0, max: 1024 },
  { key: 'fabric_memory.task_stream_num', min: 1, max: 8 },
  { key: 'connect_pool.thread_num', min: 1, max: 64 },
  { key: 'connect_pool.task_queue_capacity', min: 1, max: 65535 },
  { key: 'comm_resource_config.listen_port', min: 1, max: 65535 },
  { key: 'comm_resource_config.qos', min: 0, max: 7 },
  { key: 'comm_resource_config.max_active_channels', min: 1, max: Number.MAX_SAFE_INTEGER },
];

/** `fabric_memory.x` may also be written as `{"fabric_memory": {"x": …}}`. */
function field(config: Json, key: string): unknown {
  if (key in config) return config[key];
  const [group, name] = key.split('.') as [string, string];
  const nested = config[group];
  return group === 'fabric_memory' && isObject(nested) ? nested[name] : undefined;
}

function checkIntegers(config: Json): Outcome<void> {
  for (const rule of INTEGER_RULES) {
    const raw = field(config, rule.key);
    if (raw === undefined) continue;
    const value = integerField(raw);
    if (value === null || value < rule.min || value > rule.max) {
      return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG}: ${rule.key} ${JSON.stringify(raw)} is not an integer in ${rule.min}..${rule.max}`);
    }
  }
  const streams = field(config, 'fabric_memory.task_stream_num');
  const unfold = field(config, 'fabric_memory.enable_aicpu_unfold');
  if (streams !== undefined && integerField(streams) !== 1 && unfold !== false) {
    return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG}: fabric_memory.task_stream_num must be 1 unless fabric_memory.enable_aicpu_unfold is false`);
  }
  return ok(undefined);
}

function protocolDescGiven(config: Json): Outcome<boolean> {
  const desc = config['comm_resource_config.protocol_desc'];
  if (desc === undefined) return ok(false);
  if (typeof desc === 'string') return ok(desc !== '');
  if (Array.isArray(desc) && desc.every((entry) => typeof entry === 'string')) return ok(desc.length > 0);
  return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG}: comm_resource_config.protocol_desc must be a string or an array of strings`);
}

/** A waterline is a fraction in (0, 1); the marks are waterline × max_channel, rounded down. */
function checkChannelPool(config: Json): Outcome<void> {
  const high = config['channel_pool.high_waterline'];
  const low = config['channel_pool.low_waterline'];
  const maxRaw = config['channel_pool.max_channel'];
  for (const [name, value] of [['high_waterline', high], ['low_waterline', low]] as const) {
    if (value !== undefined && (typeof value !== 'number' || !(value > 0 && value < 1))) {
      return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG}: channel_pool.${name} ${JSON.stringify(value)} must be a number in (0, 1)`);
    }
  }
  let maxChannel = DEFAULT_MAX_CHANNEL;
  if (maxRaw !== undefined) {
    const value = integerField(maxRaw);
    if (high === undefined || low === undefined) {
      return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG}: channel_pool.max_channel needs both waterlines`);
    }
    if (value === null || value < 1 || value > DEFAULT_MAX_CHANNEL) {
      return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG}: channel_pool.max_channel ${JSON.stringify(maxRaw)} is not an integer in 1..512`);
    }
    maxChannel = value;
  }
  if (typeof high === 'number' && typeof low === 'number' && Math.floor(high * maxChannel) - Math.floor(low * maxChannel) < 1) {
    return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG}: the high and low channel marks must be at least 1 apart`);
  }
  return ok(undefined);
}

/** `local_comm_res_path`: a regular file (not a link) of 1 B..1 MiB whose text becomes LocalCommRes. */
function readCommResFile(path: unknown): Outcome<string> {
  if (typeof path !== 'string' || path === '') return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG}: local_comm_res_path must be a non-empty string`);
  try {
    const stat = lstatSync(path);
    if (!stat.isFile() || stat.size < 1 || stat.size > MAX_COMM_RES_FILE_BYTES) {
      return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG}: local_comm_res_path "${path}" is not a regular file of 1 B..1 MiB`);
    }
    return ok(readFileSync(path, 'utf8'));
  } catch {
    return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG}: local_comm_res_path "${path}" cannot be read`);
  }
}

function commResVersion(text: string): Outcome<string | null> {
  try {
    const table: unknown = JSON.parse(text);
    return ok(isObject(table) && typeof table['version'] === 'string' ? table['version'] : null);
  } catch {
    return invalid(`${OptionKey.OPTION_LOCAL_COMM_RES} is not valid JSON (TransferBackend "hixl" parses it at Initialize)`);
  }
}

function checkRdma(options: Readonly<Record<string, string>>): Outcome<void> {
  const trafficClass = options['llm.RdmaTrafficClass'];
  if (trafficClass !== undefined) {
    const value = streamInteger(trafficClass, 0n, 255n);
    if (value === null || value % 4n !== 0n) return invalid(`llm.RdmaTrafficClass "${trafficClass}" must be 0..255 and a multiple of 4 with TransferBackend "hixl"`);
  }
  const serviceLevel = options['llm.RdmaServiceLevel'];
  if (serviceLevel !== undefined && streamInteger(serviceLevel, 0n, 7n) === null) {
    return invalid(`llm.RdmaServiceLevel "${serviceLevel}" must be 0..7 with TransferBackend "hixl"`);
  }
  return ok(undefined);
}

/** The hixl engine's option checks; which engine it picks. */
export function checkHixlOptions(options: Readonly<Record<string, string>>): Outcome<HixlEngine> {
  const rdma = checkRdma(options);
  if (!rdma.ok) return rdma;
  const configText = options[OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG] ?? '';
  let config: Json = {};
  if (configText !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(configText);
    } catch {
      return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG} is not valid JSON`);
    }
    if (!isObject(parsed)) return invalid(`${OptionKey.OPTION_GLOBAL_RESOURCE_CONFIG} must be a JSON object`);
    config = parsed;
  }
  const integers = checkIntegers(config);
  if (!integers.ok) return integers;
  const protocol = protocolDescGiven(config);
  if (!protocol.ok) return protocol;
  let commRes = options[OptionKey.OPTION_LOCAL_COMM_RES] ?? '';
  if (commRes === '' && config['local_comm_res_path'] !== undefined) {
    const file = readCommResFile(config['local_comm_res_path']);
    if (!file.ok) return file;
    commRes = file.value;
  }
  const version = commRes === '' ? ok(null) : commResVersion(commRes);
  if (!version.ok) return version;
  if (version.value === '1.3' || protocol.value) return ok('hixl-cs');
  const pool = checkChannelPool(config);
  return pool.ok ? ok('comm') : pool;
}

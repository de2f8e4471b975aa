/*
 * `llm.LocalCommRes` of the default backend (A7): stored as given at Initialize, generated when
 * absent, and checked at every link handshake, on both ends, against the local and the peer value.
 */

const MAX_COMM_RES_BYTES = 64 * 1024;
const LINK_VERSIONS: readonly string[] = ['1.0', '1.2'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value V2 generates for this node (version "1.0", one server, one device). */
export function generateCommRes(serverIp: string, deviceId: number): string {
  return JSON.stringify({
    version: '1.0',
    server_count: '1',
    server_list: [{ server_id: serverIp, device: [{ device_id: String(deviceId), device_ip: serverIp, rank_id: '0' }] }],
    status: 'completed',
  });
}

/**
 * Why `text` cannot take part in a link, or null. Both values need a string version "1.0" or
 * "1.2" and a server_list whose every entry has a string server_id and exactly one device with a
 * string device_id; the local value needs an entry, and every one must name this node's device.
 */
export function commResProblem(text: string, side: 'local' | 'peer', deviceId: number): string | null {
  const what = `${side} llm.LocalCommRes`;
  if (new TextEncoder().encode(text).length > MAX_COMM_RES_BYTES) return `${what} is larger than 64 KiB`;
  let table: unknown;
  try {
    table = JSON.parse(text);
  } catch {
    return `${what} is not valid JSON`;
  }
  if (!isObject(table) || typeof table['version'] !== 'string') return `${what} has no string "version"`;
  if (!LINK_VERSIONS.includes(table['version'])) return `${what} version "${table['version']}" is not "1.0" or "1.2"`;
  const servers = table['server_list'];
  if (!Array.isArray(servers)) return `${what} has no "server_list" array`;
  // V2's checks pass an empty local list, but the comm it builds then has no local rank.
  if (side === 'local' && servers.length === 0) return `${what} has no server entry for this node`;
  for (const [index, server] of servers.entries()) {
    const devices: unknown = isObject(server) ? server['device'] : undefined;
    if (!isObject(server) || typeof server['server_id'] !== 'string' || !Array.isArray(devices)) {
      return `${what} server_list[${index}] needs a string "server_id" and a "device" array`;
    }
    const [device] = devices as unknown[];
    if (devices.length !== 1 || !isObject(device) || typeof device['device_id'] !== 'string') {
      return `${what} server_list[${index}] must have exactly one device with a string "device_id"`;
    }
    if (side === 'local' && device['device_id'] !== String(deviceId)) {
      return `${what} names device ${device['device_id']}, but this node's device is ${deviceId}`;
    }
  }
  return null;
}

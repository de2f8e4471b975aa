import { isIPv6 } from 'node:net';
import { UINT32_MAX, streamInteger } from './option-values.js';
import { invalid, ok, type Outcome } from './outcome.js';

/** A listen address as V2 accepts it (A11): the IP as written and the port as given. */
export interface ListenAddress {
  readonly ip: string;
  /** The port as given, 0..4294967295; the daemon binds `port mod 65536` (0: any free port). */
  readonly port: number;
  readonly family: 4 | 6;
}

/** inet_pton(AF_INET): four decimal parts of at most 255, no leading zeros, nothing else. */
export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^(0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255);
}

/** inet_pton(AF_INET6); node also accepts a zone suffix, which inet_pton does not. */
function isInetIPv6(text: string): boolean {
  return !text.includes('%') && isIPv6(text);
}

/** What inet_pton accepts as either family. */
export function isIpAddress(text: string): boolean {
  return isIPv4(text) || isInetIPv6(text);
}

export function addressKey(ip: string, port: number): string {
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * `llm.ListenIpInfo` (A11). With `[` before `]`, the IP is the text between them and the port is
 * whatever follows the first ':' after `]`; otherwise the text splits on ':' into exactly two parts.
 * The IP must pass inet_pton (v4 or v6); the port is any integer 0..4294967295 (stream extraction).
 */
export function parseListenIpInfo(text: string): Outcome<ListenAddress> {
  let parts: string[];
  const left = text.indexOf('[');
  const right = text.indexOf(']');
  if (left >= 0 && right >= 0 && left < right) {
    parts = [text.slice(left + 1, right)];
    const colon = text.indexOf(':', right);
    if (colon >= 0) parts.push(text.slice(colon + 1));
  } else {
    parts = text.split(':');
  }
  if (parts.length !== 2) return invalid(`llm.ListenIpInfo "${text}": expected "ip:port" or "[ip]:port"`);
  const [ip = '', portText = ''] = parts;
  const family = isIPv4(ip) ? 4 : isInetIPv6(ip) ? 6 : null;
  if (family === null) return invalid(`llm.ListenIpInfo "${text}": "${ip}" is not an IP address`);
  const port = streamInteger(portText, 0n, UINT32_MAX);
  if (port === null) return invalid(`llm.ListenIpInfo "${text}": port "${portText}" is not an integer in 0..4294967295`);
  return ok({ ip, port: Number(port), family });
}

/** The TCP port a daemon given `port` binds: V2 stores the port in 32 bits and passes it to htons. */
export function boundPort(port: number): number {
  return port % 65536;
}

import { isIPv6 } from 'node:net';
import { invalid, ok, type Outcome } from './outcome.js';

/** A listen address as V2 accepts it in `llm.ListenIpInfo`: `a.b.c.d:port` or `[v6]:port`. */
export interface ListenAddress {
  readonly ip: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** How the fake network keys the listener: `ip:port`, or `[v6]:port`. */
  readonly key: string;
}

/** Dotted-quad IPv4 with four decimal parts of at most 255, the only form links accept. */
export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^[0-9]{1,3}$/.test(part) && Number(part) <= 255);
}

export function addressKey(ip: string, port: number): string {
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function parsePort(text: string): number | null {
  if (!/^[0-9]{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port <= 0xffff ? port : null;
}

export function parseListenAddress(text: string): Outcome<ListenAddress> {
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (bracketed) {
    const [, ip = '', portText = ''] = bracketed;
    const port = parsePort(portText);
    if (!isIPv6(ip)) return invalid(`ListenIpInfo "${text}": "${ip}" is not an IPv6 address`);
    if (port === null) return invalid(`ListenIpInfo "${text}": port must be an integer in 0..65535`);
    return ok({ ip, port, family: 6, key: addressKey(ip, port) });
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) return invalid(`ListenIpInfo "${text}": expected "ip:port" or "[v6]:port"`);
  const ip = text.slice(0, colon);
  const port = parsePort(text.slice(colon + 1));
  if (!isIPv4(ip)) return invalid(`ListenIpInfo "${text}": "${ip}" is not an IPv4 address (use "[v6]:port" for IPv6)`);
  if (port === null) return invalid(`ListenIpInfo "${text}": port must be an integer in 0..65535`);
  return ok({ ip, port, family: 4, key: addressKey(ip, port) });
}

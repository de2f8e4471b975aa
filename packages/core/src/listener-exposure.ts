import diagnostics_channel from 'node:diagnostics_channel';
import { BlockList, isIPv4 } from 'node:net';
import type { ListenAddress } from './engine-options.js';

/**
 * Channel on which an engine that listens beyond loopback without `auth` is announced, once per
 * process (docs/security.md): any process that reaches the port can link and read or write every
 * registered cache, as in V2 (A25).
 */
export const UNAUTHENTICATED_LISTENER_CHANNEL = 'dd:core:security:unauthenticated-listener';

/** Published on {@link UNAUTHENTICATED_LISTENER_CHANNEL}. */
export interface UnauthenticatedListenerEvent {
  /** The engine that listens. */
  readonly clusterId: bigint;
  readonly listen: ListenAddress;
}

const channel = diagnostics_channel.channel(UNAUTHENTICATED_LISTENER_CHANNEL);
let warned = false;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether only this host can reach `ip`: 127.0.0.0/8 or ::1, IPv4-mapped forms included. */
export function isLoopback(ip: string): boolean {
  return LOOPBACK.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6');
}

/**
 * Warns once per process (a `DataDistSecurityWarning` process warning) and publishes on the
 * channel every time an engine starts listening beyond loopback without a shared secret.
 */
export function noteListener(clusterId: bigint, listen: ListenAddress | undefined, authenticated: boolean): void {
  if (listen === undefined || authenticated || isLoopback(listen.ip)) return;
  if (channel.hasSubscribers) channel.publish({ clusterId, listen } satisfies UnauthenticatedListenerEvent);
  if (warned) return;
  warned = true;
  process.emitWarning(
    `engine ${clusterId} listens on ${listen.ip}:${listen.port} without auth: any process that reaches this port can link and read or write every registered cache. Set the same auth.secret on every engine, or listen on a private network (docs/security.md).`,
    { type: 'DataDistSecurityWarning', code: 'DD_UNAUTHENTICATED_LISTENER' },
  );
}

import type { Placement } from '@dd/core';

/**
 * The side channel between the decode process and the prompt process it spawned: one JSON object
 * per line, commands on the prompt's stdin, events on its stdout. It carries what a serving
 * router would carry out of band (where the prompt listens, which cache holds the request) and the
 * demo's own checks; KV bytes only ever move through LLM-DataDist.
 */

/** Sent once the prompt engine listens and its caches (one per placement) are registered and filled. */
export interface ReadyEvent {
  readonly event: 'ready';
  readonly port: number;
  readonly clusterId: string;
  readonly caches: readonly { readonly placement: Placement; readonly cacheId: string }[];
  /** Bytes of one cache (every tensor). */
  readonly cacheBytes: number;
  readonly fillMs: number;
}

export interface VerifiedEvent {
  readonly event: 'verified';
  readonly bytes: number;
}

/** The blocks decode pushes into were zeroed. */
export interface ClearedEvent {
  readonly event: 'cleared';
}

export interface ClosedEvent {
  readonly event: 'closed';
}

/** The prompt side failed; `message` says why. */
export interface FailedEvent {
  readonly event: 'failed';
  readonly message: string;
}

export type PromptEvent = ReadyEvent | VerifiedEvent | ClearedEvent | ClosedEvent | FailedEvent;

/** Check every byte of the prompt cache of `placement` (`pushed`: decode has pushed its blocks back). */
export interface VerifyCommand {
  readonly command: 'verify';
  readonly placement: Placement;
  readonly pushed: boolean;
}

/** Zero the blocks of the prompt cache of `placement` that decode pushes into, so the next verify proves the next push wrote them. */
export interface ClearCommand {
  readonly command: 'clear';
  readonly placement: Placement;
}

/** Unregister, finalize and exit. */
export interface FinishCommand {
  readonly command: 'finish';
}

export type PromptCommand = VerifyCommand | ClearCommand | FinishCommand;

const EVENTS = new Set(['ready', 'verified', 'cleared', 'closed', 'failed']);

/** Parses one stdout line of the prompt process; undefined for lines that are not events. */
export function parseEvent(line: string): PromptEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as { event?: unknown };
    return typeof value.event === 'string' && EVENTS.has(value.event) ? (value as PromptEvent) : undefined;
  } catch {
    return undefined;
  }
}

/** Parses one stdin line of the prompt process; throws on anything else. */
export function parseCommand(line: string): PromptCommand {
  const value = JSON.parse(line) as { command?: unknown; placement?: unknown; pushed?: unknown };
  if (value.command === 'finish') return { command: 'finish' };
  if (value.command === 'clear' && (value.placement === 'device' || value.placement === 'host')) return { command: 'clear', placement: value.placement };
  if (value.command === 'verify' && typeof value.pushed === 'boolean' && (value.placement === 'device' || value.placement === 'host')) {
    return { command: 'verify', placement: value.placement, pushed: value.pushed };
  }
  throw new Error(`not a prompt command: ${line}`);
}

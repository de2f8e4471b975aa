import diagnostics_channel from 'node:diagnostics_channel';
import { LinkState as NativeLinkState, StatusCode, type Bindings, type LlmDataDistHandle } from '@dd/sys';
import { ClusterLink, linkInternals, type LinkBreakCause, type LinkCloseReason, type LinkState } from './cluster-link.js';
import type { DataDistError } from './errors.js';

/*
 * Link health: the state of each link an engine made, from what its backend reports. A backend
 * that watches its links (the host backend, the fake) answers dd's extension `ddLinkStates`
 * (headers/dd/link_health.h) without touching the network; the engine asks it on a timer while it
 * holds links, and right after a transfer fails with a link-level status. A backend that cannot
 * tell (CANN) answers LLM_FEATURE_NOT_ENABLED, and then transfer results are all there is: a
 * link-level failure marks the link broken, unconfirmed. docs/design/link-health.md has the design.
 */

/** The name of the engine event that reports every change of a link's state. */
export const LINK_STATE_CHANGE_EVENT = 'linkstatechange';

/** Channel on which every change of a link's state is published (as the engine event). */
export const LINK_STATE_CHANNEL = 'dd:core:link:state';

/** Published on {@link LINK_STATE_CHANNEL}. */
export interface LinkStateChangeMessage {
  /** The cluster id of the engine that holds the link. */
  readonly clusterId: bigint;
  /** The peer's cluster id (the link's name). */
  readonly peerClusterId: bigint;
  readonly state: LinkState;
  readonly previous: LinkState;
}

/** Dispatched on the engine (`engine.addEventListener('linkstatechange', …)`) when a link it made changes state. */
export class LinkStateChangeEvent extends Event {
  /** The link whose state changed (`link.state` is `state`). */
  readonly link: ClusterLink;
  readonly state: LinkState;
  readonly previous: LinkState;

  constructor(link: ClusterLink, state: LinkState, previous: LinkState) {
    super(LINK_STATE_CHANGE_EVENT);
    this.link = link;
    this.state = state;
    this.previous = previous;
  }
}

/** The default period of the backend poll, in ms. */
export const DEFAULT_LINK_POLL_MS = 100;

/** Statuses with which a failed transfer may mean that its link broke (choices A1/A16 of docs/compat.md: a dead peer is LLM_TIMEOUT). */
const LINK_LEVEL = new Set<number>([StatusCode.LLM_TIMEOUT, StatusCode.LLM_WAIT_PROC_TIMEOUT, StatusCode.LLM_LINK_FAILED]);

/** Whether a transfer that failed with `status` may have failed because its link broke. */
export function isLinkLevelStatus(status: number): boolean {
  return LINK_LEVEL.has(status >>> 0);
}

const CAUSE_CAPACITY = 1024;
const channel = diagnostics_channel.channel(LINK_STATE_CHANNEL);

/** What the monitor needs of its engine. */
export interface LinkHealthHost {
  readonly bindings: Bindings;
  readonly handle: LlmDataDistHandle;
  readonly clusterId: bigint;
  readonly pollIntervalMs: number;
  /** The links the engine made and holds. */
  links(): Iterable<ClusterLink>;
  /** The backend no longer holds `link`: drop it from the engine's links. */
  forget(link: ClusterLink): void;
  /** Dispatches the engine event. */
  dispatch(event: LinkStateChangeEvent): void;
}

/**
 * Keeps the state of an engine's links true: polls the backend while links are held, judges
 * failed transfers, closes links, and lets one relink per cluster run at a time.
 */
export class LinkHealthMonitor {
  readonly #host: LinkHealthHost;
  /** Undefined until the backend answered once; false when it cannot tell (transfer results only). */
  #watching: boolean | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Links an unlink or relink of this engine is taking down: the backend may drop them any moment. */
  readonly #busy = new Set<ClusterLink>();
  /** Links the backend has reported as held: only those can be found dropped (a link named by another id than the peer's, A1, never is). */
  readonly #held = new WeakSet<ClusterLink>();
  readonly #relinks = new Map<bigint, Promise<ClusterLink>>();

  constructor(host: LinkHealthHost) {
    this.#host = host;
  }

  /** Whether the backend reports link health without transfers (undefined until it was asked). */
  get watching(): boolean | undefined {
    return this.#watching;
  }

  /** A link was made: learn at once whether the backend holds it, and keep polling. */
  track(link: ClusterLink): void {
    this.#observe([link]);
    this.#schedule();
  }

  /** The engine's unlink or relink is taking `links` down: the poll leaves them alone until `settle`. */
  hold(links: readonly ClusterLink[]): void {
    for (const link of links) this.#busy.add(link);
  }

  /** The unlink or relink ended; links it closed are closed, the others are watched again. */
  release(links: readonly ClusterLink[]): void {
    for (const link of links) this.#busy.delete(link);
    this.#schedule();
  }

  /** The link is gone for `reason`; its state says so for good. */
  close(link: ClusterLink, reason: LinkCloseReason): void {
    const current = link.state;
    this.#busy.delete(link);
    this.#set(link, { status: 'closed', reason, ...(current.status === 'broken' ? { cause: current.cause } : {}) });
    this.#schedule();
  }

  /** A transfer over `link` succeeded: a break only a timeout suggested was not one. */
  transferSucceeded(link: ClusterLink): void {
    const current = link.state;
    if (current.status === 'broken' && !current.cause.confirmed) this.#set(link, { status: 'up' });
  }

  /**
   * A transfer over `link` failed. With a link-level status the backend is asked about the link
   * (a watching backend knows a dead peer from a slow transfer); a backend that cannot tell
   * leaves the status as the only evidence, and the link is marked broken, unconfirmed.
   */
  transferFailed(link: ClusterLink, error: DataDistError): void {
    if (!isLinkLevelStatus(error.status) || link.state.status !== 'up' || this.#busy.has(link)) return;
    const known = this.#query([link.clusterId]);
    if (known === undefined) {
      this.#set(link, { status: 'broken', cause: cause('transfer', false, error.nativeMessage || error.message, error) });
      return;
    }
    const state = known[0];
    if (state === NativeLinkState.DD_LINK_STATE_BROKEN) {
      this.#set(link, { status: 'broken', cause: cause('transfer', true, this.#breakCause(link.clusterId) || error.nativeMessage, error) });
    } else if (state === NativeLinkState.DD_LINK_STATE_ABSENT && this.#held.has(link)) {
      this.#drop(link);
    }
  }

  /**
   * Runs `relink` unless one for the same cluster is running (then its result is shared), or
   * `seen` is a link that another relink has already replaced by a working one (then that one is
   * the result): two callers that saw the same break relink once.
   */
  relinkOnce(clusterId: bigint, seen: ClusterLink | undefined, relink: () => Promise<ClusterLink>): Promise<ClusterLink> {
    const running = this.#relinks.get(clusterId);
    if (running !== undefined) return running;
    if (seen !== undefined) {
      const current = this.#current(clusterId);
      if (current !== undefined && current !== seen && current.state.status === 'up') return Promise.resolve(current);
    }
    const run = relink().finally(() => this.#relinks.delete(clusterId));
    this.#relinks.set(clusterId, run);
    return run;
  }

  /** Stops polling (the engine closes). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #current(clusterId: bigint): ClusterLink | undefined {
    for (const link of this.#host.links()) if (link.clusterId === clusterId) return link;
    return undefined;
  }

  /** Polls while links are held and the backend watches them; the timer never keeps the process alive. */
  #schedule(): void {
    const wanted = this.#watching !== false && [...this.#host.links()].some((l) => l.state.status === 'up');
    if (wanted && this.#timer === undefined) {
      this.#timer = setInterval(() => this.#poll(), this.#host.pollIntervalMs);
      this.#timer.unref?.();
    } else if (!wanted) {
      this.stop();
    }
  }

  #poll(): void {
    const links = [...this.#host.links()].filter((l) => l.state.status === 'up' && !this.#busy.has(l));
    if (links.length > 0) this.#observe(links);
    this.#schedule();
  }

  /** Asks the backend about `links` and applies what it says. */
  #observe(links: readonly ClusterLink[]): void {
    const states = this.#query(links.map((l) => l.clusterId));
    if (states === undefined) return;
    links.forEach((link, i) => {
      const state = states[i];
      if (state === NativeLinkState.DD_LINK_STATE_UP) {
        this.#held.add(link);
      } else if (state === NativeLinkState.DD_LINK_STATE_BROKEN) {
        this.#held.add(link);
        if (link.state.status === 'up') this.#set(link, { status: 'broken', cause: cause('backend', true, this.#breakCause(link.clusterId)) });
      } else if (state === NativeLinkState.DD_LINK_STATE_ABSENT && this.#held.has(link) && !this.#busy.has(link)) {
        this.#drop(link);
      }
    });
  }

  /** The backend dropped a link it held (the peer unlinked it): it is closed and leaves the engine's list. */
  #drop(link: ClusterLink): void {
    this.#host.forget(link);
    this.close(link, 'dropped');
  }

  /** The DD_LINK_STATE_* of each id, or undefined when the backend does not watch its links. */
  #query(ids: readonly bigint[]): Int32Array | undefined {
    if (this.#watching === false) return undefined;
    const { bindings, handle } = this.#host;
    if (typeof bindings.ddLinkStates !== 'function') {
      this.#watching = false;
      return undefined;
    }
    const idMemory = BigUint64Array.from(ids);
    const states = new Int32Array(ids.length);
    let status: number;
    try {
      status = bindings.ddLinkStates(handle, bindings.addressOf(idMemory), bindings.addressOf(states), BigInt(ids.length)) >>> 0;
    } catch {
      // A backend that throws here (a mechanical check) says nothing about the link; the transfer results still do.
      return undefined;
    }
    if (status === StatusCode.LLM_FEATURE_NOT_ENABLED) {
      this.#watching = false;
      this.stop();
      return undefined;
    }
    if (status !== StatusCode.LLM_SUCCESS) return undefined;
    this.#watching = true;
    return states;
  }

  /** The backend's text for why the link under `clusterId` broke ('' when it has none). */
  #breakCause(clusterId: bigint): string {
    const { bindings, handle } = this.#host;
    const text = new Uint8Array(CAUSE_CAPACITY);
    const { status, length } = bindings.ddLinkBreakCause(handle, clusterId, bindings.addressOf(text), BigInt(text.length));
    if (status >>> 0 !== StatusCode.LLM_SUCCESS) return '';
    return new TextDecoder().decode(text.subarray(0, Math.min(Number(length), text.length - 1)));
  }

  #set(link: ClusterLink, state: LinkState): void {
    const previous = linkInternals.setState(link, state);
    if (previous === undefined) return;
    if (channel.hasSubscribers) {
      const message: LinkStateChangeMessage = { clusterId: this.#host.clusterId, peerClusterId: link.clusterId, state, previous };
      channel.publish(message);
    }
    this.#host.dispatch(new LinkStateChangeEvent(link, state, previous));
  }
}

function cause(source: LinkBreakCause['source'], confirmed: boolean, message: string, error?: DataDistError): LinkBreakCause {
  return Object.freeze({ source, confirmed, message, ...(error === undefined ? {} : { error }), at: Date.now() });
}

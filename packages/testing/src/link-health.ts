import { LinkState, StatusCode } from '@dd/sys';
import type { FakeDataDist } from './data-dist.js';
import { isIntact } from './link-end.js';
import { fail, ok, type Outcome } from './outcome.js';
import { peerGone } from './remote-view.js';

/*
 * dd's link-health extension (headers/dd/link_health.h) on the fake: the fake knows at once when
 * a peer finalized, died (`faults.vanish`) or dropped its end, so a link is broken from that moment,
 * without a transfer, as the host backend reports a peer that hung up or fell silent.
 */

/** The DD_LINK_STATE_* of the link `dd` holds under `clusterId`, and why it broke ('' when it did not). */
export function linkState(dd: FakeDataDist, clusterId: bigint): { readonly state: number; readonly cause: string } {
  const end = dd.links.get(clusterId);
  if (end === undefined) return { state: LinkState.DD_LINK_STATE_ABSENT, cause: '' };
  if (isIntact(dd, end)) return { state: LinkState.DD_LINK_STATE_UP, cause: '' };
  const gone = peerGone(end);
  return { state: LinkState.DD_LINK_STATE_BROKEN, cause: gone.ok ? '' : gone.detail };
}

/** What ddLinkBreakCause answers: the cause of a held link ('' while it is up), NOT_YET_LINK for none. */
export function linkBreakCause(dd: FakeDataDist, clusterId: bigint): Outcome<string> {
  const { state, cause } = linkState(dd, clusterId);
  return state === LinkState.DD_LINK_STATE_ABSENT ? fail(StatusCode.LLM_NOT_YET_LINK, `no link to cluster ${clusterId}`) : ok(cause);
}

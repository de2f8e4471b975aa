import { AclStatusCode, STATUS_TABLE, StatusCode, type AclStatus, type Status } from '@dd/sys';

/** Result of a rule check: either a value, or the status V2 returns together with the reason. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | Failure;

export interface Failure {
  readonly ok: false;
  readonly status: Status;
  readonly detail: string;
}

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function fail(status: Status, detail: string): Failure {
  return { ok: false, status, detail };
}

export function invalid(detail: string): Failure {
  return fail(StatusCode.LLM_PARAM_INVALID, detail);
}

const statusNames = new Map<number, string>(STATUS_TABLE.map((entry) => [entry.value, entry.name]));

/** `LLM_PARAM_INVALID` for 0x5010b005; unknown codes print as hex so they stay recognisable. */
export function statusName(status: Status): string {
  return statusNames.get(status) ?? `0x${status.toString(16).padStart(8, '0')}`;
}

// The first name of each code: ACL_SUCCESS, not its older alias ACL_ERROR_NONE.
const aclNames = new Map<number, string>();
for (const [name, value] of Object.entries(AclStatusCode)) if (!aclNames.has(value)) aclNames.set(value, name);

/** `ACL_ERROR_RT_PARAM_INVALID` for 107000; unknown codes print as decimal, as ACL writes them. */
export function aclStatusName(status: AclStatus): string {
  return aclNames.get(status) ?? String(status);
}

import { LlmRole } from '@dd/sys';
import { DataDistArgumentError, type OperationName } from './errors.js';
import { describe } from './validate.js';

/**
 * The role of an engine: `'prompt'` (prefill, usually serves its caches), `'decoder'` (usually
 * pulls), or `'mix'`. V2 engines let either role pull and push; the role is informational there.
 */
export type Role = 'prompt' | 'decoder' | 'mix';

const nativeRoles: Readonly<Record<Role, LlmRole>> = {
  prompt: LlmRole.kPrompt,
  decoder: LlmRole.kDecoder,
  mix: LlmRole.kMix,
};

/** The native LlmRole of a role name; anything else is an argument error. */
export function toNativeRole(op: OperationName, argument: string, value: unknown): LlmRole {
  if (typeof value === 'string' && Object.hasOwn(nativeRoles, value)) return nativeRoles[value as Role];
  throw new DataDistArgumentError(op, argument, "must be one of 'prompt', 'decoder', 'mix'", describe(value));
}

import type { AclBindings, LinkHealthBindings, LlmDataDistBindings } from './generated/index.js';
import type { HostMemory } from './memory.js';

/** Which implementation stands behind a Bindings object. */
export interface BackendInfo {
  /** 'host' (our native backend), 'cann' (Ascend's libllm_datadist.so), 'fake' (@dd/testing)… */
  readonly name: string;
  /** Path of the native library that was loaded, when there is one. */
  readonly library?: string;
  /** Version of the generated shim the library was built from, when there is one. */
  readonly shimVersion?: string;
}

/**
 * Everything @dd/core needs from a backend: the generated LLM-DataDist functions, the ACL runtime's
 * memory functions (device memory, page-locked host memory, copies), dd's link-health extension
 * (what the backend knows of its links without a transfer; `LLM_FEATURE_NOT_ENABLED` where it
 * cannot tell), host memory access, the text of the last failure, and what the backend is.
 */
export interface Bindings extends LlmDataDistBindings, AclBindings, LinkHealthBindings, HostMemory {
  readonly backend: BackendInfo;
  /**
   * The detail of the most recent non-success status returned to JavaScript by these bindings,
   * sync or async (`"<Method>: <STATUS_NAME>[: <reason>]"`, `"aclrtMalloc: ACL_ERROR_…[: <reason>]"`
   * for an ACL function); '' after a success, and before any call.
   */
  lastError(): string;
}

/**
 * dd/link_health.h: dd's extension for link health, which the LLM-DataDist API has no call for.
 * Written by the dd project. A transfer over a link whose peer died fails with LLM_TIMEOUT, the
 * same status a slow transfer gets (docs/compat.md, choices: A1, A16); these two functions let a
 * backend that watches its links (the host backend: the peer's connections and heartbeats) say
 * which links are broken without a transfer. A backend that cannot tell (CANN's engine) answers
 * LLM_FEATURE_NOT_ENABLED and DD_LINK_STATE_UNKNOWN. docs/design/link-health.md has the design.
 */
#ifndef DD_HEADERS_DD_LINK_HEALTH_H_
#define DD_HEADERS_DD_LINK_HEALTH_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Functions are exported with default visibility when the compiler supports it. */
#if defined(__GNUC__)
#define DD_EXTENSION_API __attribute__((visibility("default")))
#else
#define DD_EXTENSION_API
#endif

/** Result of a dd extension call: an LLM status code (LLM_SUCCESS is 0). */
typedef uint32_t ddStatus;

/** The backend cannot tell whether the link works (it does not watch its links). */
#define DD_LINK_STATE_UNKNOWN 0
/** The link is held and nothing says its peer is gone. */
#define DD_LINK_STATE_UP 1
/** The link is held, but its peer is gone or stopped answering; transfers over it fail. */
#define DD_LINK_STATE_BROKEN 2
/** The engine holds no link under that cluster id (never linked, unlinked, or dropped by the peer). */
#define DD_LINK_STATE_ABSENT 3

/**
 * Writes the state of the link `engine` (an LlmDataDist handle) holds under each of `count`
 * cluster ids (uint64_t at `cluster_ids`) as an int32_t at `states`; never waits on the network.
 */
DD_EXTENSION_API ddStatus ddLinkStates(void *engine, const void *cluster_ids, void *states, size_t count);

/**
 * Copies why the link `engine` holds under `cluster_id` broke (UTF-8, NUL-terminated, truncated
 * to `capacity`) to `text`, and its full length to `length`; LLM_NOT_YET_LINK when no such link.
 */
DD_EXTENSION_API ddStatus ddLinkBreakCause(void *engine, uint64_t cluster_id, void *text, size_t capacity, size_t *length);

#ifdef __cplusplus
}
#endif

#endif  // DD_HEADERS_DD_LINK_HEALTH_H_

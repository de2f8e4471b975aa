// The network half of a non-force unlink (v2-rules A20): a fresh connection to the peer's listener
// asks it to drop its link to this cluster. It needs no link, so it works (and is needed) even when
// nothing is linked, and a side that only accepted a link can use it only toward a listening peer.
// It runs the same authenticated opening as a link: with dd.AuthSecret, only a peer that proves
// the secret can make another engine drop a link.
#ifndef DD_HOST_PEER_UNLINK_H_
#define DD_HOST_PEER_UNLINK_H_

#include <cstdint>
#include <string>

#include "deadline.h"
#include "engine_state.h"

namespace dd::host {
// Connect refused → LLM_UNLINK_FAILED, not connected in time → LLM_TIMEOUT, not an address →
// LLM_PARAM_INVALID, a broken exchange → LLM_FAILED, a peer that fails authentication →
// LLM_UNLINK_FAILED; otherwise the peer's status. `why` says why; `answered` tells whether the peer
// answered (and so dropped whatever it had).
ge::Status RequestPeerUnlink(const EngineState &state, const std::string &ip, uint16_t port, const Deadline &deadline,
                             std::string &why, bool &answered);
}  // namespace dd::host

#endif  // DD_HOST_PEER_UNLINK_H_

// The network half of a non-force unlink (v2-rules A20): a fresh connection to the peer's listener
// asks it to drop its link to this cluster. It needs no link, so it works (and is needed) even when
// nothing is linked, and a side that only accepted a link can use it only toward a listening peer.
#ifndef DD_HOST_PEER_UNLINK_H_
#define DD_HOST_PEER_UNLINK_H_

#include <cstdint>
#include <string>

#include "deadline.h"
#include "ge/ge_error_codes.h"

namespace dd::host {
// Connect refused → LLM_UNLINK_FAILED, not connected in time → LLM_TIMEOUT, not an address →
// LLM_PARAM_INVALID, a broken exchange → LLM_FAILED; otherwise the peer's status. `why` says why;
// `answered` tells whether the peer answered (and so dropped whatever it had).
ge::Status RequestPeerUnlink(uint64_t own_cluster_id, const std::string &ip, uint16_t port, const Deadline &deadline,
                             std::string &why, bool &answered);
}  // namespace dd::host

#endif  // DD_HOST_PEER_UNLINK_H_

// The server's verdict on a link request whose client has proven itself (v2-rules A1, A7, A14,
// A21; D12), in V2's order.
#ifndef DD_HOST_LINK_ADMISSION_H_
#define DD_HOST_LINK_ADMISSION_H_

#include <cstdint>
#include <string>

#include "engine_state.h"

namespace dd::host {
// LLM_SUCCESS with `slot` holding room for the link unless it replaces a live link filed under
// the client's id (a forced rebuild, A1/A21); otherwise the refusal and `why`.
ge::Status AdmitLink(EngineState &state, uint64_t client_id, const ProofMessage &proof, SlotReservation &slot,
                     std::string &why);
}  // namespace dd::host

#endif  // DD_HOST_LINK_ADMISSION_H_

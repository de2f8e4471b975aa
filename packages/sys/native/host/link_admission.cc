#include "link_admission.h"

#include "link_handshake.h"

namespace dd::host {
using namespace llm_datadist;

ge::Status AdmitLink(EngineState &state, uint64_t client_id, const ProofMessage &proof, SlotReservation &slot,
                     std::string &why) {
  const bool hixl = state.options.hixl();
  if ((proof.hixl != 0U) != hixl) {
    // Their handshakes have nothing in common: to each other they speak a foreign protocol (A14).
    why = "the two engines run different transfer backends";
    return LLM_FAILED;
  }
  if (!hixl) {
    std::string own;
    if (!state.comm_res.Get(own)) {
      // A17: a listener started by SetRole alone has no comm resource to link with.
      why = "this engine has no llm.LocalCommRes (it gained its listener through SetRole and never linked out)";
      return LLM_PARAM_INVALID;
    }
    const ge::Status status = CheckCommResPair(state, own, proof.comm_res, why);
    if (status != LLM_SUCCESS) {
      return status;
    }
    // A1/A21: a client without a link under the id it asked for forces a rebuild of ours. (With
    // dd.AuthSecret only a client that proved the secret gets this far.)
    if (state.links.Find(client_id) != nullptr && proof.force_link == 0U) {
      why = "this engine already has a link to cluster " + std::to_string(client_id);
      return LLM_ALREADY_LINK;
    }
    if (state.links.HoldsSlot(client_id)) {
      return LLM_SUCCESS;  // replaces a live link, in its slot
    }
  }
  slot = SlotReservation(state.links);
  if (!slot.held()) {
    why = "this engine already holds " + std::to_string(state.options.max_links) + " links (dd.MaxLinks)";
    return LLM_LINK_FAILED;
  }
  return LLM_SUCCESS;
}
}  // namespace dd::host

// Setting up a link: the client side of the handshake (docs/design/link-transport.md §5: HELLO,
// CHALLENGE, PROOF, WELCOME, then one BIND per further connection), and the pieces the server side
// shares with it (cache table snapshot, comm-res check, the link object).
#ifndef DD_HOST_LINK_HANDSHAKE_H_
#define DD_HOST_LINK_HANDSHAKE_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster_link.h"
#include "engine_state.h"

namespace dd::host {
// What the caller of LinkLlmClusters asked for, for one cluster.
struct LinkTarget {
  uint64_t remote_cluster_id = 0;
  std::string ip;
  uint16_t port = 0;
  // A1: true when this side held no link under remote_cluster_id as the call started. V2 decides
  // it in each cluster's task, and those all start at once; deciding it up front keeps a call that
  // names one server twice from depending on thread timing.
  bool force_link = true;
};

// The client's outcome. On success `link` is made but not yet in the table: file it under
// `file_under` (the peer's own id on the default backend, remote_cluster_id on hixl), with `slot`
// (not held when it replaces the link filed there), and hand `ours` (connections carrying our
// requests) and `theirs` (the peer's) to the serve loop.
struct LinkAttempt {
  ge::Status status = 0;
  std::string detail;
  std::shared_ptr<ClusterLink> link;
  uint64_t file_under = 0;
  SlotReservation slot;
  std::vector<UniqueFd> ours;
  std::vector<UniqueFd> theirs;
};

// Runs the client side of the handshake by `deadline` (v2-rules A1, A7, A14, A15, A21; D8, D9,
// D12). `comm_res` is this engine's llm.LocalCommRes (default backend); `slot` the room reserved
// for the link (not held: the engine is full, which matters unless the link replaces one). With
// dd.AuthSecret both sides prove the secret before anything about memory is sent. The server's
// verdict comes first; a link the client does not commit leaves nothing on either side.
LinkAttempt EstablishLink(EngineState &state, const LinkTarget &target, const std::string &comm_res, SlotReservation slot,
                          const Deadline &deadline);

// The link-time check of both ends' llm.LocalCommRes (A7): LLM_PARAM_INVALID with `why`.
ge::Status CheckCommResPair(const EngineState &state, const std::string &local, const std::string &peer,
                            std::string &why);

// Ids of the caches registered now: the ones a link made now is bound to.
std::set<int64_t> RegisteredCacheIds(const LocalCacheRegistry &registry);
// The caches a peer may address over `link`, each marked bound or not, and their ids.
void SnapshotCacheTable(const LocalCacheRegistry &registry, const ClusterLink &link,
                        std::vector<CacheTableEntry> &table, std::set<int64_t> &ids);

HostIdentity LocalHostIdentity();

// Builds the link object with its data paths; `first_connection` is duplicated for PeerHungUp.
std::shared_ptr<ClusterLink> MakeLink(const EngineState &state, PeerInfo peer, bool initiated_locally,
                                      int first_connection, bool same_host);
}  // namespace dd::host

#endif  // DD_HOST_LINK_HANDSHAKE_H_

// Setting up a link: the client side of the handshake (connect, HELLO/WELCOME, BIND), and the
// pieces the serve loop's server side shares with it (cache table snapshot, comm-res check,
// same-host probe).
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
};

// The client's outcome. On success `link` is made but not yet in the table: file it under
// `file_under` (the peer's own id on the default backend, remote_cluster_id on hixl), with `slot`
// (not held when it replaces the link filed there).
struct LinkAttempt {
  ge::Status status = 0;
  std::string detail;
  std::shared_ptr<ClusterLink> link;
  uint64_t file_under = 0;
  SlotReservation slot;
};

// Runs the client side of the handshake by `deadline` (v2-rules A1, A7, A14, A15, A21; D8, D9,
// D12). `comm_res` is this engine's llm.LocalCommRes (default backend); `slot` the room reserved
// for the link (not held: the engine is full, which matters unless the link replaces one). The
// server's verdict comes first; a link the client does not commit leaves nothing on either side.
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
void RandomBytes(uint8_t *out, size_t len);

// True when process_vm_readv reads our challenge back from the peer: same host, same pid
// namespace, and permission granted.
bool ProbeSameHost(const HostIdentity &local, const HostIdentity &peer, uint64_t probe_addr,
                   const uint8_t (&challenge)[kChallengeBytes]);

// Builds the link object with its data paths.
std::shared_ptr<ClusterLink> MakeLink(PeerInfo peer, bool initiated_locally, UniqueFd outbound,
                                      std::shared_ptr<InboundChannel> inbound, std::set<int64_t> bound_local,
                                      bool same_host);
}  // namespace dd::host

#endif  // DD_HOST_LINK_HANDSHAKE_H_

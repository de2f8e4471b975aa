// Setting up a link: the client side of the handshake (connect, HELLO/WELCOME, BIND), and the
// pieces the serve loop's server side shares with it (cache table snapshot, same-host probe).
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
  uint64_t cluster_id = 0;
  std::string ip;
  uint16_t port = 0;
};

struct LinkAttempt {
  ge::Status status = 0;
  std::string detail;
  std::shared_ptr<ClusterLink> link;
};

// Runs the client side of the handshake by `deadline`. The link is not yet in the table.
LinkAttempt EstablishLink(const EngineState &state, const LinkTarget &target, const Deadline &deadline);

// The caches a new peer may address, and their ids.
void SnapshotCacheTable(const LocalCacheRegistry &registry, std::vector<CacheTableEntry> &table,
                        std::set<int64_t> &ids);

HostIdentity LocalHostIdentity();
void RandomBytes(uint8_t *out, size_t len);

// True when process_vm_readv reads our challenge back from the peer: same host, same pid
// namespace, and permission granted.
bool ProbeSameHost(const HostIdentity &local, const HostIdentity &peer, uint64_t probe_addr,
                   const uint8_t (&challenge)[kChallengeBytes]);

// Builds the link object with its data paths.
std::shared_ptr<ClusterLink> MakeLink(PeerInfo peer, bool initiated_locally, UniqueFd outbound,
                                      std::shared_ptr<InboundChannel> inbound,
                                      std::vector<CacheTableEntry> peer_table, std::set<int64_t> shared,
                                      bool same_host);
}  // namespace dd::host

#endif  // DD_HOST_LINK_HANDSHAKE_H_

// The links of one engine, keyed by peer cluster id, with the per-engine cap (facts §3.3: 512).
#ifndef DD_HOST_LINK_TABLE_H_
#define DD_HOST_LINK_TABLE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "cluster_link.h"

namespace dd::host {
class LinkTable {
 public:
  enum class Admission { kAdmitted, kAlreadyLinked, kFull };
  static constexpr size_t kDefaultCapacity = 512U;

  // capacity 0: no cap.
  explicit LinkTable(size_t capacity) : capacity_(capacity) {}

  std::shared_ptr<ClusterLink> Find(uint64_t cluster_id) const;
  std::vector<std::shared_ptr<ClusterLink>> All() const;
  size_t Size() const;

  // Client side, before connecting: holds a slot for `cluster_id` so concurrent links cannot
  // exceed the cap or link the same cluster twice.
  Admission Reserve(uint64_t cluster_id);
  void CancelReservation(uint64_t cluster_id);
  // Replaces the reservation with the established link.
  void CommitReservation(const std::shared_ptr<ClusterLink> &link);

  // Server side: whether a peer-initiated link from `cluster_id` may be accepted. A link the peer
  // initiated earlier is replaced (the peer lost its state: V2's force_link); a live link we
  // initiated ourselves, or one being set up, is not.
  Admission AdmitFromPeer(uint64_t cluster_id) const;
  // Inserts a peer-initiated link after AdmitFromPeer said yes; returns the link it replaced.
  Admission InsertFromPeer(const std::shared_ptr<ClusterLink> &link, std::shared_ptr<ClusterLink> &replaced);

  // Removes the link to `cluster_id` (only if it is `expected`, when given).
  std::shared_ptr<ClusterLink> Remove(uint64_t cluster_id, const ClusterLink *expected = nullptr);

 private:
  Admission CheckLocked(uint64_t cluster_id, bool from_peer) const;

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::map<uint64_t, std::shared_ptr<ClusterLink>> links_;
  std::set<uint64_t> reserved_;
};
}  // namespace dd::host

#endif  // DD_HOST_LINK_TABLE_H_

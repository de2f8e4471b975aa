// The links of one engine. A link is *filed* under a cluster id when transfers and unlink can name
// it: the peer's constructor id learned in the handshake (default backend, v2-rules A1) or, with
// the hixl backend, the remote_cluster_id the caller gave. A link may also be held unfiled: the
// accepting side of a hixl link, or a hixl link whose id was taken over by a newer one (A21). Every
// link counts against the engine's cap, dd.MaxLinks (docs/compat.md D12), except an accepted link
// whose connection died (D17): it stays filed, as V2 keeps it, but holds no slot and no
// connection, and at most dd.MaxLinks of them are kept, the oldest forgotten first.
#ifndef DD_HOST_LINK_TABLE_H_
#define DD_HOST_LINK_TABLE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cluster_link.h"

namespace dd::host {
class LinkTable {
 public:
  explicit LinkTable(size_t capacity) : capacity_(capacity) {}

  // The link filed under `cluster_id`, or null.
  std::shared_ptr<ClusterLink> Find(uint64_t cluster_id) const;
  // A link this side initiated to `address` ("ip:port"), filed or not.
  bool HasLinkTo(const std::string &address) const;
  // Every link that holds a slot, filed or not.
  std::vector<std::shared_ptr<ClusterLink>> All() const;
  size_t FiledCount() const;
  // Whether the link filed under `cluster_id` holds a slot (a dead accepted one does not).
  bool HoldsSlot(uint64_t cluster_id) const;

  // Holds room for one more link while a handshake runs; false when the engine is at its cap.
  bool ReserveSlot();
  void ReleaseSlot();

  // Files `link` under `cluster_id`, using the slot reserved for it (when `reserved`). A link filed
  // there before is returned: dropped from the table, or kept unfiled when `keep_replaced`. Of two
  // links this side made at once to the same peer process, the one the peer filed later stays: if
  // `link` is older than the one filed, `link` itself is returned and nothing changes.
  std::shared_ptr<ClusterLink> File(uint64_t cluster_id, const std::shared_ptr<ClusterLink> &link, bool reserved,
                                    bool keep_replaced);
  // Holds `link` unfiled, using its reserved slot.
  void Keep(const std::shared_ptr<ClusterLink> &link);

  // Removes the link filed under `cluster_id` (only if it is `expected`, when given).
  std::shared_ptr<ClusterLink> Remove(uint64_t cluster_id, const ClusterLink *expected = nullptr);
  // An accepted link's connection died: an unfiled one is forgotten (nothing can name it); a filed
  // one gives its slot back and stays filed, among at most `capacity` such dead links.
  void ReleaseDeadAccepted(const ClusterLink *link);
  // Removes every link.
  std::vector<std::shared_ptr<ClusterLink>> TakeAll();

 private:
  void ForgetDead(const ClusterLink *link);  // caller holds mutex_

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::map<uint64_t, std::shared_ptr<ClusterLink>> filed_;
  std::map<const ClusterLink *, std::shared_ptr<ClusterLink>> all_;
  std::deque<std::pair<uint64_t, const ClusterLink *>> dead_;  // filed dead accepted links, oldest first
  size_t reserved_ = 0;
};
// A slot held with LinkTable::ReserveSlot while a handshake runs; given back when dropped unless
// handed to LinkTable::File or Keep.
class SlotReservation {
 public:
  SlotReservation() = default;
  // Reserves a slot of `table`; held() tells whether there was room.
  explicit SlotReservation(LinkTable &table) : table_(table.ReserveSlot() ? &table : nullptr) {}
  ~SlotReservation() {
    if (table_ != nullptr) {
      table_->ReleaseSlot();
    }
  }
  SlotReservation(SlotReservation &&other) noexcept : table_(other.table_) { other.table_ = nullptr; }
  SlotReservation &operator=(SlotReservation &&other) noexcept {
    std::swap(table_, other.table_);
    return *this;
  }
  SlotReservation(const SlotReservation &) = delete;
  SlotReservation &operator=(const SlotReservation &) = delete;

  bool held() const { return table_ != nullptr; }
  // Hands the slot over to the link being filed or kept; true when one was held.
  bool HandOver() {
    const bool was_held = table_ != nullptr;
    table_ = nullptr;
    return was_held;
  }

 private:
  LinkTable *table_ = nullptr;
};
}  // namespace dd::host

#endif  // DD_HOST_LINK_TABLE_H_

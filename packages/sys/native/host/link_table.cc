#include "link_table.h"

#include <algorithm>

namespace dd::host {
std::shared_ptr<ClusterLink> LinkTable::Find(uint64_t cluster_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = filed_.find(cluster_id);
  return it == filed_.end() ? nullptr : it->second;
}

bool LinkTable::HasLinkTo(const std::string &address) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto &[key, link] : all_) {
    if (link->initiated_locally() && link->peer().address == address) {
      return true;
    }
  }
  return false;
}

std::vector<std::shared_ptr<ClusterLink>> LinkTable::All() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<ClusterLink>> all;
  all.reserve(all_.size());
  for (const auto &[key, link] : all_) {
    all.push_back(link);
  }
  return all;
}

size_t LinkTable::FiledCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return filed_.size();
}

bool LinkTable::HoldsSlot(uint64_t cluster_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = filed_.find(cluster_id);
  return it != filed_.end() && all_.count(it->second.get()) != 0U;
}

bool LinkTable::ReserveSlot() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (all_.size() + reserved_ >= capacity_) {
    return false;
  }
  ++reserved_;
  return true;
}

void LinkTable::ReleaseSlot() {
  std::lock_guard<std::mutex> lock(mutex_);
  --reserved_;
}

std::shared_ptr<ClusterLink> LinkTable::File(uint64_t cluster_id, const std::shared_ptr<ClusterLink> &link,
                                             bool reserved, bool keep_replaced) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (reserved) {
    --reserved_;
  }
  std::shared_ptr<ClusterLink> replaced;
  auto &slot = filed_[cluster_id];
  if (slot != nullptr && !keep_replaced && slot->initiated_locally() && link->initiated_locally() &&
      slot->peer().host.pid == link->peer().host.pid && slot->peer().host.boot_id == link->peer().host.boot_id &&
      slot->generation() > link->generation()) {
    return link;  // the peer filed the other one later: it stays on both sides
  }
  replaced = std::move(slot);
  slot = link;
  all_[link.get()] = link;
  if (replaced != nullptr && !keep_replaced) {
    all_.erase(replaced.get());
    ForgetDead(replaced.get());
  }
  return replaced;
}

void LinkTable::Keep(const std::shared_ptr<ClusterLink> &link) {
  std::lock_guard<std::mutex> lock(mutex_);
  --reserved_;
  all_[link.get()] = link;
}

std::shared_ptr<ClusterLink> LinkTable::Remove(uint64_t cluster_id, const ClusterLink *expected) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = filed_.find(cluster_id);
  if (it == filed_.end() || (expected != nullptr && it->second.get() != expected)) {
    return nullptr;
  }
  std::shared_ptr<ClusterLink> link = std::move(it->second);
  filed_.erase(it);
  all_.erase(link.get());
  ForgetDead(link.get());
  return link;
}

void LinkTable::ReleaseDeadAccepted(const ClusterLink *link) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (all_.erase(link) == 0U) {
    return;  // already removed or replaced
  }
  const auto filed = std::find_if(filed_.begin(), filed_.end(), [&](const auto &entry) { return entry.second.get() == link; });
  if (filed == filed_.end()) {
    return;
  }
  dead_.emplace_back(filed->first, link);
  while (dead_.size() > capacity_) {
    const auto [id, oldest] = dead_.front();
    dead_.pop_front();
    const auto it = filed_.find(id);
    if (it != filed_.end() && it->second.get() == oldest) {
      filed_.erase(it);
    }
  }
}

void LinkTable::ForgetDead(const ClusterLink *link) {
  const auto it = std::find_if(dead_.begin(), dead_.end(), [&](const auto &entry) { return entry.second == link; });
  if (it != dead_.end()) {
    dead_.erase(it);
  }
}

std::vector<std::shared_ptr<ClusterLink>> LinkTable::TakeAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<ClusterLink>> all;
  all.reserve(all_.size());
  for (auto &[key, link] : all_) {
    all.push_back(std::move(link));
  }
  for (auto &[id, link] : filed_) {
    if (std::find(all.begin(), all.end(), link) == all.end()) {
      all.push_back(std::move(link));
    }
  }
  all_.clear();
  filed_.clear();
  dead_.clear();
  return all;
}
}  // namespace dd::host

#include "link_table.h"

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
  replaced = std::move(slot);
  slot = link;
  all_[link.get()] = link;
  if (replaced != nullptr && !keep_replaced) {
    all_.erase(replaced.get());
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
  return link;
}

void LinkTable::DropIfUnfiled(const ClusterLink *link) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto &[id, filed] : filed_) {
    if (filed.get() == link) {
      return;
    }
  }
  all_.erase(link);
}

std::vector<std::shared_ptr<ClusterLink>> LinkTable::TakeAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<ClusterLink>> all;
  all.reserve(all_.size());
  for (auto &[key, link] : all_) {
    all.push_back(std::move(link));
  }
  all_.clear();
  filed_.clear();
  return all;
}
}  // namespace dd::host

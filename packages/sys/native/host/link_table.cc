#include "link_table.h"

namespace dd::host {
std::shared_ptr<ClusterLink> LinkTable::Find(uint64_t cluster_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = links_.find(cluster_id);
  return it == links_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<ClusterLink>> LinkTable::All() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<ClusterLink>> all;
  all.reserve(links_.size());
  for (const auto &[id, link] : links_) {
    all.push_back(link);
  }
  return all;
}

size_t LinkTable::Size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return links_.size();
}

LinkTable::Admission LinkTable::CheckLocked(uint64_t cluster_id, bool from_peer) const {
  if (reserved_.count(cluster_id) != 0U) {
    return Admission::kAlreadyLinked;
  }
  const auto it = links_.find(cluster_id);
  if (it != links_.end()) {
    if (!from_peer || (it->second->initiated_locally() && !it->second->broken())) {
      return Admission::kAlreadyLinked;
    }
    return Admission::kAdmitted;  // replacing does not grow the table
  }
  if (capacity_ != 0U && links_.size() + reserved_.size() >= capacity_) {
    return Admission::kFull;
  }
  return Admission::kAdmitted;
}

LinkTable::Admission LinkTable::Reserve(uint64_t cluster_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Admission admission = CheckLocked(cluster_id, false);
  if (admission == Admission::kAdmitted) {
    reserved_.insert(cluster_id);
  }
  return admission;
}

void LinkTable::CancelReservation(uint64_t cluster_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  reserved_.erase(cluster_id);
}

void LinkTable::CommitReservation(const std::shared_ptr<ClusterLink> &link) {
  std::lock_guard<std::mutex> lock(mutex_);
  reserved_.erase(link->peer().cluster_id);
  links_[link->peer().cluster_id] = link;
}

LinkTable::Admission LinkTable::AdmitFromPeer(uint64_t cluster_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return CheckLocked(cluster_id, true);
}

LinkTable::Admission LinkTable::InsertFromPeer(const std::shared_ptr<ClusterLink> &link,
                                                std::shared_ptr<ClusterLink> &replaced) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t id = link->peer().cluster_id;
  const Admission admission = CheckLocked(id, true);
  if (admission != Admission::kAdmitted) {
    return admission;
  }
  const auto it = links_.find(id);
  if (it != links_.end()) {
    replaced = it->second;
  }
  links_[id] = link;
  return admission;
}

std::shared_ptr<ClusterLink> LinkTable::Remove(uint64_t cluster_id, const ClusterLink *expected) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = links_.find(cluster_id);
  if (it == links_.end() || (expected != nullptr && it->second.get() != expected)) {
    return nullptr;
  }
  std::shared_ptr<ClusterLink> link = std::move(it->second);
  links_.erase(it);
  return link;
}
}  // namespace dd::host

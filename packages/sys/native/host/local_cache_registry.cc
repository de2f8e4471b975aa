#include "local_cache_registry.h"

namespace dd::host {
LocalCacheRegistry::Lease::Lease(LocalCacheRegistry *owner, std::shared_ptr<const LocalCache> cache)
    : owner_(owner), cache_(std::move(cache)) {}

LocalCacheRegistry::Lease::~Lease() { Release(); }

LocalCacheRegistry::Lease::Lease(Lease &&other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), cache_(std::move(other.cache_)) {}

LocalCacheRegistry::Lease &LocalCacheRegistry::Lease::operator=(Lease &&other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

void LocalCacheRegistry::Lease::Release() {
  if (owner_ != nullptr && cache_ != nullptr) {
    owner_->Unlease(cache_->id);
  }
  owner_ = nullptr;
  cache_.reset();
}

int64_t LocalCacheRegistry::TakeId() {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_id_++;
}

LocalCacheRegistry::AddResult LocalCacheRegistry::Add(int64_t id, CacheGeometry geometry, std::vector<uint64_t> addrs,
                                                      bool refuse_partial_overlap) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t bytes = TableBytesOf(geometry.num_tensors);
  if (table_bytes_ + bytes > kMaxTableBytes) {
    return AddResult::kTableFull;
  }
  if (refuse_partial_overlap) {
    const uint64_t size = geometry.tensor_bytes;
    for (const auto &[other_id, cache] : caches_) {
      const uint64_t other_size = cache->geometry.tensor_bytes;
      for (const uint64_t other : cache->addrs) {
        for (const uint64_t addr : addrs) {
          const bool same = addr == other && size == other_size;
          const bool overlap = addr < other + other_size && other < addr + size;
          if (overlap && !same) {
            return AddResult::kPartialOverlap;
          }
        }
      }
    }
  }
  table_bytes_ += bytes;
  auto cache = std::make_shared<LocalCache>();
  cache->id = id;
  cache->geometry = std::move(geometry);
  cache->addrs = std::move(addrs);
  caches_[id] = std::move(cache);
  return AddResult::kAdded;
}

std::shared_ptr<const LocalCache> LocalCacheRegistry::Find(int64_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = caches_.find(id);
  return it == caches_.end() ? nullptr : it->second;
}

LocalCacheRegistry::Lease LocalCacheRegistry::Acquire(int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = caches_.find(id);
  if (it == caches_.end()) {
    return Lease();
  }
  ++leases_[id];
  return Lease(this, it->second);
}

void LocalCacheRegistry::Unlease(int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = leases_.find(id);
  if (it != leases_.end() && --it->second == 0) {
    leases_.erase(it);
    released_.notify_all();
  }
}

bool LocalCacheRegistry::Remove(int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = caches_.find(id);
  if (it == caches_.end()) {
    return false;
  }
  table_bytes_ -= TableBytesOf(it->second->geometry.num_tensors);
  caches_.erase(it);
  return true;
}

bool LocalCacheRegistry::WaitUntilUnused(int64_t id, const Deadline &deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  return released_.wait_until(lock, deadline.At(), [&] { return leases_.count(id) == 0U; });
}

std::vector<std::shared_ptr<const LocalCache>> LocalCacheRegistry::All() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<const LocalCache>> all;
  all.reserve(caches_.size());
  for (const auto &[id, cache] : caches_) {
    all.push_back(cache);
  }
  return all;
}

size_t LocalCacheRegistry::Size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return caches_.size();
}
}  // namespace dd::host

#include "local_cache_registry.h"

namespace dd::host {
LocalCacheRegistry::ServeLease::ServeLease(LocalCacheRegistry *owner, std::shared_ptr<const LocalCache> cache)
    : owner_(owner), cache_(std::move(cache)) {}

LocalCacheRegistry::ServeLease::~ServeLease() { Release(); }

LocalCacheRegistry::ServeLease::ServeLease(ServeLease &&other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), cache_(std::move(other.cache_)) {}

LocalCacheRegistry::ServeLease &LocalCacheRegistry::ServeLease::operator=(ServeLease &&other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

void LocalCacheRegistry::ServeLease::Release() {
  if (owner_ != nullptr && cache_ != nullptr) {
    owner_->Unlease(cache_->id);
  }
  owner_ = nullptr;
  cache_.reset();
}

int64_t LocalCacheRegistry::Add(CacheGeometry geometry, std::vector<uint64_t> addrs) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto cache = std::make_shared<LocalCache>();
  cache->id = next_id_++;
  cache->geometry = std::move(geometry);
  cache->addrs = std::move(addrs);
  caches_[cache->id] = cache;
  return cache->id;
}

std::shared_ptr<const LocalCache> LocalCacheRegistry::Find(int64_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = caches_.find(id);
  return it == caches_.end() ? nullptr : it->second;
}

LocalCacheRegistry::ServeLease LocalCacheRegistry::Lease(int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = caches_.find(id);
  if (it == caches_.end()) {
    return ServeLease();
  }
  ++leases_[id];
  return ServeLease(this, it->second);
}

void LocalCacheRegistry::Unlease(int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = leases_.find(id);
  if (it != leases_.end() && --it->second == 0) {
    leases_.erase(it);
    released_.notify_all();
  }
}

bool LocalCacheRegistry::Remove(int64_t id, const Deadline &deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  caches_.erase(id);
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

// Caches registered by this engine: caller-owned memory described in place (never copied), with
// leases so that UnregisterKvCache waits for a transfer that the serve loop is running on it.
#ifndef DD_HOST_LOCAL_CACHE_REGISTRY_H_
#define DD_HOST_LOCAL_CACHE_REGISTRY_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "cache_geometry.h"
#include "deadline.h"

namespace dd::host {
struct LocalCache {
  int64_t id = 0;
  CacheGeometry geometry;
  std::vector<uint64_t> addrs;
};

class LocalCacheRegistry {
 public:
  // Keeps a cache registered while the serve loop reads or writes its memory.
  class ServeLease {
   public:
    ServeLease() = default;
    ServeLease(LocalCacheRegistry *owner, std::shared_ptr<const LocalCache> cache);
    ~ServeLease();
    ServeLease(ServeLease &&other) noexcept;
    ServeLease &operator=(ServeLease &&other) noexcept;
    ServeLease(const ServeLease &) = delete;
    ServeLease &operator=(const ServeLease &) = delete;
    const LocalCache *get() const { return cache_.get(); }
    explicit operator bool() const { return cache_ != nullptr; }

   private:
    void Release();
    LocalCacheRegistry *owner_ = nullptr;
    std::shared_ptr<const LocalCache> cache_;
  };

  // Assigns the next id (1, 2, ...).
  int64_t Add(CacheGeometry geometry, std::vector<uint64_t> addrs);
  std::shared_ptr<const LocalCache> Find(int64_t id) const;
  ServeLease Lease(int64_t id);
  // Removes the cache and waits (by `deadline`) until no lease holds it; false if one still does.
  bool Remove(int64_t id, const Deadline &deadline);
  std::vector<std::shared_ptr<const LocalCache>> All() const;
  size_t Size() const;

 private:
  void Unlease(int64_t id);

  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::map<int64_t, std::shared_ptr<const LocalCache>> caches_;
  std::map<int64_t, int> leases_;
  int64_t next_id_ = 1;
};
}  // namespace dd::host

#endif  // DD_HOST_LOCAL_CACHE_REGISTRY_H_

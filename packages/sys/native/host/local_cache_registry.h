// Caches registered by this engine: caller-owned memory described in place (never copied), with
// leases so that UnregisterKvCache waits for the transfers using a cache, this engine's own ones
// and those the serve loop runs for a peer (docs/compat.md D7).
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
  // V2's cache table is at most 1 MiB: 24 bytes plus 64 + 8 per tensor for each cache (A6).
  static constexpr uint64_t kMaxTableBytes = 1U << 20U;
  static constexpr uint64_t kTableHeaderBytes = 24U;
  static uint64_t TableBytesOf(uint32_t num_tensors) { return 64U + 8U * static_cast<uint64_t>(num_tensors); }

  // Keeps a cache registered while a transfer reads or writes its memory.
  class Lease {
   public:
    Lease() = default;
    Lease(LocalCacheRegistry *owner, std::shared_ptr<const LocalCache> cache);
    ~Lease();
    Lease(Lease &&other) noexcept;
    Lease &operator=(Lease &&other) noexcept;
    Lease(const Lease &) = delete;
    Lease &operator=(const Lease &) = delete;
    const LocalCache *get() const { return cache_.get(); }
    explicit operator bool() const { return cache_ != nullptr; }

   private:
    void Release();
    LocalCacheRegistry *owner_ = nullptr;
    std::shared_ptr<const LocalCache> cache_;
  };

  // Hands out the next cache id (1, 2, ...); a registration that fails later keeps it used (A13).
  int64_t TakeId();
  enum class AddResult { kAdded, kTableFull, kPartialOverlap };
  // Registers the cache under an id from TakeId, unless the cache table would grow past
  // kMaxTableBytes or, with `refuse_partial_overlap` (the hixl backend, A22), a tensor overlaps
  // registered memory without being the same range; then nothing is registered.
  AddResult Add(int64_t id, CacheGeometry geometry, std::vector<uint64_t> addrs, bool refuse_partial_overlap);
  std::shared_ptr<const LocalCache> Find(int64_t id) const;
  Lease Acquire(int64_t id);
  // Removes the cache: no new lease can be taken on it. False when it was not registered.
  bool Remove(int64_t id);
  // Waits (by `deadline`) until no lease holds cache `id`; false if one still does.
  bool WaitUntilUnused(int64_t id, const Deadline &deadline);
  std::vector<std::shared_ptr<const LocalCache>> All() const;
  size_t Size() const;

 private:
  void Unlease(int64_t id);

  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::map<int64_t, std::shared_ptr<const LocalCache>> caches_;
  std::map<int64_t, int> leases_;
  int64_t next_id_ = 1;
  uint64_t table_bytes_ = kTableHeaderBytes;
};
}  // namespace dd::host

#endif  // DD_HOST_LOCAL_CACHE_REGISTRY_H_

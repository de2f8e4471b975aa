// The bytes every host of the cross-host tier serves: word w (8 bytes at byte offset 8w) of cluster
// c's region holds a value of (c, w) alone, so a block that lands in the wrong place, comes from
// the wrong peer or is partly stale shows at the first word that differs.
#ifndef DD_HOSTS_REGION_PATTERN_H_
#define DD_HOSTS_REGION_PATTERN_H_

#include <cstdint>
#include <cstring>

namespace ddhosts {
inline uint64_t PatternWord(uint64_t cluster_id, uint64_t byte_offset) {
  return (byte_offset + (cluster_id << 40U)) * 0x9E3779B97F4A7C15ULL + cluster_id;
}

inline void FillRegion(uint8_t *region, uint64_t bytes, uint64_t cluster_id) {
  for (uint64_t at = 0; at + 8 <= bytes; at += 8) {
    const uint64_t word = PatternWord(cluster_id, at);
    std::memcpy(region + at, &word, sizeof(word));
  }
}

// Whether `len` bytes at `block` are the bytes at `region_offset` of cluster `cluster_id`'s region.
inline bool HoldsPattern(const uint8_t *block, uint64_t len, uint64_t cluster_id, uint64_t region_offset) {
  for (uint64_t i = 0; i + 8 <= len; i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, block + i, sizeof(word));
    if (word != PatternWord(cluster_id, region_offset + i)) {
      return false;
    }
  }
  return true;
}
}  // namespace ddhosts

#endif  // DD_HOSTS_REGION_PATTERN_H_

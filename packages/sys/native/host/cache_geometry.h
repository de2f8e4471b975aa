// The V2 cache model (facts §3.6, §3.8–3.10): tensor sizes, row stride, tensor selection by layer
// range, and merging of block lists into contiguous runs. Pure functions, no I/O.
#ifndef DD_HOST_CACHE_GEOMETRY_H_
#define DD_HOST_CACHE_GEOMETRY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "llm_datadist/llm_datadist.h"

namespace dd::host {
using ge::Status;

// Bits per element (ge::GetSizeByDataType, sub-byte types below 8); 0 for unknown types.
uint32_t DataTypeBits(int32_t data_type);

// A validated cache description: every tensor has `tensor_bytes`, split into `rows` rows
// (batch rows or blocks) of `stride` bytes.
struct CacheGeometry {
  uint32_t placement = 0;
  int32_t data_type = 0;
  uint32_t num_tensors = 0;
  std::vector<int64_t> shape;
  uint64_t tensor_bytes = 0;
  uint64_t rows = 0;
  uint64_t stride = 0;
};

// Checks the RegisterKvCache rules on shape and data type (rank in [1,32), dims > 0, no
// overflow, known element size) and fills `out`. Returns LLM_PARAM_INVALID with a detail.
Status BuildGeometry(uint32_t placement, uint32_t num_tensors, int32_t data_type, const std::vector<int64_t> &shape,
                     CacheGeometry &out);

// The §3.10 checks of one KvCacheExtParam: first ≥ -1, second ≥ -1, first ≤ second, T > 0.
Status ValidateExtParam(const llm_datadist::KvCacheExtParam &ext);

// A contiguous run of tensor indices.
struct TensorSpan {
  uint32_t first = 0;
  uint32_t count = 0;
};

// Tensor selection of a pull (§3.7, §3.10): with both range starts ≥ 0, [first*T, (second+1)*T)
// on each side (counts multiple of T, in bounds, equal); otherwise every tensor on each side, whose
// counts must be equal. LLM_PARAM_INVALID otherwise.
Status SelectPullTensors(const llm_datadist::KvCacheExtParam &ext, uint32_t src_num_tensors,
                         uint32_t dst_num_tensors, TensorSpan &src, TensorSpan &dst);

// One per-layer transfer of a push (§3.9).
struct LayerTransfer {
  TensorSpan src;
  TensorSpan dst;
};

// Layer plan of a push (§3.9): layers first..second of the source (default 0..maxL from the
// caller's num_tensors), mapped one to one onto the destination range (default: same indices).
// Checks every span against the local and remote tensor counts.
Status PlanPushLayers(const llm_datadist::KvCacheExtParam &ext, uint32_t caller_num_tensors,
                      uint32_t local_num_tensors, uint32_t remote_num_tensors, std::vector<LayerTransfer> &out);

// A run of blocks where source and destination both go up by one.
struct BlockRun {
  uint64_t src = 0;
  uint64_t dst = 0;
  uint64_t count = 0;
};

// Merges (src[i], dst[i]) pairs into runs (§3.8). Both lists have the same, non-zero length.
void MergeBlockRuns(const std::vector<uint64_t> &src, const std::vector<uint64_t> &dst, std::vector<BlockRun> &out);

// a*b, false on uint64 overflow.
bool MulU64(uint64_t a, uint64_t b, uint64_t &out);
// offset + len <= limit without overflow.
bool RangeWithin(uint64_t offset, uint64_t len, uint64_t limit);
}  // namespace dd::host

#endif  // DD_HOST_CACHE_GEOMETRY_H_

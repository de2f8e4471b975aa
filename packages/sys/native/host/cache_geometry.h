// The V2 cache model (v2-rules A2, A18, A22; B §3.6, §3.8–3.10): tensor sizes, row stride, tensor selection by layer
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
// (batch rows or blocks) of `stride` bytes. `placement` is 1 for kDevice and 0 for anything else
// (V2 registers every other value as host memory, A22).
struct CacheGeometry {
  uint32_t placement = 0;
  int32_t data_type = 0;
  uint32_t num_tensors = 0;
  std::vector<int64_t> shape;
  uint64_t tensor_bytes = 0;
  uint64_t rows = 0;
  uint64_t stride = 0;
};

// Shape ranks RegisterKvCache accepts (A22: [1, 31]).
constexpr size_t kMaxShapeRank = 31U;

// Checks the RegisterKvCache rules on shape and data type (rank in [1, 31], dims > 0, no
// overflow, known element size, and a row of at least one byte, docs/compat.md D3) and fills `out`.
// Returns LLM_PARAM_INVALID with a detail.
Status BuildGeometry(uint32_t placement, uint32_t num_tensors, int32_t data_type, const std::vector<int64_t> &shape,
                     CacheGeometry &out);

// The B §3.10 checks of one KvCacheExtParam: first ≥ -1, second ≥ -1, first ≤ second, T > 0.
Status ValidateExtParam(const llm_datadist::KvCacheExtParam &ext);

// A contiguous run of tensor indices.
struct TensorSpan {
  uint32_t first = 0;
  uint32_t count = 0;
};

// The tensors a pull reads (src, remote) and writes (dst, local), v2-rules A18.
struct PullTensors {
  bool ranged = false;  // both range starts ≥ 0: the layer ranges choose the tensors
  TensorSpan src;
  TensorSpan dst;
};

// A18 step 9, before the link is looked up: with both range starts ≥ 0, the local tensor count is
// a multiple of T, the dst layers lie inside the local cache and both ranges have as many layers;
// otherwise (a range start of -1 drops both ranges) every local tensor is written.
Status SelectLocalPullTensors(const llm_datadist::KvCacheExtParam &ext, uint32_t local_num_tensors,
                              PullTensors &out);

// A18 step 14, once the remote cache is known: the remote tensor count (or the src range) equals the
// dst count, and the src layers lie inside the remote cache (docs/compat.md D2).
Status SelectRemotePullTensors(const llm_datadist::KvCacheExtParam &ext, uint32_t remote_num_tensors,
                               PullTensors &inout);

// One layer of a push: its index in the local cache and in the remote one (either may be out of
// range; the per-layer checks of A3 find out).
struct PushLayer {
  int64_t src = 0;
  int64_t dst = 0;
};

// The layers a push walks, in order (A2, B §3.9): src_layer_range.first..second mapped onto
// dst_layer_range.first onwards; with src_layer_range.first = -1, layers 0..maxL of the caller's
// `caller_num_tensors` (maxL = N/T - 1 when T divides N, N/T otherwise, 0 when N < T) onto the
// same indices, dst_layer_range ignored.
void PlanPushLayers(const llm_datadist::KvCacheExtParam &ext, uint32_t caller_num_tensors, std::vector<PushLayer> &out);

// A run of blocks where source and destination both go up by one.
struct BlockRun {
  uint64_t src = 0;
  uint64_t dst = 0;
  uint64_t count = 0;
};

// Merges (src[i], dst[i]) pairs into runs (B §3.8). Both lists have the same, non-zero length.
void MergeBlockRuns(const std::vector<uint64_t> &src, const std::vector<uint64_t> &dst, std::vector<BlockRun> &out);

// a*b, false on uint64 overflow.
bool MulU64(uint64_t a, uint64_t b, uint64_t &out);
// offset + len <= limit without overflow.
bool RangeWithin(uint64_t offset, uint64_t len, uint64_t limit);
}  // namespace dd::host

#endif  // DD_HOST_CACHE_GEOMETRY_H_

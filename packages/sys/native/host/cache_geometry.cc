#include "cache_geometry.h"

#include "error_detail.h"

namespace dd::host {
using namespace llm_datadist;

uint32_t DataTypeBits(int32_t data_type) {
  switch (data_type) {
    case ge::DT_INT8: case ge::DT_UINT8: case ge::DT_BOOL: case ge::DT_QINT8: case ge::DT_QUINT8:
    case ge::DT_DUAL_SUB_INT8: case ge::DT_DUAL_SUB_UINT8: case ge::DT_HIFLOAT8: case ge::DT_FLOAT8_E5M2:
    case ge::DT_FLOAT8_E4M3FN: case ge::DT_FLOAT8_E8M0:
      return 8;
    case ge::DT_FLOAT16: case ge::DT_BF16: case ge::DT_INT16: case ge::DT_UINT16: case ge::DT_QINT16:
    case ge::DT_QUINT16:
      return 16;
    case ge::DT_FLOAT: case ge::DT_INT32: case ge::DT_UINT32: case ge::DT_QINT32: case ge::DT_COMPLEX32:
      return 32;
    case ge::DT_DUAL:
      return 40;
    case ge::DT_INT64: case ge::DT_UINT64: case ge::DT_DOUBLE: case ge::DT_COMPLEX64: case ge::DT_RESOURCE:
    case ge::DT_VARIANT:
      return 64;
    case ge::DT_COMPLEX128: case ge::DT_STRING: case ge::DT_STRING_REF:
      return 128;
    case ge::DT_INT4: case ge::DT_FLOAT4_E2M1: case ge::DT_FLOAT4_E1M2:
      return 4;
    case ge::DT_UINT1:
      return 1;
    case ge::DT_INT2: case ge::DT_UINT2:
      return 2;
    case ge::DT_FLOAT6_E3M2: case ge::DT_FLOAT6_E2M3:
      return 6;
    default:
      return 0;
  }
}

bool MulU64(uint64_t a, uint64_t b, uint64_t &out) { return !__builtin_mul_overflow(a, b, &out); }

bool RangeWithin(uint64_t offset, uint64_t len, uint64_t limit) { return offset <= limit && len <= limit - offset; }

Status BuildGeometry(uint32_t placement, uint32_t num_tensors, int32_t data_type, const std::vector<int64_t> &shape,
                     CacheGeometry &out) {
  if (shape.empty() || shape.size() >= 32U) {
    return Fail(LLM_PARAM_INVALID, "shape rank %zu is outside [1, 32)", shape.size());
  }
  uint64_t elements = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] <= 0) {
      return Fail(LLM_PARAM_INVALID, "shape[%zu] = %lld must be > 0", i, static_cast<long long>(shape[i]));
    }
    if (!MulU64(elements, static_cast<uint64_t>(shape[i]), elements) || elements > static_cast<uint64_t>(INT64_MAX)) {
      return Fail(LLM_PARAM_INVALID, "shape element count overflows int64");
    }
  }
  const uint32_t bits = DataTypeBits(data_type);
  if (bits == 0U) {
    return Fail(LLM_PARAM_INVALID, "data_type %d has no known element size", data_type);
  }
  uint64_t total_bits = 0;
  if (!MulU64(elements, bits, total_bits)) {
    return Fail(LLM_PARAM_INVALID, "tensor size overflows");
  }
  out.placement = placement;
  out.data_type = data_type;
  out.num_tensors = num_tensors;
  out.shape = shape;
  out.tensor_bytes = total_bits / 8U + (total_bits % 8U != 0U ? 1U : 0U);
  out.rows = static_cast<uint64_t>(shape[0]);
  out.stride = out.tensor_bytes / out.rows;
  return LLM_SUCCESS;
}

Status ValidateExtParam(const KvCacheExtParam &ext) {
  const auto check_range = [](const std::pair<int32_t, int32_t> &range, const char *name) -> Status {
    if (range.first < -1 || range.second < -1 || range.first > range.second) {
      return Fail(LLM_PARAM_INVALID, "%s (%d, %d) must satisfy -1 <= first <= second", name, range.first,
                  range.second);
    }
    return LLM_SUCCESS;
  };
  Status status = check_range(ext.src_layer_range, "src_layer_range");
  if (status != LLM_SUCCESS) {
    return status;
  }
  status = check_range(ext.dst_layer_range, "dst_layer_range");
  if (status != LLM_SUCCESS) {
    return status;
  }
  if (ext.tensor_num_per_layer == 0U) {
    return Fail(LLM_PARAM_INVALID, "tensor_num_per_layer must be > 0");
  }
  return LLM_SUCCESS;
}

namespace {
// [first*T, (second+1)*T) within a cache of `num_tensors` tensors that is a multiple of T.
Status LayerSpan(const std::pair<int32_t, int32_t> &range, uint32_t per_layer, uint32_t num_tensors, const char *side,
                 TensorSpan &out) {
  if (num_tensors % per_layer != 0U) {
    return Fail(LLM_PARAM_INVALID, "%s cache has %u tensors, not a multiple of tensor_num_per_layer %u", side,
                num_tensors, per_layer);
  }
  const uint64_t first = static_cast<uint64_t>(range.first) * per_layer;
  const uint64_t end = (static_cast<uint64_t>(range.second) + 1U) * per_layer;
  if (end > num_tensors) {
    return Fail(LLM_PARAM_INVALID, "%s layer range (%d, %d) needs tensors up to %llu but the cache has %u (largest layer index %u)",
                side, range.first, range.second, static_cast<unsigned long long>(end), num_tensors,
                num_tensors / per_layer - 1U);
  }
  out.first = static_cast<uint32_t>(first);
  out.count = static_cast<uint32_t>(end - first);
  return LLM_SUCCESS;
}
}  // namespace

Status SelectPullTensors(const KvCacheExtParam &ext, uint32_t src_num_tensors, uint32_t dst_num_tensors,
                         TensorSpan &src, TensorSpan &dst) {
  if (ext.src_layer_range.first >= 0 && ext.dst_layer_range.first >= 0) {
    Status status = LayerSpan(ext.src_layer_range, ext.tensor_num_per_layer, src_num_tensors, "remote", src);
    if (status != LLM_SUCCESS) {
      return status;
    }
    status = LayerSpan(ext.dst_layer_range, ext.tensor_num_per_layer, dst_num_tensors, "local", dst);
    if (status != LLM_SUCCESS) {
      return status;
    }
  } else {
    src = TensorSpan{0, src_num_tensors};
    dst = TensorSpan{0, dst_num_tensors};
  }
  if (src.count != dst.count) {
    return Fail(LLM_PARAM_INVALID, "selected tensor counts differ: remote %u, local %u", src.count, dst.count);
  }
  return LLM_SUCCESS;
}

Status PlanPushLayers(const KvCacheExtParam &ext, uint32_t caller_num_tensors, uint32_t local_num_tensors,
                      uint32_t remote_num_tensors, std::vector<LayerTransfer> &out) {
  out.clear();
  const uint32_t per_layer = ext.tensor_num_per_layer;
  int64_t first_layer = ext.src_layer_range.first;
  int64_t last_layer = ext.src_layer_range.second;
  // Without a source range, the caller's num_tensors decides the layers; a remainder that does not
  // fill T tensors becomes one more, shorter layer.
  uint32_t tensors_in_use = 0;
  if (first_layer < 0) {
    first_layer = 0;
    if (caller_num_tensors < per_layer) {
      last_layer = 0;
    } else if (caller_num_tensors % per_layer == 0U) {
      last_layer = caller_num_tensors / per_layer - 1U;
    } else {
      last_layer = caller_num_tensors / per_layer;
    }
    tensors_in_use = caller_num_tensors;
  }
  const int64_t dst_first_layer = ext.dst_layer_range.first >= 0 ? ext.dst_layer_range.first : first_layer;
  for (int64_t layer = first_layer; layer <= last_layer; ++layer) {
    const uint64_t src_first = static_cast<uint64_t>(layer) * per_layer;
    uint64_t count = per_layer;
    if (tensors_in_use != 0U && src_first + count > tensors_in_use) {
      count = tensors_in_use > src_first ? tensors_in_use - src_first : 0U;
    }
    const uint64_t dst_first = static_cast<uint64_t>(dst_first_layer + (layer - first_layer)) * per_layer;
    if (count == 0U || src_first + count > local_num_tensors) {
      return Fail(LLM_PARAM_INVALID, "source layer %lld (tensors %llu..%llu) is outside the local cache of %u tensors",
                  static_cast<long long>(layer), static_cast<unsigned long long>(src_first),
                  static_cast<unsigned long long>(src_first + count), local_num_tensors);
    }
    if (dst_first + count > remote_num_tensors) {
      return Fail(LLM_PARAM_INVALID,
                  "destination layer %lld (tensors %llu..%llu) is outside the remote cache of %u tensors",
                  static_cast<long long>(dst_first_layer + (layer - first_layer)),
                  static_cast<unsigned long long>(dst_first), static_cast<unsigned long long>(dst_first + count),
                  remote_num_tensors);
    }
    out.push_back(LayerTransfer{TensorSpan{static_cast<uint32_t>(src_first), static_cast<uint32_t>(count)},
                                TensorSpan{static_cast<uint32_t>(dst_first), static_cast<uint32_t>(count)}});
  }
  return LLM_SUCCESS;
}

void MergeBlockRuns(const std::vector<uint64_t> &src, const std::vector<uint64_t> &dst, std::vector<BlockRun> &out) {
  out.clear();
  for (size_t i = 0; i < src.size(); ++i) {
    if (!out.empty()) {
      BlockRun &last = out.back();
      if (src[i] == last.src + last.count && dst[i] == last.dst + last.count) {
        ++last.count;
        continue;
      }
    }
    out.push_back(BlockRun{src[i], dst[i], 1U});
  }
}
}  // namespace dd::host

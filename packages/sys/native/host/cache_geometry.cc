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
  if (shape.empty() || shape.size() > kMaxShapeRank) {
    return Fail(LLM_PARAM_INVALID, "shape rank %zu is outside [1, %zu]", shape.size(), kMaxShapeRank);
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
  const uint64_t tensor_bytes = total_bits / 8U + (total_bits % 8U != 0U ? 1U : 0U);
  const auto rows = static_cast<uint64_t>(shape[0]);
  if (tensor_bytes / rows == 0U) {
    // A sub-byte type with more rows than bytes: V2 would divide by this 0 in a transfer.
    return Fail(LLM_PARAM_INVALID, "%llu rows of a %llu-byte tensor are less than one byte each",
                static_cast<unsigned long long>(rows), static_cast<unsigned long long>(tensor_bytes));
  }
  out.placement = placement == 1U ? 1U : 0U;
  out.data_type = data_type;
  out.num_tensors = num_tensors;
  out.shape = shape;
  out.tensor_bytes = tensor_bytes;
  out.rows = rows;
  out.stride = tensor_bytes / rows;
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
uint32_t LayerCount(const std::pair<int32_t, int32_t> &range) {
  return static_cast<uint32_t>(range.second - range.first + 1);
}

// [first*T, (second+1)*T) as a span; false when it does not fit `num_tensors`.
bool LayerSpan(const std::pair<int32_t, int32_t> &range, uint32_t per_layer, uint32_t num_tensors, TensorSpan &out) {
  const uint64_t first = static_cast<uint64_t>(range.first) * per_layer;
  const uint64_t end = (static_cast<uint64_t>(range.second) + 1U) * per_layer;
  if (end > num_tensors) {
    return false;
  }
  out.first = static_cast<uint32_t>(first);
  out.count = static_cast<uint32_t>(end - first);
  return true;
}
}  // namespace

Status SelectLocalPullTensors(const KvCacheExtParam &ext, uint32_t local_num_tensors, PullTensors &out) {
  const uint32_t per_layer = ext.tensor_num_per_layer;
  out = PullTensors();
  out.ranged = ext.src_layer_range.first >= 0 && ext.dst_layer_range.first >= 0;
  if (!out.ranged) {
    out.dst = TensorSpan{0, local_num_tensors};
    return LLM_SUCCESS;
  }
  if (local_num_tensors % per_layer != 0U) {
    return Fail(LLM_PARAM_INVALID, "the local cache has %u tensors, not a multiple of tensor_num_per_layer %u",
                local_num_tensors, per_layer);
  }
  if (!LayerSpan(ext.dst_layer_range, per_layer, local_num_tensors, out.dst)) {
    return Fail(LLM_PARAM_INVALID, "dst_layer_range (%d, %d) is outside the local cache of %u layers",
                ext.dst_layer_range.first, ext.dst_layer_range.second, local_num_tensors / per_layer);
  }
  if (LayerCount(ext.src_layer_range) != LayerCount(ext.dst_layer_range)) {
    return Fail(LLM_PARAM_INVALID, "src_layer_range (%d, %d) and dst_layer_range (%d, %d) differ in length",
                ext.src_layer_range.first, ext.src_layer_range.second, ext.dst_layer_range.first,
                ext.dst_layer_range.second);
  }
  return LLM_SUCCESS;
}

Status SelectRemotePullTensors(const KvCacheExtParam &ext, uint32_t remote_num_tensors, PullTensors &inout) {
  if (!inout.ranged) {
    if (remote_num_tensors != inout.dst.count) {
      return Fail(LLM_PARAM_INVALID, "the remote cache has %u tensors, the local one %u", remote_num_tensors,
                  inout.dst.count);
    }
    inout.src = TensorSpan{0, remote_num_tensors};
    return LLM_SUCCESS;
  }
  if (!LayerSpan(ext.src_layer_range, ext.tensor_num_per_layer, remote_num_tensors, inout.src)) {
    return Fail(LLM_PARAM_INVALID, "src_layer_range (%d, %d) with tensor_num_per_layer %u reaches past the %u tensors of the remote cache",
                ext.src_layer_range.first, ext.src_layer_range.second, ext.tensor_num_per_layer, remote_num_tensors);
  }
  return LLM_SUCCESS;
}

void PlanPushLayers(const KvCacheExtParam &ext, uint32_t caller_num_tensors, std::vector<PushLayer> &out) {
  out.clear();
  const uint32_t per_layer = ext.tensor_num_per_layer;
  if (ext.src_layer_range.first >= 0) {
    for (int64_t layer = ext.src_layer_range.first; layer <= ext.src_layer_range.second; ++layer) {
      out.push_back(PushLayer{layer, ext.dst_layer_range.first + (layer - ext.src_layer_range.first)});
    }
    return;
  }
  int64_t last = 0;
  if (caller_num_tensors >= per_layer) {
    last = caller_num_tensors / per_layer - (caller_num_tensors % per_layer == 0U ? 1 : 0);
  }
  for (int64_t layer = 0; layer <= last; ++layer) {
    out.push_back(PushLayer{layer, layer});
  }
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

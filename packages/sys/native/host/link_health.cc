#include "link_health.h"

#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "dd/link_health.h"
#include "error_detail.h"
#include "llm_datadist/llm_datadist.h"
#include "llm_datadist_impl.h"

namespace dd::host {
namespace {
// Held while an extension call reads an engine, so the engine cannot be destroyed under it. The
// calls never wait on the network, so holding it is short.
std::mutex g_engines_mutex;
std::unordered_map<const void *, llm_datadist::LlmDataDistImpl *> &Engines() {
  static auto *engines = new std::unordered_map<const void *, llm_datadist::LlmDataDistImpl *>();
  return *engines;
}

// The initialized engine behind a handle, or null with `status` (and the detail recorded) when no
// live engine has it or it is not initialized. The caller holds g_engines_mutex.
llm_datadist::LlmDataDistImpl *FindInitializedEngine(const void *engine, ddStatus &status) {
  const auto it = Engines().find(engine);
  if (it == Engines().end()) {
    status = Fail(llm_datadist::LLM_PARAM_INVALID, "engine %p is not a live LlmDataDist of this process", engine);
    return nullptr;
  }
  if (!it->second->initialized()) {
    status = Fail(llm_datadist::LLM_FAILED, "the engine is not initialized (call Initialize first)");
    return nullptr;
  }
  return it->second;
}
}  // namespace

void ListEngine(const llm_datadist::LlmDataDist *engine, llm_datadist::LlmDataDistImpl *impl) {
  std::lock_guard<std::mutex> lock(g_engines_mutex);
  Engines()[engine] = impl;
}

void UnlistEngine(const llm_datadist::LlmDataDist *engine) {
  std::lock_guard<std::mutex> lock(g_engines_mutex);
  Engines().erase(engine);
}
}  // namespace dd::host

namespace llm_datadist {
bool LlmDataDistImpl::initialized() const { return runtime() != nullptr; }

// A link the reactor or a transfer found broken says so, with the first cause it recorded (the
// one every pending and later call on it returns). One whose peer hung up before the reactor got
// to it is marked broken now, with the reactor's and the transfers' own text for it (docs/compat.md,
// choices: A1, A16).
int32_t LlmDataDistImpl::LinkState(uint64_t cluster_id, std::string *cause) const {
  const std::shared_ptr<Runtime> rt = runtime();
  const std::shared_ptr<dd::host::ClusterLink> link = rt == nullptr ? nullptr : rt->state.links.Find(cluster_id);
  if (link == nullptr || link->closed()) {
    return DD_LINK_STATE_ABSENT;
  }
  if (!link->broken() && link->PeerHungUp()) {
    link->MarkBroken("cluster " + std::to_string(link->peer().cluster_id) + " closed the connection");
  }
  if (!link->broken()) {
    return DD_LINK_STATE_UP;
  }
  if (cause != nullptr) {
    *cause = link->broken_reason();
  }
  return DD_LINK_STATE_BROKEN;
}
}  // namespace llm_datadist

extern "C" {
DD_EXTENSION_API ddStatus ddLinkStates(void *engine, const void *cluster_ids, void *states, size_t count) {
  const dd::host::ApiCallScope scope("ddLinkStates");
  if (count > 0 && (cluster_ids == nullptr || states == nullptr)) {
    return dd::host::Fail(llm_datadist::LLM_PARAM_INVALID, "cluster_ids and states must not be NULL when count is %zu", count);
  }
  std::lock_guard<std::mutex> lock(dd::host::g_engines_mutex);
  ddStatus status = llm_datadist::LLM_SUCCESS;
  llm_datadist::LlmDataDistImpl *impl = dd::host::FindInitializedEngine(engine, status);
  if (impl == nullptr) {
    return status;
  }
  // The arrays are the caller's memory, maybe unaligned: copied element by element.
  const auto *ids = static_cast<const unsigned char *>(cluster_ids);
  auto *out = static_cast<unsigned char *>(states);
  for (size_t i = 0; i < count; ++i) {
    uint64_t id;
    std::memcpy(&id, ids + i * sizeof id, sizeof id);
    const int32_t state = impl->LinkState(id, nullptr);
    std::memcpy(out + i * sizeof state, &state, sizeof state);
  }
  return llm_datadist::LLM_SUCCESS;
}

DD_EXTENSION_API ddStatus ddLinkBreakCause(void *engine, uint64_t cluster_id, void *text, size_t capacity,
                                           size_t *length) {
  const dd::host::ApiCallScope scope("ddLinkBreakCause");
  if (length == nullptr || (capacity > 0 && text == nullptr)) {
    return dd::host::Fail(llm_datadist::LLM_PARAM_INVALID, "length must not be NULL, nor text when capacity is %zu", capacity);
  }
  std::lock_guard<std::mutex> lock(dd::host::g_engines_mutex);
  ddStatus status = llm_datadist::LLM_SUCCESS;
  llm_datadist::LlmDataDistImpl *impl = dd::host::FindInitializedEngine(engine, status);
  if (impl == nullptr) {
    return status;
  }
  std::string cause;
  if (impl->LinkState(cluster_id, &cause) == DD_LINK_STATE_ABSENT) {
    return dd::host::Fail(llm_datadist::LLM_NOT_YET_LINK, "no link to cluster %llu", static_cast<unsigned long long>(cluster_id));
  }
  *length = cause.size();
  if (capacity > 0) {
    const size_t copied = cause.size() < capacity ? cause.size() : capacity - 1;
    std::memcpy(text, cause.data(), copied);
    static_cast<char *>(text)[copied] = '\0';
  }
  return llm_datadist::LLM_SUCCESS;
}
}  // extern "C"

// What an initialized engine shares between the API calls and the serve loop.
#ifndef DD_HOST_ENGINE_STATE_H_
#define DD_HOST_ENGINE_STATE_H_

#include <atomic>
#include <cstdint>

#include "engine_options.h"
#include "link_table.h"
#include "local_cache_registry.h"
#include "wire_format.h"

namespace dd::host {
struct EngineState {
  EngineState(uint64_t own_cluster_id, int32_t own_role, EngineOptions parsed, HostIdentity host)
      : cluster_id(own_cluster_id),
        role(own_role),
        options(std::move(parsed)),
        identity(std::move(host)),
        links(options.unlimited_links ? 0U : LinkTable::kDefaultCapacity) {}

  const uint64_t cluster_id;
  std::atomic<int32_t> role;
  const EngineOptions options;
  const HostIdentity identity;
  LocalCacheRegistry registry;
  LinkTable links;
};
}  // namespace dd::host

#endif  // DD_HOST_ENGINE_STATE_H_

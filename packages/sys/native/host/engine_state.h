// What an initialized engine shares between the API calls and the serve loop.
#ifndef DD_HOST_ENGINE_STATE_H_
#define DD_HOST_ENGINE_STATE_H_

#include <atomic>
#include <cstdint>
#include <mutex>

#include "comm_resource.h"
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
        comm_res(options.has_comm_res, options.comm_res),
        links(options.max_links) {}

  const uint64_t cluster_id;
  std::atomic<int32_t> role;
  const EngineOptions options;
  const HostIdentity identity;
  CommResource comm_res;
  LocalCacheRegistry registry;
  LinkTable links;
  // Generations of the links this engine accepts, in filing order (docs: EncodeCommit).
  std::atomic<uint64_t> link_generation{0};
  // Held while a peer is sent our cache table and while a cache is unregistered, so that a cache
  // is either left out of the table or revoked from every peer that got it.
  std::mutex sharing_mutex;
};
}  // namespace dd::host

#endif  // DD_HOST_ENGINE_STATE_H_

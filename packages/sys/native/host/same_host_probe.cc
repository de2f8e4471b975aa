#include "same_host_probe.h"

#include <cstring>

#include "same_host_data_path.h"
#include "socket_peer.h"

namespace dd::host {
bool GrantSameHost(const HostIdentity &local, const HostIdentity &peer, int connection, uint64_t probe_addr,
                   const WireNonce &our_nonce, std::string &why) {
  if (local.boot_id.empty() || local.boot_id != peer.boot_id) {
    why = "another host";
    return false;
  }
  if (probe_addr == 0U || peer.pid == 0U) {
    why = "the peer offers no same-host path";
    return false;
  }
  if (!ConnectionPeerIs(connection, static_cast<pid_t>(peer.pid), why)) {
    return false;
  }
  WireNonce seen{};
  const int error = ReadPeerMemory(static_cast<pid_t>(peer.pid), probe_addr, seen.data(), seen.size());
  if (error != 0) {
    why = std::string("reading the peer's memory: ") + std::strerror(error);
    return false;
  }
  if (std::memcmp(seen.data(), our_nonce.data(), seen.size()) != 0) {
    why = "the peer's memory does not hold our nonce where it said";
    return false;
  }
  return true;
}
}  // namespace dd::host

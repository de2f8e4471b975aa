// Whether this side may move bytes to and from a peer with process_vm_readv/writev: only toward
// the process that kernel facts show holds the other end of our connection (socket_peer.h), never
// on what the peer's bytes claim, since bytes can be relayed by a third process; and only when
// that process lets us read from it, proven by reading our own nonce back from where it says it
// keeps a copy (docs/design/link-transport.md §6).
#ifndef DD_HOST_SAME_HOST_PROBE_H_
#define DD_HOST_SAME_HOST_PROBE_H_

#include <cstdint>
#include <string>

#include "wire_format.h"

namespace dd::host {
bool GrantSameHost(const HostIdentity &local, const HostIdentity &peer, int connection, uint64_t probe_addr,
                   const WireNonce &our_nonce, std::string &why);
}  // namespace dd::host

#endif  // DD_HOST_SAME_HOST_PROBE_H_

// Which process holds the other end of a TCP connection, from kernel facts only: the peer socket's
// inode from /proc/net/tcp{,6} (our remote address is its local one and the reverse), then whether a
// given process has that inode open under /proc/<pid>/fd. Bytes a peer sends can be relayed by a
// third process; these facts cannot, so the same-host path is granted on them (see
// docs/design/link-transport.md §6).
#ifndef DD_HOST_SOCKET_PEER_H_
#define DD_HOST_SOCKET_PEER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace dd::host {
// The inode of the socket at the other end of the connected TCP socket `fd`, when that socket lives
// in this network namespace (same host); 0 with `why` otherwise. Asks sock_diag (one lookup), or
// scans /proc/net/tcp{,6} where sock_diag is unavailable.
uint64_t PeerSocketInode(int fd, std::string &why);
// The same answer from the /proc scan alone (the fallback, tens of ms on a host with many sockets).
uint64_t PeerSocketInodeByScan(int fd, std::string &why);

// Whether process `pid` (in this pid namespace) has socket `inode` open; `why` says why not.
bool ProcessHoldsSocket(pid_t pid, uint64_t inode, std::string &why);

// PeerSocketInode + ProcessHoldsSocket: true when `pid` holds the other end of `fd`.
bool ConnectionPeerIs(int fd, pid_t pid, std::string &why);
}  // namespace dd::host

#endif  // DD_HOST_SOCKET_PEER_H_

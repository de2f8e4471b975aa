#include "socket_peer.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace dd::host {
namespace {
// An endpoint as /proc/net/tcp6 prints it: 16 address bytes (IPv4 as ::ffff:a.b.c.d) and a port.
struct Endpoint {
  uint8_t addr[16] = {};
  uint16_t port = 0;
  bool v4 = false;
};

bool ToEndpoint(const sockaddr_storage &ss, Endpoint &out) {
  if (ss.ss_family == AF_INET) {
    const auto &in = reinterpret_cast<const sockaddr_in &>(ss);
    out.addr[10] = 0xff;
    out.addr[11] = 0xff;
    std::memcpy(out.addr + 12, &in.sin_addr, 4);
    out.port = ntohs(in.sin_port);
    out.v4 = true;
    return true;
  }
  if (ss.ss_family == AF_INET6) {
    const auto &in6 = reinterpret_cast<const sockaddr_in6 &>(ss);
    std::memcpy(out.addr, &in6.sin6_addr, 16);
    out.port = ntohs(in6.sin6_port);
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    out.v4 = std::memcmp(out.addr, kMapped, 12) == 0;
    return true;
  }
  return false;
}

// The kernel prints each 32-bit word of the address as a native-endian integer in hex.
std::string ProcWords(const uint8_t *bytes, size_t words) {
  std::string text;
  char word[9];
  for (size_t i = 0; i < words; ++i) {
    uint32_t v = 0;
    std::memcpy(&v, bytes + 4 * i, 4);
    std::snprintf(word, sizeof(word), "%08X", v);
    text += word;
  }
  return text;
}

std::string ProcEndpoint(const Endpoint &e, bool v6_table) {
  char port[6];
  std::snprintf(port, sizeof(port), "%04X", e.port);
  return (v6_table ? ProcWords(e.addr, 4) : ProcWords(e.addr + 12, 1)) + ":" + port;
}

// The inode of the socket listed in `table` with exactly these local and remote endpoints.
uint64_t FindInode(const char *table, const std::string &local, const std::string &remote) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    char l[64] = {};
    char r[64] = {};
    unsigned long long inode = 0;
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (std::sscanf(line.c_str(), " %*s %63s %63s %*s %*s %*s %*s %*s %*s %llu", l, r, &inode) == 3 &&
        local == l && remote == r) {
      return inode;
    }
  }
  return 0;
}

// Asks the kernel (sock_diag) for the TCP socket of `family` whose local end is `local` and whose
// remote end is `remote`: one exact lookup, however many sockets the host has. 0 when there is
// none, or when sock_diag is unavailable (then `unavailable` is set).
uint64_t DiagLookup(int family, const Endpoint &local, const Endpoint &remote, bool &unavailable) {
  const int nl = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) {
    unavailable = true;
    return 0;
  }
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } query{};
  query.header.nlmsg_len = sizeof(query);
  query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  query.header.nlmsg_flags = NLM_F_REQUEST;
  query.request.sdiag_family = static_cast<uint8_t>(family);
  query.request.sdiag_protocol = IPPROTO_TCP;
  query.request.idiag_states = ~0U;
  query.request.id.idiag_sport = htons(local.port);
  query.request.id.idiag_dport = htons(remote.port);
  if (family == AF_INET) {
    std::memcpy(query.request.id.idiag_src, local.addr + 12, 4);
    std::memcpy(query.request.id.idiag_dst, remote.addr + 12, 4);
  } else {
    std::memcpy(query.request.id.idiag_src, local.addr, 16);
    std::memcpy(query.request.id.idiag_dst, remote.addr, 16);
  }
  query.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  query.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  uint64_t inode = 0;
  timeval bound{1, 0};  // the kernel answers at once; this only keeps a wait bounded
  ::setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
  if (::sendto(nl, &query, sizeof(query), 0, reinterpret_cast<sockaddr *>(&kernel), sizeof(kernel)) < 0) {
    unavailable = true;
  } else {
    alignas(nlmsghdr) uint8_t answer[8192];
    const ssize_t n = ::recv(nl, answer, sizeof(answer), 0);
    const auto *h = reinterpret_cast<const nlmsghdr *>(answer);
    if (n < 0) {
      unavailable = true;
    } else if (NLMSG_OK(h, static_cast<uint32_t>(n)) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
               h->nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg))) {
      inode = reinterpret_cast<const inet_diag_msg *>(NLMSG_DATA(h))->idiag_inode;
    } else if (NLMSG_OK(h, static_cast<uint32_t>(n)) && h->nlmsg_type == NLMSG_ERROR) {
      const int error = -reinterpret_cast<const nlmsgerr *>(NLMSG_DATA(h))->error;
      unavailable = error != ENOENT;  // ENOENT: no such socket, a real answer
    }
  }
  ::close(nl);
  return inode;
}

// The fallback: a scan of /proc/net/tcp{,6} for the socket listed with these ends.
uint64_t PeerSocketInodeFromProc(const Endpoint &local, const Endpoint &remote) {
  // The peer socket is listed with our remote endpoint as its local one. An IPv4 connection may
  // end in an IPv6 (dual-stack) socket, listed with mapped addresses in tcp6.
  uint64_t inode = 0;
  if (local.v4 && remote.v4) {
    inode = FindInode("/proc/net/tcp", ProcEndpoint(remote, false), ProcEndpoint(local, false));
  }
  if (inode == 0U) {
    inode = FindInode("/proc/net/tcp6", ProcEndpoint(remote, true), ProcEndpoint(local, true));
  }
  return inode;
}

// Our end and the other end of the connected socket `fd`.
bool Endpoints(int fd, Endpoint &local, Endpoint &remote, std::string &why) {
  sockaddr_storage ours{};
  sockaddr_storage theirs{};
  socklen_t len = sizeof(ours);
  if (::getsockname(fd, reinterpret_cast<sockaddr *>(&ours), &len) != 0) {
    why = std::string("getsockname: ") + std::strerror(errno);
    return false;
  }
  len = sizeof(theirs);
  if (::getpeername(fd, reinterpret_cast<sockaddr *>(&theirs), &len) != 0) {
    why = std::string("getpeername: ") + std::strerror(errno);
    return false;
  }
  if (!ToEndpoint(ours, local) || !ToEndpoint(theirs, remote)) {
    why = "not a TCP/IP socket";
    return false;
  }
  return true;
}

const char kNotHere[] = "the other end of the connection is not a socket of this host's network namespace";
}  // namespace

uint64_t PeerSocketInode(int fd, std::string &why) {
  Endpoint local;
  Endpoint remote;
  if (!Endpoints(fd, local, remote, why)) {
    return 0;
  }
  // The peer socket's local end is our remote one and the reverse. An IPv4 connection may end in
  // an IPv6 (dual-stack) socket, with mapped addresses.
  bool unavailable = false;
  uint64_t inode = 0;
  if (local.v4 && remote.v4) {
    inode = DiagLookup(AF_INET, remote, local, unavailable);
  }
  if (inode == 0U) {
    inode = DiagLookup(AF_INET6, remote, local, unavailable);
  }
  if (inode == 0U && unavailable) {
    inode = PeerSocketInodeFromProc(local, remote);
  }
  if (inode == 0U) {
    why = kNotHere;
  }
  return inode;
}

uint64_t PeerSocketInodeByScan(int fd, std::string &why) {
  Endpoint local;
  Endpoint remote;
  if (!Endpoints(fd, local, remote, why)) {
    return 0;
  }
  const uint64_t inode = PeerSocketInodeFromProc(local, remote);
  if (inode == 0U) {
    why = kNotHere;
  }
  return inode;
}

bool ProcessHoldsSocket(pid_t pid, uint64_t inode, std::string &why) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR *fds = ::opendir(dir.c_str());
  if (fds == nullptr) {
    why = "cannot list " + dir + ": " + std::strerror(errno);
    return false;
  }
  const std::string wanted = "socket:[" + std::to_string(inode) + "]";
  char target[64];
  bool found = false;
  while (const dirent *entry = ::readdir(fds)) {
    if (entry->d_name[0] == '.') {
      continue;
    }
    const std::string path = dir + "/" + entry->d_name;
    const ssize_t n = ::readlink(path.c_str(), target, sizeof(target) - 1);
    if (n > 0 && wanted.compare(0, std::string::npos, target, static_cast<size_t>(n)) == 0) {
      found = true;
      break;
    }
  }
  ::closedir(fds);
  if (!found) {
    why = "process " + std::to_string(pid) + " does not hold the other end of this connection";
  }
  return found;
}

bool ConnectionPeerIs(int fd, pid_t pid, std::string &why) {
  if (pid <= 0) {
    why = "no process id";
    return false;
  }
  const uint64_t inode = PeerSocketInode(fd, why);
  return inode != 0U && ProcessHoldsSocket(pid, inode, why);
}
}  // namespace dd::host

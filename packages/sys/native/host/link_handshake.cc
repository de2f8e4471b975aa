#include "link_handshake.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include "comm_resource.h"
#include "error_detail.h"
#include "handshake_client.h"
#include "device_memory.h"
#include "same_host_data_path.h"
#include "same_host_probe.h"
#include "tcp_data_path.h"

namespace dd::host {
using namespace llm_datadist;

std::set<int64_t> RegisteredCacheIds(const LocalCacheRegistry &registry) {
  std::set<int64_t> ids;
  for (const auto &cache : registry.All()) {
    ids.insert(cache->id);
  }
  return ids;
}

void SnapshotCacheTable(const LocalCacheRegistry &registry, const ClusterLink &link,
                        std::vector<CacheTableEntry> &table, std::set<int64_t> &ids) {
  table.clear();
  ids.clear();
  for (const auto &cache : registry.All()) {
    CacheTableEntry entry{cache->id, cache->geometry, cache->addrs, link.BoundLocally(cache->id), {}, nullptr};
    // Tensors in dd's memory files (aclrtMalloc, aclrtMallocHost) can be mapped by a same-host peer.
    for (const uint64_t addr : cache->addrs) {
      entry.files.push_back(DeviceMemory::Instance().FileSpanOf(addr, cache->geometry.tensor_bytes));
    }
    table.push_back(std::move(entry));
    ids.insert(cache->id);
  }
}

ge::Status CheckCommResPair(const EngineState &state, const std::string &local, const std::string &peer,
                            std::string &why) {
  const ge::Status status = CheckCommRes(local, "this engine's", state.options.device_id, why);
  return status != LLM_SUCCESS ? status : CheckCommRes(peer, "the peer's", -1, why);
}

HostIdentity LocalHostIdentity() {
  HostIdentity identity;
  identity.pid = static_cast<uint32_t>(::getpid());
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::getline(in, identity.boot_id);
  return identity;
}

std::shared_ptr<ClusterLink> MakeLink(const EngineState &state, PeerInfo peer, bool initiated_locally,
                                      int first_connection, bool same_host) {
  const auto pid = static_cast<pid_t>(peer.host.pid);
  auto link = std::make_shared<ClusterLink>(std::move(peer), initiated_locally, RegisteredCacheIds(state.registry),
                                            UniqueFd(::fcntl(first_connection, F_DUPFD_CLOEXEC, 0)));
  link->SetDataPaths(same_host ? std::make_unique<SameHostDataPath>(pid) : nullptr,
                     std::make_unique<TcpDataPath>(*link, state.options.piece_bytes));
  return link;
}

namespace {
LinkAttempt Failed(ge::Status status, const LinkTarget &target, const std::string &why) {
  LinkAttempt attempt;
  attempt.status = status;
  attempt.detail = "cluster " + std::to_string(target.remote_cluster_id) + " at " + target.ip + ":" +
                   std::to_string(target.port) + ": " + why;
  return attempt;
}

// A14: an address that is not one is PARAM_INVALID, a refused connect LINK_FAILED, one that is not
// done in time TIMEOUT.
ge::Status ConnectStatusCode(ConnectStatus status) {
  switch (status) {
    case ConnectStatus::kConnected: return LLM_SUCCESS;
    case ConnectStatus::kBadAddress: return LLM_PARAM_INVALID;
    case ConnectStatus::kTimeout: return LLM_TIMEOUT;
    case ConnectStatus::kFailed: break;
  }
  return LLM_LINK_FAILED;
}

// Opens one further connection of the link and binds it to the link as `kind` number `index`.
ge::Status Bind(const EngineState &state, const LinkTarget &target, const HandshakeTranscript &transcript,
                StreamKind kind, uint32_t index, const Deadline &deadline, UniqueFd &out, std::string &why) {
  ge::Status status = ConnectStatusCode(ConnectTcp(target.ip, target.port, deadline, out, why));
  if (status != LLM_SUCCESS) {
    return status;
  }
  BindMessage bind;
  bind.token = transcript.bind_token;
  bind.kind = static_cast<uint32_t>(kind);
  bind.index = index;
  bind.proof = ProofOf(state, ProofRole::kBind, transcript);
  std::vector<uint8_t> frame;
  EncodeBind(bind, frame);
  const IoResult io = SendBuffer(out.get(), frame.data(), frame.size(), deadline);
  if (io.status != IoStatus::kOk) {
    why = DescribeIo(io, "bind");
    return SendStatus(io);
  }
  return LLM_SUCCESS;
}

// Reads the server's answer to a bind: its commit of the link, or a refusal.
ge::Status ReadBindAnswer(int fd, const Deadline &deadline, uint64_t &generation, std::string &why) {
  FrameAssembler rx;
  const ge::Status status = ReadHandshakeFrame(fd, FrameType::kCommit, deadline, rx, why);
  if (status != LLM_SUCCESS) {
    return status;
  }
  if (!DecodeCommit(rx.body().data(), rx.body().size(), generation, why)) {
    why = "malformed answer: " + why;
    return LLM_PARAM_INVALID;
  }
  return LLM_SUCCESS;
}
}  // namespace

LinkAttempt EstablishLink(EngineState &state, const LinkTarget &target, const std::string &comm_res, SlotReservation slot,
                          const Deadline &deadline) {
  const bool hixl = state.options.hixl();
  const std::string address = target.ip + ":" + std::to_string(target.port);
  if (hixl && state.links.HasLinkTo(address)) {
    return Failed(LLM_ALREADY_LINK, target, "this engine is already linked to " + address);
  }
  const bool force_link = !hixl && target.force_link;
  UniqueFd requests;
  std::string why;
  ge::Status status = ConnectStatusCode(ConnectTcp(target.ip, target.port, deadline, requests, why));
  if (status != LLM_SUCCESS) {
    // A27 (hixl): the hixl engine maps a failed connect to LLM_FAILED (compat.md, choices).
    return Failed(hixl && status == LLM_LINK_FAILED ? LLM_FAILED : status, target, why);
  }
  HandshakeOpening opening = OpenHandshake(state, requests.get(), HandshakePurpose::kLink, LLM_LINK_FAILED, deadline);
  if (opening.status != LLM_SUCCESS) {
    return Failed(opening.status, target, opening.why);
  }
  // The server reads its nonce back from here to prove same-host access, while we wait for WELCOME.
  const WireNonce server_nonce = opening.transcript.server_nonce;
  ProofMessage proof = ClientProof(state, opening.transcript);
  proof.probe_addr = state.options.tcp_only ? 0U : reinterpret_cast<uintptr_t>(server_nonce.data());
  proof.force_link = force_link ? 1U : 0U;
  proof.hixl = hixl ? 1U : 0U;
  proof.streams = state.options.streams_per_link;
  proof.comm_res = comm_res;
  std::vector<uint8_t> frame;
  EncodeProof(proof, frame);
  const IoResult io = SendBuffer(requests.get(), frame.data(), frame.size(), deadline);
  if (io.status != IoStatus::kOk) {
    return Failed(SendStatus(io), target, DescribeIo(io, "proof"));
  }
  FrameAssembler rx;
  if ((status = ReadHandshakeFrame(requests.get(), FrameType::kWelcome, deadline, rx, why)) != LLM_SUCCESS) {
    return Failed(status, target, why);
  }
  WelcomeMessage welcome;
  if (!DecodeWelcome(rx.body().data(), rx.body().size(), welcome, why)) {
    return Failed(LLM_PARAM_INVALID, target, "malformed answer: " + why);
  }
  // A15: the server's verdict comes first.
  if (welcome.status != LLM_SUCCESS) {
    return Failed(ReturnedByV2(welcome.status) ? welcome.status : LLM_FAILED, target,
                  "peer refused the link: " + welcome.detail);
  }
  if (welcome.streams < 1U || welcome.streams > 16U) {
    return Failed(LLM_FAILED, target, "peer asked for " + std::to_string(welcome.streams) + " streams per link");
  }
  // A1: the default backend files the link under the id the peer reports, hixl under the one asked for.
  const uint64_t peer_id = opening.challenge.cluster_id;
  const uint64_t file_under = hixl ? target.remote_cluster_id : peer_id;
  if (!hixl) {
    if ((status = CheckCommResPair(state, comm_res, welcome.comm_res, why)) != LLM_SUCCESS) {
      return Failed(status, target, why);
    }
    if (state.links.Find(file_under) != nullptr && !force_link) {
      // A21 (c): the peer dropped its side but this one still holds it (docs/compat.md, choices).
      return Failed(LLM_LINK_FAILED, target,
                    "this engine still holds a link to cluster " + std::to_string(file_under) +
                        " that the peer no longer has; unlink it with force_flag=true first");
    }
  }
  LinkAttempt attempt;
  attempt.file_under = file_under;
  // A forced rebuild of a live link takes over its slot (D12); hixl keeps the link it re-points.
  if (hixl || !state.links.HoldsSlot(file_under)) {
    if (!slot.held()) {
      return Failed(LLM_LINK_FAILED, target,
                    "this engine already holds " + std::to_string(state.options.max_links) + " links (dd.MaxLinks)");
    }
    attempt.slot = std::move(slot);
  }
  // A failure from here on gives the slot back as `attempt` goes away.
  std::string same_host_why;
  const bool same_host = !state.options.tcp_only && GrantSameHost(state.identity, welcome.host, requests.get(),
                                                                  welcome.probe_addr, opening.transcript.client_nonce,
                                                                  same_host_why);
  // The further connections: the peer's requests come on `theirs`; more of ours, if the link has
  // several streams per direction. All are bound before the server commits and answers each.
  opening.transcript.bind_token = welcome.token;
  for (uint32_t i = 0; i < welcome.streams; ++i) {
    UniqueFd theirs;
    if ((status = Bind(state, target, opening.transcript, StreamKind::kServerRequests, i, deadline, theirs, why)) !=
        LLM_SUCCESS) {
      return Failed(status, target, why);
    }
    attempt.theirs.push_back(std::move(theirs));
  }
  attempt.ours.push_back(std::move(requests));
  for (uint32_t i = 1; i < welcome.streams; ++i) {
    UniqueFd more;
    if ((status = Bind(state, target, opening.transcript, StreamKind::kClientRequests, i, deadline, more, why)) !=
        LLM_SUCCESS) {
      return Failed(status, target, why);
    }
    attempt.ours.push_back(std::move(more));
  }
  uint64_t generation = 0;
  for (auto *group : {&attempt.theirs, &attempt.ours}) {
    for (size_t i = group == &attempt.ours ? 1U : 0U; i < group->size(); ++i) {
      if ((status = ReadBindAnswer((*group)[i].get(), deadline, generation, why)) != LLM_SUCCESS) {
        return Failed(status, target, why);
      }
    }
  }
  PeerInfo peer;
  peer.cluster_id = peer_id;
  peer.sync_wait_ms = welcome.sync_wait_ms == 0U ? 1000U : welcome.sync_wait_ms;
  peer.heartbeat_ms = welcome.heartbeat_ms == 0U ? 1000U : welcome.heartbeat_ms;
  peer.host = welcome.host;
  peer.address = address;
  attempt.link = MakeLink(state, std::move(peer), true, attempt.ours.front().get(), same_host);
  attempt.link->set_generation(generation);
  attempt.status = LLM_SUCCESS;
  return attempt;
}
}  // namespace dd::host

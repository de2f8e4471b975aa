// dd_host_node: one "host" of the cross-host test tier — a real host-backend engine in its own
// network namespace (started with `ip netns exec`), driven by the runner over stdin/stdout, one
// command per line in, one JSON object per line out.
//
//   dd_host_node serve  --cluster C --ip IP --port P --raw-port R --blocks B [--opt KEY=VALUE]...
//   dd_host_node client --cluster C --ip IP --blocks B [--opt KEY=VALUE]...
//
// Both register B blocks of 64 KiB as one cache (a server fills them with its pattern, see
// region_pattern.h) and print {"event":"ready",...}. A server listens on IP:P and also serves the
// same memory to the raw TCP baseline on IP:R. Commands (a client uses all of them, a server only
// quit):
//   link PEER IP PORT TIMEOUT_MS             LinkLlmClusters; replies with status, detail and ms
//   unlink PEER IP PORT TIMEOUT_MS FORCE     UnlinkLlmClusters
//   pull TAG KEY=VALUE...                    starts a TransferLoop of PullKvBlocks calls; keys:
//                                            peer cache remote_blocks blocks calls seconds threads
//                                            stop_on_failure seed
//   raw TAG KEY=VALUE...                     the same loop over the raw baseline; keys: peer ip port
//                                            remote_blocks blocks calls seconds threads seed
//   wait TAG | stop TAG                      waits for (or stops, then waits for) a loop; replies
//                                            with every call's record
//   quit                                     Finalize and exit (also on end of input)
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "error_detail.h"
#include "json_line.h"
#include "llm_datadist/llm_datadist.h"
#include "raw_block_link.h"
#include "region_pattern.h"
#include "transfer_loop.h"

extern "C" const char *dd_backend_error_detail(void);

namespace ddhosts {
namespace {
using namespace llm_datadist;

constexpr unsigned kLifetimeSeconds = 1200;  // never outlive a stuck run

struct Args {
  std::string mode;
  uint64_t cluster = 0;
  std::string ip;
  uint16_t port = 0;
  uint16_t raw_port = 0;
  uint64_t blocks = 0;
  std::map<std::string, std::string> options;
};

bool ParseArgs(int argc, char **argv, Args &args) {
  if (argc < 2) {
    return false;
  }
  args.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const std::string value = argv[i + 1];
    if (key == "--cluster") {
      args.cluster = std::strtoull(value.c_str(), nullptr, 10);
    } else if (key == "--ip") {
      args.ip = value;
    } else if (key == "--port") {
      args.port = static_cast<uint16_t>(std::strtoul(value.c_str(), nullptr, 10));
    } else if (key == "--raw-port") {
      args.raw_port = static_cast<uint16_t>(std::strtoul(value.c_str(), nullptr, 10));
    } else if (key == "--blocks") {
      args.blocks = std::strtoull(value.c_str(), nullptr, 10);
    } else if (key == "--opt" && value.find('=') != std::string::npos) {
      args.options[value.substr(0, value.find('='))] = value.substr(value.find('=') + 1);
    } else {
      return false;
    }
  }
  const bool serve = args.mode == "serve";
  return argc % 2 == 0 && (serve || args.mode == "client") && args.cluster != 0U && !args.ip.empty() &&
         args.blocks > 0U && (!serve || (args.port != 0U && args.raw_port != 0U));
}

void PrintError(const std::string &reply, const std::string &why) {
  JsonLine().Field("reply", reply).Field("error", why).Print();
}

// KEY=VALUE tokens of a command.
std::map<std::string, std::string> KeyValues(std::istringstream &in) {
  std::map<std::string, std::string> out;
  std::string token;
  while (in >> token) {
    const size_t eq = token.find('=');
    if (eq != std::string::npos) {
      out[token.substr(0, eq)] = token.substr(eq + 1);
    }
  }
  return out;
}

uint64_t Number(const std::map<std::string, std::string> &kv, const char *key, uint64_t fallback) {
  const auto it = kv.find(key);
  return it == kv.end() ? fallback : std::strtoull(it->second.c_str(), nullptr, 10);
}

LoopSpec SpecFrom(const std::map<std::string, std::string> &kv) {
  LoopSpec spec;
  spec.peer_cluster = Number(kv, "peer", 0);
  spec.remote_blocks = Number(kv, "remote_blocks", 0);
  spec.blocks_per_call = Number(kv, "blocks", 64);
  spec.max_calls = Number(kv, "calls", 0);
  spec.max_seconds = kv.count("seconds") != 0U ? std::strtod(kv.at("seconds").c_str(), nullptr) : 0.0;
  spec.threads = static_cast<int>(Number(kv, "threads", 1));
  spec.stop_on_failure = Number(kv, "stop_on_failure", 0) != 0U;
  spec.seed = Number(kv, "seed", 1);
  return spec;
}

ClusterInfo ClusterTo(uint64_t peer, const std::string &local_ip, const std::string &ip, uint16_t port) {
  ClusterInfo cluster;
  cluster.remote_cluster_id = peer;
  IpInfo local{};
  local.ip = AscendString(local_ip.c_str());
  IpInfo remote{};
  remote.ip = AscendString(ip.c_str());
  remote.port = port;
  cluster.local_ip_infos = {local};
  cluster.remote_ip_infos = {remote};
  return cluster;
}

class HostNode {
 public:
  explicit HostNode(Args args) : args_(std::move(args)) {}
  ~HostNode() {
    loops_.clear();
    if (engine_ != nullptr) {
      engine_->Finalize();
    }
    if (region_ != nullptr) {
      ::munmap(region_, args_.blocks * kBlockBytes);
    }
  }
  HostNode(const HostNode &) = delete;
  HostNode &operator=(const HostNode &) = delete;

  bool Start() {
    const uint64_t bytes = args_.blocks * kBlockBytes;
    void *mapped = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) {
      PrintError("ready", "cannot map " + std::to_string(bytes) + " bytes");
      return false;
    }
    region_ = static_cast<uint8_t *>(mapped);
    const bool serve = args_.mode == "serve";
    if (serve) {
      FillRegion(region_, bytes, args_.cluster);
    } else {
      std::memset(region_, 0, bytes);  // touched: no first-touch faults inside timed calls
    }
    std::string why;
    if (serve && !StartRawBlockServer(args_.ip, args_.raw_port, region_, bytes, why)) {
      PrintError("ready", why);
      return false;
    }
    engine_ = std::make_unique<LlmDataDist>(args_.cluster, serve ? LlmRole::kPrompt : LlmRole::kDecoder);
    std::map<AscendString, AscendString> options{{AscendString(OPTION_DEVICE_ID), AscendString("0")}};
    if (serve) {
      const std::string listen = args_.ip + ":" + std::to_string(args_.port);
      options[AscendString(OPTION_LISTEN_IP_INFO)] = AscendString(listen.c_str());
    }
    for (const auto &[key, value] : args_.options) {
      options[AscendString(key.c_str())] = AscendString(value.c_str());
    }
    Status status = engine_->Initialize(options);
    if (status == LLM_SUCCESS) {
      CacheDesc desc;
      desc.placement = CachePlacement::kHost;
      desc.num_tensors = 1;
      desc.data_type = DT_UINT8;
      desc.shape = {static_cast<int64_t>(args_.blocks), static_cast<int64_t>(kBlockBytes)};
      status = engine_->RegisterKvCache(desc, {reinterpret_cast<uintptr_t>(region_)}, RegisterCfg{}, cache_id_);
    }
    if (status != LLM_SUCCESS) {
      PrintError("ready", std::string(dd::host::StatusName(status)) + ": " + dd_backend_error_detail());
      return false;
    }
    JsonLine()
        .Field("event", "ready")
        .Field("pid", static_cast<int64_t>(::getpid()))
        .Field("cache_id", static_cast<int64_t>(cache_id_))
        .Field("blocks", args_.blocks)
        .Print();
    return true;
  }

  // Returns false on quit.
  bool Handle(const std::string &line) {
    std::istringstream in(line);
    std::string command;
    in >> command;
    if (command == "quit") {
      return false;
    }
    if (command == "link" || command == "unlink") {
      LinkCommand(command, in);
    } else if (command == "pull" || command == "raw") {
      StartLoop(command, in);
    } else if (command == "wait" || command == "stop") {
      FinishLoop(command, in);
    } else if (!command.empty()) {
      PrintError(command, "unknown command");
    }
    return true;
  }

 private:
  void LinkCommand(const std::string &command, std::istringstream &in) {
    uint64_t peer = 0;
    std::string ip;
    uint32_t port = 0;
    int32_t timeout_ms = 0;
    int force = 0;
    in >> peer >> ip >> port >> timeout_ms;
    if (command == "unlink") {
      in >> force;
    }
    if (in.fail()) {
      PrintError(command, "usage: link PEER IP PORT TIMEOUT_MS | unlink PEER IP PORT TIMEOUT_MS FORCE");
      return;
    }
    std::vector<Status> rets;
    const int64_t start = MonotonicNs();
    const ClusterInfo cluster = ClusterTo(peer, args_.ip, ip, static_cast<uint16_t>(port));
    const Status status = command == "link" ? engine_->LinkLlmClusters({cluster}, rets, timeout_ms)
                                            : engine_->UnlinkLlmClusters({cluster}, rets, timeout_ms, force != 0);
    const int64_t end = MonotonicNs();
    const std::string detail = status == LLM_SUCCESS ? "" : dd_backend_error_detail();
    JsonLine()
        .Field("reply", command)
        .Field("status", static_cast<uint64_t>(status))
        .Field("status_name", dd::host::StatusName(status))
        .Field("detail", detail)
        .Field("start_ms", static_cast<double>(start) / 1e6)
        .Field("ms", static_cast<double>(end - start) / 1e6)
        .Print();
  }

  void StartLoop(const std::string &command, std::istringstream &in) {
    std::string tag;
    in >> tag;
    const std::map<std::string, std::string> kv = KeyValues(in);
    if (tag.empty() || loops_.count(tag) != 0U) {
      PrintError(command, "a loop needs a new tag");
      return;
    }
    const LoopSpec spec = SpecFrom(kv);
    std::function<CallFn(int)> call_for_thread;
    if (command == "pull") {
      const int64_t remote_cache = static_cast<int64_t>(Number(kv, "cache", 0));
      call_for_thread = [this, spec, remote_cache](int) -> CallFn {
        return [this, spec, remote_cache](const std::vector<uint64_t> &src, const std::vector<uint64_t> &dst,
                                          std::string &why) -> uint32_t {
          CacheIndex index{};
          index.cluster_id = spec.peer_cluster;
          index.cache_id = remote_cache;
          Cache local;
          local.cache_id = cache_id_;
          const Status status = engine_->PullKvBlocks(index, local, src, dst);
          if (status != LLM_SUCCESS) {
            why = std::string(dd::host::StatusName(status)) + ": " + dd_backend_error_detail();
          }
          return status;
        };
      };
    } else {
      const std::string ip = kv.count("ip") != 0U ? kv.at("ip") : "";
      const auto port = static_cast<uint16_t>(Number(kv, "port", 0));
      call_for_thread = [this, ip, port](int) -> CallFn {
        auto client = std::make_shared<RawBlockClient>();
        auto connected = std::make_shared<std::string>();
        if (!client->Connect(ip, port, *connected)) {
          connected->insert(0, "raw baseline: ");
        } else {
          connected->clear();
        }
        return [this, client, connected](const std::vector<uint64_t> &src, const std::vector<uint64_t> &dst,
                                         std::string &why) -> uint32_t {
          if (!connected->empty()) {
            why = *connected;
            return LLM_FAILED;
          }
          std::vector<uint8_t *> destinations;
          destinations.reserve(dst.size());
          for (const uint64_t d : dst) {
            destinations.push_back(region_ + d * kBlockBytes);
          }
          return client->ReadBlocks(src, destinations, kBlockBytes, why) ? LLM_SUCCESS : LLM_FAILED;
        };
      };
    }
    auto loop = std::make_unique<TransferLoop>(spec, region_, args_.blocks, call_for_thread);
    std::string why;
    if (!loop->Start(why)) {
      PrintError(command, why);
      return;
    }
    loops_[tag] = std::move(loop);
    JsonLine().Field("reply", "started").Field("tag", tag).Print();
  }

  void FinishLoop(const std::string &command, std::istringstream &in) {
    std::string tag;
    in >> tag;
    const auto it = loops_.find(tag);
    if (it == loops_.end()) {
      PrintError(command, "no loop tagged '" + tag + "'");
      return;
    }
    if (command == "stop") {
      it->second->RequestStop();
    }
    it->second->Join();
    JsonLine()
        .Field("reply", "done")
        .Field("tag", tag)
        .Field("bytes", it->second->bytes_moved())
        .Field("verify_errors", it->second->verify_errors())
        .Raw("failures", it->second->FailuresJson())
        .Raw("calls", it->second->CallsJson())
        .Print();
    loops_.erase(it);
  }

  Args args_;
  uint8_t *region_ = nullptr;
  std::unique_ptr<LlmDataDist> engine_;
  int64_t cache_id_ = -1;
  std::map<std::string, std::unique_ptr<TransferLoop>> loops_;
};
}  // namespace
}  // namespace ddhosts

int main(int argc, char **argv) {
  ddhosts::Args args;
  if (!ddhosts::ParseArgs(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: %s serve --cluster C --ip IP --port P --raw-port R --blocks B [--opt K=V]...\n"
                 "       %s client --cluster C --ip IP --blocks B [--opt K=V]...\n",
                 argv[0], argv[0]);
    return 2;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the runner went away: so do we
  ::alarm(ddhosts::kLifetimeSeconds);
  ::signal(SIGPIPE, SIG_IGN);
  ddhosts::HostNode node(args);
  if (!node.Start()) {
    return 1;
  }
  std::string line;
  while (std::getline(std::cin, line) && node.Handle(line)) {
  }
  return 0;
}

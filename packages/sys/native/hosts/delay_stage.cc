// dd_delay_stage: the delay stage of the cross-host test tier (this kernel has no netem). It runs
// in the router namespace, where an iptables rule sends every forwarded packet to NFQUEUE queue
// `--queue`; each packet is held for `--delay-us` and then accepted. Only packet ids cross to user
// space (NFQNL_COPY_META): the packets stay in the kernel and leave unchanged.
//
//   dd_delay_stage --queue N --delay-us D
//
// The kernel hands over whole GSO packets (NFQA_CFG_F_GSO), so the stage pays one wake-up per
// burst of up to 64 KiB, not per segment (per segment it cost half a core at 1 Gbit/s here, and
// packets left hundreds of µs late). The delay is fixed, so packets leave in the order they came
// and one batch verdict releases every packet that is due. (Loss is not the stage's: the tier
// drops segments with iptables' statistic match where they arrive, after tbf cut them apart.)
//
// Prints "READY" once bound, and on SIGTERM/SIGINT one JSON line with what it did, including how
// late packets left (the stage's own error) so that a run can report it. It also stops when its
// standard input ends or its parent dies, so a killed runner leaves no stage behind.
#include <arpa/inet.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>

namespace {
constexpr int kReadBatch = 32;
volatile sig_atomic_t g_stop = 0;
void OnStop(int) { g_stop = 1; }

int64_t NowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

struct Held {
  uint32_t id;
  int64_t due_ns;
};

struct Stage {
  int64_t delay_ns = 0;
  nfq_q_handle *queue = nullptr;
  std::deque<Held> held;
  // What the stage did, for its report.
  uint64_t packets = 0;
  uint64_t verdict_errors = 0;
  size_t most_held = 0;
  int64_t late_total_ns = 0;
  int64_t late_max_ns = 0;
  uint64_t released = 0;
  uint64_t late_over_100us = 0;
};

int OnPacket(nfq_q_handle *, nfgenmsg *, nfq_data *data, void *arg) {
  auto &stage = *static_cast<Stage *>(arg);
  const nfqnl_msg_packet_hdr *header = nfq_get_msg_packet_hdr(data);
  if (header == nullptr) {
    return 0;
  }
  const uint32_t id = ntohl(header->packet_id);
  ++stage.packets;
  stage.held.push_back(Held{id, NowNs() + stage.delay_ns});
  stage.most_held = std::max(stage.most_held, stage.held.size());
  return 0;
}

// Accepts every held packet whose time has come, with one batch verdict (ids only grow). Returns
// the ns until the next one is due, or -1.
int64_t ReleaseDue(Stage &stage) {
  const int64_t now = NowNs();
  uint32_t last = 0;
  bool any = false;
  while (!stage.held.empty() && stage.held.front().due_ns <= now) {
    const int64_t late = now - stage.held.front().due_ns;
    stage.late_total_ns += late;
    stage.late_max_ns = std::max(stage.late_max_ns, late);
    stage.late_over_100us += late > 100000 ? 1U : 0U;
    ++stage.released;
    last = stage.held.front().id;
    any = true;
    stage.held.pop_front();
  }
  if (any && nfq_set_verdict_batch(stage.queue, last, NF_ACCEPT) < 0) {
    ++stage.verdict_errors;
  }
  return stage.held.empty() ? -1 : stage.held.front().due_ns - now;
}

bool ParseArgs(int argc, char **argv, int &queue_num, Stage &stage) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    char *end = nullptr;
    if (key == "--queue") {
      queue_num = static_cast<int>(std::strtol(argv[i + 1], &end, 10));
    } else if (key == "--delay-us") {
      stage.delay_ns = std::strtoll(argv[i + 1], &end, 10) * 1000;
    } else {
      return false;
    }
    if (end == argv[i + 1] || *end != '\0') {
      return false;
    }
  }
  return argc % 2 == 1 && queue_num >= 0 && queue_num <= 65535 && stage.delay_ns >= 0;
}
}  // namespace

int main(int argc, char **argv) {
  int queue_num = -1;
  Stage stage;
  if (!ParseArgs(argc, argv, queue_num, stage)) {
    std::fprintf(stderr, "usage: %s --queue N --delay-us D\n", argv[0]);
    return 2;
  }
  // Timers fire within 1 µs of the requested time instead of the default 50 µs slack.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  struct sigaction action {};
  action.sa_handler = OnStop;
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);

  nfq_handle *handle = nfq_open();
  if (handle == nullptr) {
    std::fprintf(stderr, "dd_delay_stage: nfq_open: %s\n", std::strerror(errno));
    return 1;
  }
  stage.queue = nfq_create_queue(handle, static_cast<uint16_t>(queue_num), &OnPacket, &stage);
  if (stage.queue == nullptr) {
    std::fprintf(stderr, "dd_delay_stage: cannot bind queue %d: %s\n", queue_num, std::strerror(errno));
    nfq_close(handle);
    return 1;
  }
  if (nfq_set_mode(stage.queue, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(stage.queue, 1U << 16U) < 0 ||
      nfq_set_queue_flags(stage.queue, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO) < 0) {
    std::fprintf(stderr, "dd_delay_stage: cannot configure queue %d: %s\n", queue_num, std::strerror(errno));
    nfq_destroy_queue(stage.queue);
    nfq_close(handle);
    return 1;
  }
  const int fd = nfq_fd(handle);
  const int rcvbuf = 16 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
  // Overruns of the netlink socket cost the packets the kernel could not announce, nothing else.
  const int one = 1;
  ::setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
  std::printf("READY\n");
  std::fflush(stdout);

  alignas(8) static char buffer[1 << 16];
  while (g_stop == 0) {
    const int64_t wait_ns = ReleaseDue(stage);
    pollfd p[2] = {{fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    timespec timeout{};
    timespec *timeout_at = nullptr;
    if (wait_ns >= 0) {
      timeout.tv_sec = static_cast<time_t>(wait_ns / 1000000000LL);
      timeout.tv_nsec = static_cast<long>(wait_ns % 1000000000LL);
      timeout_at = &timeout;
    }
    const int ready = ::ppoll(p, 2, timeout_at, nullptr);
    if (ready <= 0) {
      continue;  // timeout (a release is due) or a signal
    }
    if (p[1].revents != 0) {
      char byte = 0;
      if (::read(STDIN_FILENO, &byte, 1) <= 0) {
        break;  // the runner is gone
      }
    }
    // Read what is queued without blocking, but at most a batch before the next release check, so
    // that a steady stream of arrivals cannot hold back packets that are due.
    for (int i = 0; i < kReadBatch; ++i) {
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n <= 0) {
        break;
      }
      nfq_handle_packet(handle, buffer, static_cast<int>(n));
    }
  }

  // Unbinding drops whatever is still held; report first.
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const double cpu_ms = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
                        static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
  std::printf(
      "{\"cpu_ms\":%.1f,\"packets\":%llu,\"released\":%llu,\"most_held\":%zu,\"late_mean_us\":%.2f,"
      "\"late_max_us\":%.2f,\"late_over_100us\":%llu,\"verdict_errors\":%llu}\n",
      cpu_ms, static_cast<unsigned long long>(stage.packets), static_cast<unsigned long long>(stage.released), stage.most_held,
      stage.released > 0 ? static_cast<double>(stage.late_total_ns) / static_cast<double>(stage.released) / 1e3 : 0.0,
      static_cast<double>(stage.late_max_ns) / 1e3, static_cast<unsigned long long>(stage.late_over_100us),
      static_cast<unsigned long long>(stage.verdict_errors));
  std::fflush(stdout);
  nfq_destroy_queue(stage.queue);
  nfq_close(handle);
  return 0;
}

#include "harness.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "error_detail.h"
#include "peer_process.h"

namespace ddtest {
namespace {
struct Case {
  const char *name;
  TestFn fn;
};
std::vector<Case> &Cases() {
  static std::vector<Case> cases;
  return cases;
}
int g_case_failures = 0;
}  // namespace

void RegisterTest(const char *name, TestFn fn) { Cases().push_back(Case{name, fn}); }

void RecordFailure(const char *file, int line, const std::string &what) {
  ++g_case_failures;
  std::fprintf(stdout, "    %s:%d: %s\n", file, line, what.c_str());
  std::fflush(stdout);
}

std::string StatusText(uint32_t status) {
  char hex[16];
  std::snprintf(hex, sizeof(hex), "0x%x", status);
  return std::string(dd::host::StatusName(status)) + " (" + hex + ")";
}

int RunAll(int argc, char **argv) {
  const char *filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0;
  int failed = 0;
  int skipped = 0;
  for (const Case &c : Cases()) {
    if (filter != nullptr && std::strstr(c.name, filter) == nullptr) {
      continue;
    }
    g_case_failures = 0;
    const auto start = std::chrono::steady_clock::now();
    std::string skip_reason;
    try {
      c.fn();
    } catch (const Skip &skip) {
      skip_reason = skip.reason;
    } catch (const Abort &) {
      // REQUIRE already recorded why.
    } catch (const std::exception &e) {
      RecordFailure(__FILE__, __LINE__, std::string("exception: ") + e.what());
    }
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    const bool ok = g_case_failures == 0;
    if (ok && !skip_reason.empty()) {
      ++skipped;
      std::fprintf(stdout, "SKIP %s: %s\n", c.name, skip_reason.c_str());
    } else {
      (ok ? passed : failed) += 1;
      std::fprintf(stdout, "%s %s (%lld ms)\n", ok ? "PASS" : "FAIL", c.name, static_cast<long long>(ms));
    }
    std::fflush(stdout);
  }
  std::fprintf(stdout, "%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed == 0 && passed > 0 ? 0 : 1;
}
}  // namespace ddtest

int main(int argc, char **argv) {
  if (argc > 1 && std::strcmp(argv[1], ddtest::kPeerFlag) == 0) {
    return ddtest::RunPeerMain(argc, argv);
  }
  return ddtest::RunAll(argc, argv);
}

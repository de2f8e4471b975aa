// A small test harness: DD_TEST cases, CHECK macros that record failures and go on, REQUIRE
// macros that end the case, SKIP for a case the platform cannot run (said with its reason), and a
// runner whose last line is "N passed, N failed, N skipped".
#ifndef DD_TESTS_HARNESS_H_
#define DD_TESTS_HARNESS_H_

#include <cstdint>
#include <sstream>
#include <string>

namespace ddtest {
using TestFn = void (*)();
void RegisterTest(const char *name, TestFn fn);
void RecordFailure(const char *file, int line, const std::string &what);
int RunAll(int argc, char **argv);
// Thrown by REQUIRE to end the current case.
struct Abort {};
// Thrown by SKIP: the case cannot run here; `reason` is printed with it.
struct Skip {
  std::string reason;
};
// Readable status ("LLM_PARAM_INVALID (0x5010b005)").
std::string StatusText(uint32_t status);

struct Registrar {
  Registrar(const char *name, TestFn fn) { RegisterTest(name, fn); }
};

template <typename A, typename B>
std::string Mismatch(const char *a_text, const char *b_text, const A &a, const B &b) {
  std::ostringstream out;
  out << a_text << " == " << b_text << " (" << a << " vs " << b << ")";
  return out.str();
}
}  // namespace ddtest

#define DD_TEST(name)                                               \
  static void name();                                               \
  static const ::ddtest::Registrar name##_registrar(#name, &name);  \
  static void name()

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) ::ddtest::RecordFailure(__FILE__, __LINE__, "CHECK " #cond); \
  } while (0)

#define CHECK_EQ(a, b)                                                                        \
  do {                                                                                        \
    const auto dd_a_ = (a);                                                                   \
    const auto dd_b_ = (b);                                                                   \
    if (!(dd_a_ == dd_b_)) ::ddtest::RecordFailure(__FILE__, __LINE__, ::ddtest::Mismatch(#a, #b, dd_a_, dd_b_)); \
  } while (0)

// Status comparison with readable names and the backend's error detail.
#define CHECK_STATUS(expr, expected)                                                                    \
  do {                                                                                                  \
    const uint32_t dd_s_ = (expr);                                                                      \
    const uint32_t dd_e_ = (expected);                                                                  \
    if (dd_s_ != dd_e_)                                                                                 \
      ::ddtest::RecordFailure(__FILE__, __LINE__,                                                       \
                              std::string(#expr) + " gave " + ::ddtest::StatusText(dd_s_) + ", expected " + \
                                  ::ddtest::StatusText(dd_e_) + " [detail: " + dd_backend_error_detail() + "]"); \
  } while (0)

#define SKIP(reason) throw ::ddtest::Skip{reason}

#define REQUIRE(cond)                                                          \
  do {                                                                         \
    if (!(cond)) {                                                             \
      ::ddtest::RecordFailure(__FILE__, __LINE__, "REQUIRE " #cond);           \
      throw ::ddtest::Abort{};                                                 \
    }                                                                          \
  } while (0)

#define REQUIRE_STATUS(expr, expected)                       \
  do {                                                       \
    const uint32_t dd_rs_ = (expr);                          \
    CHECK_STATUS(dd_rs_, expected);                          \
    if (dd_rs_ != static_cast<uint32_t>(expected)) throw ::ddtest::Abort{}; \
  } while (0)

extern "C" const char *dd_backend_error_detail(void);

#endif  // DD_TESTS_HARNESS_H_

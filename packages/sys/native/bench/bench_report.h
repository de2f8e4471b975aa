// Benchmark results: a readable table on stdout and the JSON array the root `pnpm bench` reads.
// Every figure that has a baseline carries the baseline's name (another entry of the same run)
// and ratio = value / baseline value.
#ifndef DD_BENCH_BENCH_REPORT_H_
#define DD_BENCH_BENCH_REPORT_H_

#include <string>
#include <vector>

namespace ddbench {
struct BenchResult {
  std::string name;
  double value = 0;
  std::string unit;
  std::string baseline;  // name of the baseline entry, empty when none
  double ratio = 0;
};

class BenchReport {
 public:
  const BenchResult &Add(const std::string &name, double value, const std::string &unit);
  // Adds `name` compared with the already added entry `baseline`.
  const BenchResult &AddVersus(const std::string &name, double value, const std::string &unit,
                               const std::string &baseline);
  void PrintTable() const;
  bool WriteJson(const std::string &path) const;

 private:
  std::vector<BenchResult> results_;
};
}  // namespace ddbench

#endif  // DD_BENCH_BENCH_REPORT_H_

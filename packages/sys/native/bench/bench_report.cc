#include "bench_report.h"

#include <cstdio>

namespace ddbench {
const BenchResult &BenchReport::Add(const std::string &name, double value, const std::string &unit) {
  results_.push_back(BenchResult{name, value, unit, std::string(), 0});
  std::printf("  %-44s %12.3f %-6s\n", name.c_str(), value, unit.c_str());
  std::fflush(stdout);
  return results_.back();
}

const BenchResult &BenchReport::AddVersus(const std::string &name, double value, const std::string &unit,
                                          const std::string &baseline) {
  double base = 0;
  for (const BenchResult &r : results_) {
    if (r.name == baseline) {
      base = r.value;
    }
  }
  results_.push_back(BenchResult{name, value, unit, baseline, base > 0 ? value / base : 0});
  std::printf("  %-44s %12.3f %-6s  %5.2fx %s\n", name.c_str(), value, unit.c_str(), results_.back().ratio,
              baseline.c_str());
  std::fflush(stdout);
  return results_.back();
}

void BenchReport::PrintTable() const {
  std::printf("\n%-44s %12s %-6s %7s  %s\n", "figure", "value", "unit", "ratio", "baseline (same run)");
  for (const BenchResult &r : results_) {
    if (r.baseline.empty()) {
      std::printf("%-44s %12.3f %-6s\n", r.name.c_str(), r.value, r.unit.c_str());
    } else {
      std::printf("%-44s %12.3f %-6s %6.2fx  %s\n", r.name.c_str(), r.value, r.unit.c_str(), r.ratio,
                  r.baseline.c_str());
    }
  }
}

namespace {
std::string Quoted(const std::string &s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out + "\"";
}
}  // namespace

bool BenchReport::WriteJson(const std::string &path) const {
  FILE *f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return false;
  }
  std::fprintf(f, "[\n");
  for (size_t i = 0; i < results_.size(); ++i) {
    const BenchResult &r = results_[i];
    std::fprintf(f, "  { \"name\": %s, \"value\": %.6g, \"unit\": %s", Quoted(r.name).c_str(), r.value,
                 Quoted(r.unit).c_str());
    if (!r.baseline.empty()) {
      std::fprintf(f, ", \"baseline\": %s, \"ratio\": %.4f", Quoted(r.baseline).c_str(), r.ratio);
    }
    std::fprintf(f, " }%s\n", i + 1 < results_.size() ? "," : "");
  }
  std::fprintf(f, "]\n");
  return std::fclose(f) == 0;
}
}  // namespace ddbench

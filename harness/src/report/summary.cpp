#include "report/summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <tuple>

#include "report/result_json.h"

namespace kh {
namespace {

using nlohmann::json;

std::string format_number(double v) {
  if (!std::isfinite(v)) return fmt::format("{}", v);
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

}  // namespace

nlohmann::json summary_json(const std::string& job_name, const std::vector<RunResult>& runs,
                            int exit_code) {
  json counts = {{"pass", 0}, {"fail", 0}, {"infra", 0}, {"skip", 0}};
  json list = json::array();
  for (const RunResult& r : runs) {
    std::string outcome(to_string(r.outcome));
    counts[outcome] = counts[outcome].get<int>() + 1;
    list.push_back({{"kernel", r.kernel.name},
                    {"release", r.kernel.release},
                    {"arch", r.arch},
                    {"workload", r.workload},
                    {"key_metric", r.key_metric},
                    {"repeat", r.repeat},
                    {"outcome", outcome},
                    {"reason", r.reason},
                    {"accel", r.accel},
                    {"run_dir", r.run_dir},
                    {"metrics", numbers_json(r.metrics)},
                    {"assertions", assertions_json(r.assertions)},
                    {"timings", numbers_json(r.timings)}});
  }
  return {{"schema", 1},
          {"job", job_name},
          {"exit_code", exit_code},
          {"counts", std::move(counts)},
          {"runs", std::move(list)}};
}

std::string summary_table(const std::vector<RunResult>& runs,
                          const std::map<std::string, std::string>& key_metrics) {
  // TIME is the run's own (guest image and VM); BUILD is the kernel's, shown
  // once per kernel and arch (on its first row): "cache" when not built.
  using Row = std::array<std::string, 7>;
  std::vector<Row> rows = {
      {"KERNEL", "ARCH", "WORKLOAD", "OUTCOME", "KEY-METRIC", "TIME(s)", "BUILD(s)"}};
  std::set<std::pair<std::string, std::string>> build_shown;
  // "#<repeat>" only where a run is repeated, as in junit.xml.
  std::set<std::tuple<std::string, std::string, std::string>> repeated;
  for (const RunResult& r : runs)
    if (r.repeat > 0) repeated.emplace(r.kernel.name, r.arch, r.workload);
  std::map<Outcome, int> counts;
  for (const RunResult& r : runs) {
    ++counts[r.outcome];
    std::string workload = r.workload;
    if (repeated.count({r.kernel.name, r.arch, r.workload}))
      workload += fmt::format("#{}", r.repeat);
    std::string key = "-";
    if (auto k = key_metrics.find(r.workload); k != key_metrics.end()) {
      auto m = r.metrics.find(k->second);
      key = k->second + "=" + (m == r.metrics.end() ? std::string("-") : format_number(m->second));
    }
    auto total = r.timings.find("total");
    std::string time = total == r.timings.end() ? "-" : fmt::format("{:.1f}", total->second);
    std::string build;
    if (build_shown.emplace(r.kernel.name, r.arch).second) {
      auto b = r.timings.find("build");
      build = b == r.timings.end() ? "-" : b->second > 0 ? fmt::format("{:.1f}", b->second) : "cache";
    }
    rows.push_back(
        {r.kernel.name, r.arch, workload, std::string(to_string(r.outcome)), key, time, build});
  }

  std::array<std::size_t, 7> width{};
  for (const Row& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());

  std::string out;
  for (const Row& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c + 1 == row.size())
        line += fmt::format("{:>{}}", row[c], width[c]);  // numbers align right
      else if (c + 2 == row.size())
        line += fmt::format("{:>{}}  ", row[c], width[c]);
      else
        line += fmt::format("{:<{}}  ", row[c], width[c]);
    }
    out += line + "\n";
  }
  out += fmt::format("{} run{}: {} pass, {} fail, {} infra, {} skip\n", runs.size(),
                     runs.size() == 1 ? "" : "s", counts[Outcome::pass], counts[Outcome::fail],
                     counts[Outcome::infra], counts[Outcome::skip]);
  return out;
}

}  // namespace kh

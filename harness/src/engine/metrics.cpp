#include "engine/metrics.h"

#include <cstdlib>
#include <map>

#include "analysis/assertions.h"
#include "analysis/ktap.h"

namespace kh {

std::vector<TestCase> program_cases(const AgentRecords& records, Metrics& metrics) {
  std::vector<TestCase> cases;
  std::map<std::string, double> totals;
  bool any_ktap = false;
  for (const auto& o : records.outputs) {
    metrics[o.name + ".exit_status"] = o.exit_status;
    metrics[o.name + ".timed_out"] = o.timed_out ? 1 : 0;
    metrics[o.name + ".seconds"] = o.seconds;
    if (o.format != "ktap") continue;
    any_ktap = true;
    KtapResult k = parse_ktap(o.text, o.name, o.exit_status, o.timed_out);
    for (const char* s : {"pass", "fail", "skip", "xfail"}) metrics[o.name + "." + s] = 0;
    for (const auto& c : k.cases) {
      metrics[o.name + "." + c.status] += 1;
      totals[c.status] += 1;
      cases.push_back(c);
    }
  }
  if (any_ktap) {
    for (const char* s : {"pass", "fail", "skip", "xfail"})
      metrics[std::string("kselftest.") + s] = totals[s];
    metrics["kselftest.total"] = static_cast<double>(cases.size());
  }
  return cases;
}

Metrics collect_metrics(const PlannedRun& run, const AgentRecords& records,
                        std::vector<std::string>& errors, std::vector<TestCase>* cases,
                        MissingMetrics* missing) {
  Metrics m;
  for (const auto& snap : records.snapshots)
    for (const auto& [k, v] : snapshot_metrics(snap)) m[k] = v;
  for (const auto& [k, v] : records.metrics) m[k] = v;
  auto parsed = program_cases(records, m);
  if (cases) *cases = std::move(parsed);
  for (const auto& [k, v] : run.params) {
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (!v.empty() && end && *end == '\0') m[k] = d;
  }
  auto errs = derive_metrics(run.spec.metrics, m, missing);
  errors.insert(errors.end(), errs.begin(), errs.end());
  return m;
}

}  // namespace kh

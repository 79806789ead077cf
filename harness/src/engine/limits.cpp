#include "engine/limits.h"

#include <fmt/format.h>

#include <cstdlib>
#include <regex>

#include "analysis/assertions.h"
#include "util/error.h"

namespace kh {
namespace {

std::string number(double v) {
  return v == static_cast<double>(static_cast<long long>(v)) ? fmt::format("{}", static_cast<long long>(v))
                                                             : fmt::format("{:.6g}", v);
}

}  // namespace

std::string limit_violation(const PlannedRun& run) {
  Metrics vars;
  for (const auto& [name, value] : run.params) {
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (!value.empty() && end && *end == '\0') vars[name] = v;
  }
  vars["disk_mb"] = run.spec.machine.disk_mb;
  vars["memory_mb"] = run.spec.machine.memory_mb;
  vars["cpus"] = run.spec.machine.cpus;
  for (const Limit& limit : run.spec.limits) {
    bool applies = true;
    for (const auto& [name, value] : limit.when)
      if (auto it = run.params.find(name); it == run.params.end() || it->second != value)
        applies = false;
    if (!applies) continue;
    auto ok = evaluate(limit.check, vars);
    if (!ok)  // a workload.yaml mistake: say where
      throw InputError(fmt::format("{}: limit '{}': {}", limit.where, limit.check, ok.error().message));
    if (*ok != 0) continue;
    // Name the parameters the check reads, with their values.
    std::string named;
    for (const auto& [name, value] : run.params)
      if (std::regex_search(limit.check, std::regex("\\b" + name + "\\b")))
        named += (named.empty() ? "" : ", ") + name + "=" + value;
    // Both sides' values, split where the assertions split a comparison.
    std::string values;
    if (std::string left = comparison_left_side(limit.check); !left.empty()) {
      std::string rest = limit.check.substr(limit.check.find(left) + left.size());
      rest.erase(0, rest.find_first_not_of(' '));
      const std::size_t op_end = rest.find_first_not_of("<>=!");
      const std::string op = rest.substr(0, op_end), right = rest.substr(op_end);
      auto l = evaluate(left, vars), r = evaluate(right, vars);
      if (l && r) values = fmt::format(" is {} {} {}", number(*l), op, number(*r));
    }
    return fmt::format("{}: {} cannot fit the guest: {}{} ({}; {})", run.run_dir,
                       named.empty() ? "the machine" : named, limit.check, values, limit.why,
                       limit.where);
  }
  return "";
}

void check_limits(const std::vector<PlannedRun>& plan) {
  for (const PlannedRun& run : plan)
    if (std::string why = limit_violation(run); !why.empty()) throw InputError(why);
}

}  // namespace kh

// summary.json (every run: kernel, arch, workload, outcome, metrics,
// assertions) and the summary table printed at the end of `kharness run`.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/run_result.h"

namespace kh {

nlohmann::json summary_json(const std::string& job_name, const std::vector<RunResult>& runs,
                            int exit_code);

// key_metrics: workload id -> the metric to show in the table.
std::string summary_table(const std::vector<RunResult>& runs,
                          const std::map<std::string, std::string>& key_metrics);

}  // namespace kh

// Expressions over metric names (muparser): derived metrics in
// workload.yaml and assertions. Names may contain dots ("after.tainted").
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/run_result.h"
#include "util/result.h"

namespace kh {

// Evaluates `expr` with every metric as a variable. An unknown name is an
// error naming it.
Result<double> evaluate(const std::string& expr, const Metrics& vars);

// Adds each (name, expression) in order; a later one may use an earlier
// one. Returns the errors ("dying: unknown name 'after.x'"), if any.
std::vector<std::string> derive_metrics(const std::vector<std::pair<std::string, std::string>>& defs,
                                        Metrics& metrics);

std::vector<AssertionResult> evaluate_assertions(const std::vector<std::string>& exprs,
                                                 const Metrics& metrics);

}  // namespace kh

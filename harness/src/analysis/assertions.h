// Expressions over metric names (muparser): derived metrics in
// workload.yaml and assertions. Names may contain dots ("after.tainted").
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/run_result.h"
#include "util/result.h"

namespace kh {

// Evaluates `expr` with every metric as a variable. An unknown name is an
// error naming it ("unknown name 'after.x'"); a syntax error carries
// muparser's message and position; a NaN result is an error too. Operators:
// + - * / ^, < <= > >= == !=, && ||, ?:, and min/max/sum/avg/abs/....
Result<double> evaluate(const std::string& expr, const Metrics& vars);

// Derived metrics a run could not have, with why: name -> "needs
// after.memory_num_cgroups, which this kernel's snapshots did not provide".
using MissingMetrics = std::map<std::string, std::string>;

// Adds each (name, expression) in order; a later one may use an earlier
// one. A definition that names a metric the run does not have (a kernel
// without the file or row it comes from) goes into `missing` with why,
// when `missing` is given; other errors ("dying: unknown name 'after.x'",
// syntax) are returned.
std::vector<std::string> derive_metrics(
    const std::vector<std::pair<std::string, std::string>>& defs, Metrics& metrics,
    MissingMetrics* missing = nullptr);

// "a + b" for "a + b <= 3 * c"; "" when `expr` is not one comparison.
std::string comparison_left_side(const std::string& expr);

// One result per expression, in order: value = the result, passed = it
// evaluated and is nonzero; an expression that cannot be evaluated fails with
// `error` set. One over a metric in `missing` also sets `missing` to its
// name, and its error says why the metric is missing: the run cannot be
// judged on it (a skip, not a verdict on the kernel).
std::vector<AssertionResult> evaluate_assertions(const std::vector<std::string>& exprs,
                                                 const Metrics& metrics,
                                                 const MissingMetrics& missing = {});

}  // namespace kh

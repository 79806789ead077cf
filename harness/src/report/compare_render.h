// kharness compare, the text outputs: the Markdown report (stdout and
// compare.md) and compare.json for scripts. Pure functions of the model.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "report/compare_model.h"

namespace kh {

// The rule for "significant", as the reports state it.
std::string significance_rule(double alpha);
// A table's change cell: "-98.5% (-99.1% to -97.9%)" (the 95 % bootstrap
// interval), and its significance cell: "**yes**", "too few runs (4 would
// settle it)", "no".
std::string change_with_interval(const MetricCell& cell);
std::string significance_text(const MetricCell& cell);

// Per (workload, arch): the runs per kernel (infra counted, not used), the
// significant changes in one line, the metric table (shown metrics), the
// console report titles side by side, the assertions that flip.
std::string compare_markdown(const Comparison& c);

// Everything in the model, every metric included; NaN and infinities as
// null (with "change_text" keeping "+inf").
nlohmann::json compare_json(const Comparison& c);

}  // namespace kh

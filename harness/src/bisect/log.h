// The bisect log: bisect.json (every step: commit, subject, build, kernel
// hash, tries with outcomes and metrics, verdict) and bisect.log (the same
// for people, one block per step), both rewritten after every step so an
// interrupted bisect keeps what it learnt.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "bisect/bisect.h"

namespace kh {

nlohmann::json bisect_json(const BisectSummary& report);
std::string bisect_log_text(const BisectSummary& report);
// Writes both into `dir` (write-to-temp + rename).
void write_bisect_log(const std::filesystem::path& dir, const BisectSummary& report);

}  // namespace kh

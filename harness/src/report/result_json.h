// result.json: one RunResult, written by run, read back by compare/bisect.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/run_result.h"

namespace kh {

nlohmann::json to_json(const RunResult& r);
RunResult result_from_json(const nlohmann::json& j);  // throws InputError on a bad file
void write_result_json(const std::filesystem::path& path, const RunResult& r);
RunResult read_result_json(const std::filesystem::path& path);

}  // namespace kh

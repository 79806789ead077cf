// result.json: one RunResult, written by run, read back by compare/bisect.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/run_result.h"

namespace kh {

nlohmann::json to_json(const RunResult& r);
// Pieces shared with summary.json. NaN and infinities have no JSON
// spelling: such a number is left out (maps) or written as null (values).
nlohmann::json numbers_json(const std::map<std::string, double>& m);
nlohmann::json assertions_json(const std::vector<AssertionResult>& list);
// Throws InputError "<source>: <what is wrong>" on a wrong shape, a wrong
// type or another schema; fields that are absent keep their defaults.
RunResult result_from_json(const nlohmann::json& j);  // source "result.json"
RunResult result_from_json(const nlohmann::json& j, const std::string& source);
// Atomic (util/files.h write_file): a result file is whole or absent.
void write_result_json(const std::filesystem::path& path, const RunResult& r);
// Throws InputError naming `path` when it cannot be read or is not a result.
RunResult read_result_json(const std::filesystem::path& path);

}  // namespace kh

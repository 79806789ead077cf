// Shared test helpers: golden data paths and a temp dir per test.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/files.h"

namespace kh::test {

// tests/data/<relative>
std::filesystem::path data_path(const std::string& relative);
std::string read_data(const std::string& relative);

// Real `git -C repo ARGS...` with a fixed committer; a failure is a test
// failure (EXPECT). Returns the first output line.
std::string git(const std::filesystem::path& repo, std::vector<std::string> args);

}  // namespace kh::test

// Shared test helpers: golden data paths and a temp dir per test.
#pragma once

#include <filesystem>
#include <string>

#include "util/files.h"

namespace kh::test {

// tests/data/<relative>
std::filesystem::path data_path(const std::string& relative);
std::string read_data(const std::string& relative);

}  // namespace kh::test

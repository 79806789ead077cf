#include "test_util.h"

namespace kh::test {

std::filesystem::path data_path(const std::string& relative) {
  return std::filesystem::path(KH_TEST_DATA) / relative;
}

std::string read_data(const std::string& relative) {
  return read_file(data_path(relative));
}

}  // namespace kh::test

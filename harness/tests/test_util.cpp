#include "test_util.h"
#include "build_info.h"

#include <gtest/gtest.h>

#include "util/process.h"

namespace kh::test {

std::filesystem::path data_path(const std::string& relative) {
  return std::filesystem::path(KH_TEST_DATA) / relative;
}

std::string read_data(const std::string& relative) {
  return read_file(data_path(relative));
}

std::string git(const std::filesystem::path& repo, std::vector<std::string> args) {
  Command cmd;
  cmd.argv = {"git", "-C", repo.string(), "-c", "user.name=t", "-c", "user.email=t@example.org"};
  cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
  ProcessResult r = RealProcessRunner().run(cmd);
  EXPECT_TRUE(r.ok()) << shell_join(cmd.argv) << ": " << r.output;
  return first_line(r.output);
}

}  // namespace kh::test

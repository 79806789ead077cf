// kharness boot's command line: everything wrong is an InputError (exit 2)
// before any kernel is built or QEMU started.
#include <gtest/gtest.h>

#include "cli/commands.h"
#include "util/error.h"
#include "util/files.h"

namespace kh::cli {
namespace {

// Parses `kharness boot args...` and runs the action it leaves.
int boot(std::vector<std::string> args) {
  CLI::App app;
  Action action;
  add_boot(app, action);
  args.insert(args.begin(), "boot");
  std::reverse(args.begin(), args.end());  // CLI11 takes argv reversed
  app.parse(args);
  return action();
}

std::string input_error(std::vector<std::string> args) {
  try {
    boot(std::move(args));
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(BootArgsTest, UnknownArchIsAnInputError) {
  std::string e = input_error({"--arch", "riscv64"});
  EXPECT_NE(e.find("--arch riscv64: unknown arch"), std::string::npos) << e;
  EXPECT_NE(e.find("x86_64"), std::string::npos) << "lists the known arches: " << e;
}

TEST(BootArgsTest, UnknownWorkloadKernelOrParameterIsAnInputError) {
  EXPECT_NE(input_error({"--workload", "nosuch"}).find("--workload nosuch"), std::string::npos);
  EXPECT_NE(input_error({"--kernel", "nosuch"}).find("--kernel nosuch"), std::string::npos);
  EXPECT_NE(input_error({"--set", "dying-cgroup.iteratons=5"}).find("iteratons"),
            std::string::npos);
}

TEST(BootArgsTest, MissingImageIsAnInputError) {
  ScopedTempDir tmp("boot-test");
  std::string missing = (tmp.path() / "bzImage").string();
  std::string e = input_error({"--image", missing});
  EXPECT_NE(e.find("--image " + missing + ": no such file"), std::string::npos) << e;
}

TEST(BootArgsTest, UnknownArchWinsOverAGivenImage) {
  ScopedTempDir tmp("boot-test");
  write_file(tmp.path() / "Image", "not a kernel");
  std::string e = input_error({"--image", (tmp.path() / "Image").string(), "--arch", "mips"});
  EXPECT_NE(e.find("unknown arch"), std::string::npos) << e;
}

TEST(BootArgsTest, BadOptionsAreRejectedByTheParser) {
  EXPECT_THROW(boot({"--accel", "hvf"}), CLI::ValidationError);
  EXPECT_THROW(boot({"--image", "/x", "--kernel", "k"}), CLI::ExcludesError);
}

}  // namespace
}  // namespace kh::cli

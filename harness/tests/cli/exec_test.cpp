// kharness exec: its command line (every mistake an InputError before any
// build or boot), the guest's argv, its config and how an exec ends.
#include "cli/exec.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "util/error.h"
#include "util/files.h"

namespace kh::cli {
namespace {

// Parses `kharness exec args...` and returns what CLI11 filled in (the
// action would build and boot, so it is not run).
ExecArgs parse(std::vector<std::string> args) {
  CLI::App app;
  Action action;
  add_exec(app, action);
  args.insert(args.begin(), "exec");
  std::reverse(args.begin(), args.end());  // CLI11 takes argv reversed
  app.parse(args);
  ExecArgs out;
  auto* sub = app.get_subcommand("exec");
  out.command = sub->get_option("command")->as<std::vector<std::string>>();
  for (const char* name : {"--job", "--tree", "--image", "--kernel", "--dir", "--script"}) {
    auto* o = sub->get_option(name);
    if (o->count() == 0) continue;
    std::string v = o->as<std::string>();
    std::string n = name;
    if (n == "--job") out.job = v;
    if (n == "--tree") out.tree = v;
    if (n == "--image") out.image = v;
    if (n == "--kernel") out.kernel = v;
    if (n == "--dir") out.dir = v;
    if (n == "--script") out.script = v;
  }
  if (sub->get_option("--timeout")->count()) out.timeout = sub->get_option("--timeout")->as<int>();
  return out;
}

ExecArgs make(const std::function<void(ExecArgs&)>& fill) {
  ExecArgs a;
  fill(a);
  return a;
}

std::string input_error(const ExecArgs& a) {
  try {
    check_exec_args(a);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(ExecArgsTest, TheCommandComesAfterTheDoubleDashWithItsOwnOptions) {
  ExecArgs a = parse({"--timeout", "30", "--", "uname", "-r"});
  EXPECT_EQ(a.command, (std::vector<std::string>{"uname", "-r"}));
  EXPECT_EQ(a.timeout, 30);
  EXPECT_EQ(check_exec_args(a), ExecTarget::default_job);
}

TEST(ExecArgsTest, EachKindOfKernelIsRecognised) {
  ScopedTempDir tmp("kh-exec-args");
  write_file(tmp.path() / "job.yaml", "name: x\n");
  write_file(tmp.path() / "bzImage", "kernel");
  write_file(tmp.path() / "linux/Makefile", "all:\n");
  write_file(tmp.path() / "linux/Kconfig", "\n");
  auto with = [](ExecArgs a) {
    a.command = {"true"};
    return check_exec_args(a);
  };
  EXPECT_EQ(with(make([&](ExecArgs& x) { x.job = (tmp.path() / "job.yaml").string(); })),
            ExecTarget::job_file);
  EXPECT_EQ(with(make([&](ExecArgs& x) { x.tree = (tmp.path() / "linux").string(); })),
            ExecTarget::tree);
  EXPECT_EQ(with(make([&](ExecArgs& x) { x.image = (tmp.path() / "bzImage").string(); })),
            ExecTarget::image);
}

TEST(ExecArgsTest, MistakesAreInputErrorsNamingTheOption) {
  ScopedTempDir tmp("kh-exec-args");
  write_file(tmp.path() / "bzImage", "kernel");
  write_file(tmp.path() / "notakernel/README", "x\n");
  const std::string image = (tmp.path() / "bzImage").string();

  EXPECT_NE(input_error(ExecArgs{}).find("no command"), std::string::npos);
  EXPECT_NE(input_error(make([&](ExecArgs& x) {
              x.script = image;
              x.command = {"true"};
            })).find("not both"),
            std::string::npos);
  EXPECT_NE(input_error(make([&](ExecArgs& x) {
              x.tree = (tmp.path() / "notakernel").string();
              x.command = {"true"};
            })).find("not a kernel tree"),
            std::string::npos);
  EXPECT_NE(input_error(make([&](ExecArgs& x) {
              x.tree = "/nonexistent";
              x.command = {"true"};
            })).find("--tree /nonexistent"),
            std::string::npos);
  EXPECT_NE(input_error(make([&](ExecArgs& x) {
              x.job = "/nonexistent.yaml";
              x.command = {"true"};
            })).find("--job"),
            std::string::npos);
  EXPECT_NE(input_error(make([&](ExecArgs& x) {
              x.image = "/nonexistent";
              x.command = {"true"};
            })).find("--image /nonexistent"),
            std::string::npos);
  EXPECT_NE(input_error(make([&](ExecArgs& x) {
              x.job = image;
              x.image = image;
              x.command = {"true"};
            })).find("one of"),
            std::string::npos);
  EXPECT_NE(input_error(make([&](ExecArgs& x) {
              x.image = image;
              x.kernel = "k";
              x.command = {"true"};
            })).find("--kernel"),
            std::string::npos);
  EXPECT_NE(input_error(make([&](ExecArgs& x) {
              x.dir = "/nonexistent";
              x.command = {"true"};
            })).find("--dir /nonexistent"),
            std::string::npos);
  EXPECT_NE(input_error(make([&](ExecArgs& x) {
              x.script = "/nonexistent.sh";
            })).find("--script /nonexistent.sh"),
            std::string::npos);
  EXPECT_NE(input_error(make([&](ExecArgs& x) {
              x.command = {"true"};
              x.timeout = 0;
            })).find("--timeout 0"),
            std::string::npos);
  EXPECT_NE(input_error(make([&](ExecArgs& x) {
              x.command = {"true"};
              x.memory_mb = 16;
            })).find("--memory 16"),
            std::string::npos);
}

TEST(ExecCommandTest, OneWordGoesThroughTheShellSeveralRunAsTheyAre) {
  EXPECT_EQ(guest_command({"cat /proc/cgroups | head -3"}),
            (std::vector<std::string>{"/bin/sh", "-c", "cat /proc/cgroups | head -3"}));
  EXPECT_EQ(guest_command({"ls", "-l", "a b"}), (std::vector<std::string>{"ls", "-l", "a b"}));
}

TEST(ExecCommandTest, AScriptRunsDirectlyOnlyWithAShebang) {
  EXPECT_EQ(guest_script_command("/kharness/exec/t.sh", "#!/bin/bash\necho\n"),
            (std::vector<std::string>{"/kharness/exec/t.sh"}));
  EXPECT_EQ(guest_script_command("/kharness/exec/t.sh", "echo\n"),
            (std::vector<std::string>{"/bin/sh", "/kharness/exec/t.sh"}));
}

TEST(ExecCommandTest, TheConfigNamesTheCommandItsFolderAndThePorts) {
  auto j = nlohmann::json::parse(exec_config_json({"ls", "-l"}, "/host"));
  EXPECT_EQ(j["workload"], "exec");
  EXPECT_EQ(j["exec"]["argv"], nlohmann::json({"ls", "-l"}));
  EXPECT_EQ(j["exec"]["cwd"], "/host");
  EXPECT_EQ(j["exec"]["stdout"], "/dev/hvc1");
  EXPECT_EQ(j["exec"]["stderr"], "/dev/hvc2");
}

AgentRecords with_status(double status) {
  AgentRecords r;
  r.ready = true;
  r.metrics["exit_status"] = status;
  return r;
}

TEST(ExecEndingTest, TheCommandsStatusIsOurs) {
  VmExit vm;
  vm.kind = VmExitKind::powered_off;
  EXPECT_EQ(exec_ending(vm, with_status(0), "", 600).code, 0);
  ExecEnding e = exec_ending(vm, with_status(7), "", 600);
  EXPECT_EQ(e.kind, ExecEnding::Kind::exited);
  EXPECT_EQ(e.code, 7);
  EXPECT_EQ(e.message, "");
  EXPECT_EQ(exec_ending(vm, with_status(128 + 9), "", 600).code, 137);
}

TEST(ExecEndingTest, ASplatWhileTheCommandRanKeepsItsStatusAndIsSaid) {
  VmExit vm;
  vm.kind = VmExitKind::powered_off;
  ExecEnding e = exec_ending(vm, with_status(0), "WARNING in foo", 600);
  EXPECT_EQ(e.code, 0);
  EXPECT_NE(e.message.find("WARNING in foo"), std::string::npos);
}

TEST(ExecEndingTest, AKernelThatDiedBeforeTheStatusIsAFailure) {
  VmExit vm;
  vm.kind = VmExitKind::powered_off;
  AgentRecords r;
  r.ready = true;
  ExecEnding e = exec_ending(vm, r, "kernel panic: Fatal exception", 600);
  EXPECT_EQ(e.kind, ExecEnding::Kind::kernel_report);
  EXPECT_EQ(e.code, 1);
  EXPECT_NE(e.message.find("kernel panic: Fatal exception"), std::string::npos);
}

TEST(ExecEndingTest, TimeoutsInterruptsAndInfrastructure) {
  VmExit vm;
  AgentRecords ready;
  ready.ready = true;
  vm.kind = VmExitKind::run_timeout;
  vm.run_limit_seconds = 30;
  ExecEnding t = exec_ending(vm, ready, "", 30);
  EXPECT_EQ(t.kind, ExecEnding::Kind::timed_out);
  EXPECT_EQ(t.code, 124);
  EXPECT_NE(t.message.find("--timeout 30"), std::string::npos);

  vm.kind = VmExitKind::interrupted;
  EXPECT_EQ(exec_ending(vm, with_status(0), "", 30).code, 130) << "Ctrl-C wins";

  vm.kind = VmExitKind::boot_timeout;
  vm.boot_limit_seconds = 60;
  ExecEnding b = exec_ending(vm, AgentRecords{}, "", 30);
  EXPECT_EQ(b.kind, ExecEnding::Kind::infra);
  EXPECT_EQ(b.code, 3);
  EXPECT_NE(b.message.find("did not reach the agent within 60 s"), std::string::npos);

  vm.kind = VmExitKind::powered_off;
  AgentRecords setup = ready;
  setup.setup_errors = {"/dev/hvc1: no such port after 5 s"};
  ExecEnding s = exec_ending(vm, setup, "", 30);
  EXPECT_EQ(s.kind, ExecEnding::Kind::infra);
  EXPECT_NE(s.message.find("/dev/hvc1"), std::string::npos);
}

}  // namespace
}  // namespace kh::cli

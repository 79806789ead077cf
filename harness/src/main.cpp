// kharness: build a kernel, boot it, run memory-cgroup workloads, assert,
// report. main() parses the command line, dispatches to a subcommand, and
// turns fatal errors into one line and an exit code.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "bisect/verdict.h"
#include "build_info.h"
#include "cli/commands.h"
#include "core/outcome.h"
#include "util/error.h"
#include "util/interrupt.h"

int main(int argc, char** argv) {
  CLI::App app{
      "kharness: a kernel test harness for Linux memory-cgroup work.\n"
      "Builds a kernel (plus a patch series), boots it in QEMU, runs workloads that reproduce\n"
      "dying-memcg, jbd2 and THP-shrinker problems, and asserts on what the kernel reports."};
  app.footer(R"(Start with:
  kharness doctor          what this host has and lacks
  kharness run             the default job: Linux 6.1, dying-memcg reproducer
  kharness run --help      job files, filters, results, exit codes

Environment: KHARNESS_CACHE (default ~/.cache/kharness), KHARNESS_ROOT
(configs/, workloads/, kernel-patches/; default: the source tree).)");
  app.require_subcommand(1);
  app.set_version_flag("--version", KHARNESS_VERSION);
  // bisect-step runs under `git bisect run`, where an exit code of 128 or
  // more aborts the bisect and 2 or 3 would blame the commit: it exits only
  // with 0, 1 or 125, whatever happens.
  const bool bisect_step = argc > 1 && std::string_view(argv[1]) == "bisect-step";
  auto finish = [&](int code) { return bisect_step ? kh::git_bisect_exit_code_for(code) : code; };
  kh::cli::Action action;
  for (const auto& c : kh::cli::commands()) c.add(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return finish(code == 0 ? 0 : kh::kExitUsage);
  }
  kh::install_interrupt_handlers();
  try {
    return finish(action());
  } catch (const kh::InputError& e) {
    fmt::print(stderr, "kharness: error: {}\n", e.what());
    return finish(kh::kExitUsage);
  } catch (const kh::Interrupted& e) {
    fmt::print(stderr, "kharness: {} (results written so far are kept)\n", e.what());
    return finish(kh::kExitInterrupted);
  } catch (const kh::InfraError& e) {
    fmt::print(stderr, "kharness: infrastructure error: {}\n", e.what());
    return finish(kh::kExitInfra);
  } catch (const std::exception& e) {
    fmt::print(stderr, "kharness: internal error: {}\n", e.what());
    return finish(kh::kExitInfra);
  }
}

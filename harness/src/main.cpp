// kharness: build a kernel, boot it, run memory-cgroup workloads, assert,
// report. main() parses the command line, dispatches to a subcommand, and
// turns fatal errors into one line and an exit code.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

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
  kh::cli::Action action;
  for (const auto& c : kh::cli::commands()) c.add(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kh::kExitUsage;
  }
  kh::install_interrupt_handlers();
  try {
    return action();
  } catch (const kh::InputError& e) {
    fmt::print(stderr, "kharness: error: {}\n", e.what());
    return kh::kExitUsage;
  } catch (const kh::Interrupted& e) {
    fmt::print(stderr, "kharness: {} (results written so far are kept)\n", e.what());
    return kh::kExitInterrupted;
  } catch (const kh::InfraError& e) {
    fmt::print(stderr, "kharness: infrastructure error: {}\n", e.what());
    return kh::kExitInfra;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kharness: internal error: {}\n", e.what());
    return kh::kExitInfra;
  }
}

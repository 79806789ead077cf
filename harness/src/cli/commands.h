// The subcommands. Each lives in its own file and adds itself to the CLI11
// app through the table in commands.cpp; main() only parses and dispatches.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace kh::cli {

// What a subcommand leaves behind after parsing: the function to run,
// returning the process exit code.
using Action = std::function<int()>;

struct CommandEntry {
  const char* name;
  void (*add)(CLI::App& app, Action& action);
};

// The table: name -> how to add it. Order is the --help order.
const std::vector<CommandEntry>& commands();

void add_run(CLI::App& app, Action& action);
void add_build(CLI::App& app, Action& action);
void add_boot(CLI::App& app, Action& action);
void add_exec(CLI::App& app, Action& action);
void add_doctor(CLI::App& app, Action& action);
void add_history(CLI::App& app, Action& action);
void add_compare(CLI::App& app, Action& action);
void add_bisect(CLI::App& app, Action& action);
void add_bisect_step(CLI::App& app, Action& action);

}  // namespace kh::cli

#include "cli/commands.h"

namespace kh::cli {

const std::vector<CommandEntry>& commands() {
  // One row per command (clang-format would pack them into columns).
  // clang-format off
  static const std::vector<CommandEntry> table = {
      {"run", add_run},
      {"build", add_build},
      {"boot", add_boot},
      {"exec", add_exec},
      {"compare", add_compare},
      {"bisect", add_bisect},
      {"bisect-step", add_bisect_step},
      {"doctor", add_doctor},
      {"history", add_history},
  };
  // clang-format on
  return table;
}

}  // namespace kh::cli

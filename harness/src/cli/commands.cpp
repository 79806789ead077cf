#include "cli/commands.h"

namespace kh::cli {

const std::vector<CommandEntry>& commands() {
  static const std::vector<CommandEntry> table = {
      {"run", add_run},
      {"build", add_build},
      {"boot", add_boot},
      {"doctor", add_doctor},
      {"history", add_history},
  };
  return table;
}

}  // namespace kh::cli

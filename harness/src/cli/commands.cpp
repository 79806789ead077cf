#include "cli/commands.h"

namespace kh::cli {

const std::vector<CommandEntry>& commands() {
  static const std::vector<CommandEntry> table = {
      {"run", add_run},
      {"build", add_build},
      {"boot", add_boot},
      {"bisect", add_bisect},
      {"bisect-step", add_bisect_step},
      {"doctor", add_doctor},
  };
  return table;
}

}  // namespace kh::cli

// Console parser: a pure function from console bytes to findings.
// Tested against golden logs in tests/data/console/.
#pragma once

#include <string_view>
#include <vector>

#include "core/run_result.h"

namespace kh {

struct ConsoleReport {
  std::vector<ConsoleFinding> findings;  // in console order
  bool panicked = false;                 // "Kernel panic - not syncing"
  bool booted = false;                   // the kernel printed its banner ("Linux version")
};

ConsoleReport parse_console(std::string_view log);

}  // namespace kh

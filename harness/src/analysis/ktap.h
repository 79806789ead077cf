// KTAP / TAP 13 as the kernel's selftests print it (tools/testing/selftests/
// kselftest.h): "ok N name", "not ok N name", "ok N # SKIP name",
// "1..N", "1..0 # SKIP reason", "Bail out!". A pure function from a
// program's output to its cases.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/run_result.h"

namespace kh {

struct KtapResult {
  std::vector<TestCase> cases;
  int planned = -1;  // from "1..N"; -1 when no plan line
  bool bailed_out = false;
};

// `program` names the cases. Only top-level result lines count (nested
// subtests are indented). A skip's reason is its directive text, or the
// last "# " diagnostic line before it when kselftest put the test's name
// there. When the program ended (exit_status, timed_out) before every
// planned test reported, one failing case says how many never did.
KtapResult parse_ktap(std::string_view text, const std::string& program, int exit_status = 0,
                      bool timed_out = false);

}  // namespace kh

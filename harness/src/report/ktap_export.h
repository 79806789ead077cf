// results.ktap: a whole job as KTAP v1 (Documentation/dev-tools/ktap.rst)
// for kernel-style tooling.
//
//   KTAP version 1
//   # kharness job <name>
//   1..<runs>
//     KTAP version 1                      one subtest block per run, indented
//     # Subtest: <run folder>             two spaces: its assertions, then the
//     1..<n>                              selftest cases it ran
//     ok 1 assertion dying_after_loop >= 0.9 * iterations
//     ok 2 test_memcontrol test_memcg_subtree_control
//   # <key metric> = <value>
//   # <reason>                            a failing run's reason, last
//   ok 1 <kernel>/<arch>/<id>[/r<N>]      one result line per run (its folder)
//
// Outcomes: pass "ok", fail "not ok", skip "ok ... # SKIP <reason>", infra
// "not ok ... # ERROR <reason>". A description never contains '#' (KTAP
// forbids it there): it becomes '_'.
#pragma once

#include <string>
#include <vector>

#include "core/run_result.h"

namespace kh {

std::string ktap_export(const std::string& job_name, const std::vector<RunResult>& runs);

// The test name of a run in results.ktap: its folder under the results
// ("<kernel>/<arch>/<id>[/r<N>]"), so a reader finds its files; without
// one, "<kernel>/<arch>/<id>". '#' becomes '_'.
std::string ktap_run_name(const RunResult& r);

}  // namespace kh

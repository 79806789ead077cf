// junit.xml for CI dashboards: one testsuite per job, one testcase per run
// ("<kernel>/<arch>/<workload>[#repeat]"); fail -> <failure>, infra ->
// <error>, skip -> <skipped>.
#pragma once

#include <string>
#include <vector>

#include "core/run_result.h"

namespace kh {

std::string junit_xml(const std::string& job_name, const std::vector<RunResult>& runs);

}  // namespace kh

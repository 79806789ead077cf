#include "cli/job_loading.h"

#include <algorithm>
#include <thread>

#include "core/paths.h"
#include "default_job.h"

namespace kh::cli {

Job load_job_or_default(const std::string& path) {
  if (!path.empty()) return load_job_file(path);
  return parse_job(kDefaultJobText, std::string(kDefaultJobName) + " (built in)",
                   Paths::from_environment().root / "configs/jobs");
}

int host_cores() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int default_parallel_vms(int vcpus_per_guest) {
  return std::max(1, host_cores() / std::max(1, vcpus_per_guest));
}

}  // namespace kh::cli

// Shared by run and build: the job named on the command line, or the
// embedded default.
#pragma once

#include <string>

#include "core/job.h"

namespace kh::cli {

// Empty path: the default job compiled into the binary.
Job load_job_or_default(const std::string& path);

// The host's cores (at least 1): make -j for kernel builds.
int host_cores();
// VMs at once by default: host cores / the guest's vCPUs, at least 1.
int default_parallel_vms(int vcpus_per_guest);

}  // namespace kh::cli

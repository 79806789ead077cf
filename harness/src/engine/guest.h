// A run's guest, written to its folder: the initramfs (the agent as /init,
// its config.json, the workload's files), the scratch disk, and the
// reproduce.sh that boots the same guest again. The same for `kharness run`
// and `kharness boot`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/paths.h"
#include "core/plan.h"
#include "image/guest_image.h"
#include "util/process.h"
#include "vm/backend.h"

namespace kh {

// Whether the agent leaves a shell on the console (kharness boot) and when.
enum class AgentShell {
  none,                 // run the workload and power off (every run)
  instead_of_workload,  // skip the workload; the shell; power off when it exits
  after_workload,       // the workload (records as usual), then the shell
};

// The agent's /kharness/config.json for a run: the workload, its parameters
// (a file parameter as its copy's path in the image), the scratch disk when
// the workload asks for one, and the shell.
std::string agent_config_json(const PlannedRun& run, AgentShell shell = AgentShell::none);

// Writes a run's guest into `dir`: initramfs.cpio (the recipe's packages,
// the agent as /init, config.json, the workload's files, the selftests'
// programs from `selftests` when given) and, when the workload asks for a
// disk, a fresh scratch.img. Returns the request to boot `kernel_image`
// with it; the timeouts are left at their defaults for the caller to set.
// Throws InfraError when the agent, a package or mkfs is missing.
BootRequest write_guest(const PlannedRun& run, const std::filesystem::path& kernel_image,
                        const std::filesystem::path& dir, AgentShell shell,
                        const ImageRecipe& recipe, const Paths& paths, ProcessRunner& runner,
                        const std::filesystem::path& selftests = {});


}  // namespace kh

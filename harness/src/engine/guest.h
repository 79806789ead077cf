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
#include "util/status.h"
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

// Checks the recipe's .debs for `arch` against SHA256SUMS (image/deb.h)
// before any guest is written from them. A damaged or unlisted one is
// fetched again with `apt-get download` (apt checks it against Debian's
// index), with one warning, and its sum recorded. Throws InfraError when it
// cannot be fetched. Each file is checked once per process.
void ensure_guest_packages(const ImageRecipe& recipe, const ArchInfo& arch,
                           const std::filesystem::path& debs_dir, ProcessRunner& runner,
                           Status& status);

// Writes a run's guest into `dir`: initramfs.cpio (the recipe's packages,
// the agent as /init, config.json, the workload's files, the selftests'
// programs from `selftests` when given) and, when the workload asks for a
// disk, a fresh scratch.img. Returns the request to boot `kernel_image`
// with it; the timeouts are left at their defaults for the caller to set.
// `config_args` (config_boot_args of the kernel's .config, worked out once
// per kernel by the caller) go first on its command line.
// Throws InfraError when the agent, a package or mkfs is missing.
BootRequest write_guest(const PlannedRun& run, const std::filesystem::path& kernel_image,
                        const std::string& config_args, const std::filesystem::path& dir,
                        AgentShell shell, const ImageRecipe& recipe, const Paths& paths,
                        ProcessRunner& runner, const std::filesystem::path& selftests = {});

// The boot arguments a kernel's final .config allows on `arch`
// (core/arch.h, boot_args_for_config); "" when `config` is empty or
// unreadable. They go first on the command line: a workload's, a job's or
// the user's words come later and win.
std::string config_boot_args(const ArchInfo& arch, const std::filesystem::path& config);

// The .config of the build an image came from: the first `.config` in the
// image's folder or up to four folders above it (O=/arch/x86/boot/bzImage),
// or "" when there is none.
std::filesystem::path config_near_image(const std::filesystem::path& image);

}  // namespace kh

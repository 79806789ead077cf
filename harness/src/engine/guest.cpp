#include "engine/guest.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "util/files.h"

namespace kh {
namespace {

// Where a file parameter's copy sits in the guest.
std::string guest_file_path(const std::string& param, const std::filesystem::path& host) {
  return fmt::format("{}/{}/{}", kGuestFilesDir, param, host.filename().string());
}

}  // namespace

std::string agent_config_json(const PlannedRun& run, AgentShell shell) {
  nlohmann::json j;
  j["workload"] = run.spec.name;
  j["params"] = run.params;
  // A file parameter reaches the agent as the copy's path in the image.
  for (const auto& p : run.spec.params)
    if (p.file && run.params.count(p.name))
      j["params"][p.name] = guest_file_path(p.name, run.params.at(p.name));
  if (run.spec.machine.disk_mb > 0) j["disk"] = "/dev/vda";
  if (run.ref && !run.ref->lru_gen.empty()) j["lru_gen"] = run.ref->lru_gen;
  switch (shell) {
    case AgentShell::none:
      break;
    case AgentShell::instead_of_workload:
      j["shell"] = "instead";
      break;
    case AgentShell::after_workload:
      j["shell"] = "after";
      break;
  }
  return j.dump(2) + "\n";
}

BootRequest write_guest(const PlannedRun& run, const std::filesystem::path& kernel_image,
                        const std::filesystem::path& dir, AgentShell shell,
                        const ImageRecipe& recipe, const Paths& paths, ProcessRunner& runner,
                        const std::filesystem::path& selftests) {
  const int disk_mb = run.spec.machine.disk_mb;
  GuestImageRequest img;
  img.arch = run.arch;
  img.recipe = recipe;
  img.agent = paths.agent(std::string(run.arch->name));
  img.debs_dir = paths.debs();
  img.config_json = agent_config_json(run, shell);
  img.workload_dir = run.spec.dir;
  for (const auto& p : run.spec.params)
    if (p.file && run.params.count(p.name))
      img.files.emplace_back(guest_file_path(p.name, run.params.at(p.name)), run.params.at(p.name));
  if (!selftests.empty()) {
    for (const auto& e : std::filesystem::directory_iterator(selftests))
      if (e.is_regular_file() && e.path().filename() != "complete")
        img.files.emplace_back(fmt::format("{}/{}/{}", kGuestSelftestsDir, run.spec.selftests,
                                           e.path().filename().string()),
                               e.path());
  }
  compose_guest_image(img, paths.guest_image_cache()).write(dir / "initramfs.cpio");

  BootRequest req;
  req.arch = run.arch;
  req.kernel = kernel_image;
  req.initrd = dir / "initramfs.cpio";
  req.run_dir = dir;
  req.machine.cpus = run.spec.machine.cpus;
  req.machine.memory_mb = run.spec.machine.memory_mb;
  req.machine.numa_nodes = run.spec.machine.numa_nodes;
  // Workload, then the job's entry (a variant), then the kernel's: later
  // words win for parameters the kernel reads last-one-wins.
  for (const std::string* part : {&run.spec.cmdline, &run.ref->cmdline, &run.kernel->cmdline})
    if (!part->empty()) req.machine.cmdline += (req.machine.cmdline.empty() ? "" : " ") + *part;
  if (disk_mb > 0) {
    make_scratch_disk(runner, dir / "scratch.img", disk_mb, paths.guest_image_cache());
    req.machine.disks.push_back(dir / "scratch.img");
  }
  return req;
}

std::string reproduce_script(const std::vector<std::string>& argv, int disk_mb) {
  std::string s =
      "#!/bin/sh\n"
      "# Boots exactly this run's kernel and image with the same QEMU command line.\n"
      "# It runs in a fresh folder (repro-<time>/) so the evidence beside this\n"
      "# script is never overwritten; the console is printed as it comes.\n"
      "set -eu\n"
      "here=$(cd \"$(dirname \"$0\")\" && pwd)\n"
      "dir=\"$here/repro-$(date +%Y%m%d-%H%M%S)\"\n"
      "mkdir -p \"$dir\" && cd \"$dir\"\n"
      "ln -s ../initramfs.cpio initramfs.cpio\n";
  if (disk_mb > 0)
    s += fmt::format("truncate -s {}M scratch.img && mkfs.ext4 -q -F -L kharness scratch.img\n",
                     disk_mb);
  s += ": > console.log\n"
       "tail -f console.log & tailpid=$!\n"
       "trap 'kill $tailpid 2>/dev/null' EXIT\n";
  s += shell_join(argv) + "\n";
  s += "echo \"console: $dir/console.log  records: $dir/records.jsonl\"\n";
  return s;
}

}  // namespace kh

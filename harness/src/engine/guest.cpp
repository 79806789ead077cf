#include "engine/guest.h"

#include <fmt/format.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "image/deb.h"
#include "kernel/kconfig.h"
#include "util/error.h"
#include "util/files.h"
#include "util/text.h"

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

void ensure_guest_packages(const ImageRecipe& recipe, const ArchInfo& arch,
                           const std::filesystem::path& debs_dir, ProcessRunner& runner,
                           Status& status) {
  static std::mutex mu;
  static std::set<std::string> checked;  // "<path> <size> <mtime>"
  std::lock_guard lock(mu);
  const std::string deb_arch(arch.deb_arch);
  for (const auto& pkg : recipe.packages) {
    std::filesystem::path deb = find_deb(debs_dir, pkg.name, deb_arch);
    auto identity = [](const std::filesystem::path& f) {
      std::error_code ec;
      return fmt::format("{} {} {}", f.string(), std::filesystem::file_size(f, ec),
                         std::filesystem::last_write_time(f, ec).time_since_epoch().count());
    };
    if (checked.count(identity(deb))) continue;
    std::string damage = check_deb(deb);
    if (!damage.empty()) {
      status.warn(fmt::format("guest package {}:{} in {}: {}: fetching it again", pkg.name,
                              deb_arch, debs_dir.string(), damage));
      std::error_code ec;
      std::filesystem::remove(deb, ec);
      Command get;
      get.argv = {
          "apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", pkg.name + ":" + deb_arch};
      get.cwd = debs_dir;
      ProcessResult r = runner.run(get);
      if (r.interrupted) throw Interrupted("fetching " + pkg.name);
      if (!r.ok())
        throw InfraError(
            fmt::format("guest package {}:{} was damaged and cannot be fetched again ({}); run "
                        "harness/setup.sh",
                        pkg.name, deb_arch, first_line(r.output)));
      deb = find_deb(debs_dir, pkg.name, deb_arch);
      record_deb_sum(deb);
    }
    checked.insert(identity(deb));
  }
}

std::string config_boot_args(const ArchInfo& arch, const std::filesystem::path& config) {
  std::string text;
  if (config.empty() || !read_file_if_exists(config, text)) return "";
  return boot_args_for_config(arch, config_values(parse_kconfig(text, config.string())));
}

std::filesystem::path config_near_image(const std::filesystem::path& image) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(image, ec).parent_path();
  for (int up = 0; up <= 4 && !dir.empty(); ++up, dir = dir.parent_path()) {
    if (std::filesystem::is_regular_file(dir / ".config", ec)) return dir / ".config";
    if (dir == dir.root_path()) break;
  }
  return {};
}

BootRequest write_guest(const PlannedRun& run, const std::filesystem::path& kernel_image,
                        const std::string& config_args, const std::filesystem::path& dir,
                        AgentShell shell, const ImageRecipe& recipe, const Paths& paths,
                        ProcessRunner& runner, const std::filesystem::path& selftests) {
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
  // What the kernel's config allows, the workload, then the job's entry (a
  // variant), then the kernel's: later words win for parameters the kernel
  // reads last-one-wins.
  for (const std::string* part :
       {&config_args, &run.spec.cmdline, &run.ref->cmdline, &run.kernel->cmdline})
    append_words(req.machine.cmdline, *part);
  if (disk_mb > 0) {
    make_scratch_disk(runner, dir / "scratch.img", disk_mb, paths.guest_image_cache());
    req.machine.disks.push_back(dir / "scratch.img");
  }
  return req;
}

}  // namespace kh

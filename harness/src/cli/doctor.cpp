// kharness doctor: what this host has, and the Debian package for what it
// lacks.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/arch.h"
#include "core/paths.h"
#include "image/deb.h"
#include "util/files.h"
#include "util/process.h"
#include "vm/accel.h"
#include "vm/kvm_access.h"

namespace kh::cli {
namespace {

struct Check {
  std::string what;
  bool ok;
  std::string detail;  // version, path, or how to fix
  bool required = true;
};

// What a command prints first (a version), or why it could not run.
std::string command_first_line(const std::vector<std::string>& argv) {
  RealProcessRunner runner;
  Command cmd;
  cmd.argv = argv;
  cmd.timeout = std::chrono::seconds(10);
  try {
    return first_line(runner.run(cmd).output);
  } catch (const std::exception& e) {
    return e.what();
  }
}

Check program(const std::string& name, const std::string& package, bool required = true,
              const char* version_flag = "--version") {
  auto path = find_program(name);
  if (path.empty()) return {name, false, "missing: apt-get install " + package, required};
  return {name, true, command_first_line({path.string(), version_flag}), required};
}

// The libvirt backend needs a running libvirtd (harness/setup.sh starts
// it where systemd does not).
Check libvirtd_running() {
  if (find_program("virsh").empty())
    return {"libvirtd running", false, "missing: apt-get install libvirt-clients", false};
  RealProcessRunner runner;
  Command cmd;
  cmd.argv = {"virsh", "-c", "qemu:///system", "-q", "version", "--daemon"};
  cmd.timeout = std::chrono::seconds(10);
  try {
    auto r = runner.run(cmd);
    if (r.exit_code == 0) {
      auto at = r.output.find("daemon: ");
      std::string line = r.output.substr(at == std::string::npos ? 0 : at);
      return {"libvirtd running", true, line.substr(0, line.find('\n')), false};
    }
  } catch (const std::exception&) {
  }
  return {"libvirtd running", false,
          "not running: `harness/setup.sh --libvirtd` starts it (as root); "
          "only --backend libvirt needs it",
          false};
}

// libvirt double-forks QEMU, so a QEMU that exits is reaped by libvirtd's
// nearest subreaper, else PID 1, and libvirt tears the domain down only
// when it is reaped. systemd (and sysvinit) reap at once; some container
// and microVM inits only now and then (2 s on this project's CI machines:
// 2 s more per VM). harness/setup.sh starts libvirtd under `tini -s`.
Check libvirtd_reaper() {
  const std::string what = "libvirtd's QEMUs reaped";
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string comm;
    if (!read_file_if_exists(e.path() / "comm", comm) || comm != "libvirtd\n") continue;
    std::string stat;
    if (!read_file_if_exists(e.path() / "stat", stat)) continue;
    // pid (comm) state ppid ...
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    int ppid = 0;
    char state = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) != 2) continue;
    std::string parent;
    read_file_if_exists(fmt::format("/proc/{}/comm", ppid), parent);
    while (!parent.empty() && parent.back() == '\n') parent.pop_back();
    if (ppid != 1 || parent == "systemd" || parent == "init")
      return {what, true, fmt::format("by libvirtd's parent {} (pid {})", parent, ppid), false};
    return {what, false,
            fmt::format("by PID 1 ({}), which may reap late: each domain's teardown waits for it; "
                        "restart libvirtd under `tini -s` (harness/setup.sh does)",
                        parent),
            false};
  }
  return {what, true, "no libvirtd running", false};
}

int do_doctor(bool probe_kvm) {
  Paths paths = Paths::from_environment();
  std::vector<Check> checks;
  checks.push_back(program("qemu-system-x86_64", "qemu-system-x86"));
  checks.push_back(program("qemu-system-aarch64", "qemu-system-arm"));
  checks.push_back(program("gcc", "gcc"));
  checks.push_back(program("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu", false));
  checks.push_back(program("make", "make"));
  checks.push_back(program("ccache", "ccache", false));
  checks.push_back(program("git", "git"));
  checks.push_back(program("mkfs.ext4", "e2fsprogs", true, "-V"));
  checks.push_back(program("bison", "bison"));
  checks.push_back(program("flex", "flex"));
  checks.push_back(program("bc", "bc"));
  checks.push_back(program("libvirtd", "libvirt-daemon-system", false));
  checks.push_back(libvirtd_running());
  checks.push_back(libvirtd_reaper());
  {
    auto kvm = check_kvm_for_libvirt();
    checks.push_back({"libvirt's /dev/kvm", kvm.state != KvmForLibvirt::inaccessible, kvm.detail,
                      false});
  }

  // The shipped jobs' kernels (default.yaml: 6.1; nightly and the compare
  // job: 6.12 too).
  for (const char* version : {"6.1", "6.12"}) {
    std::string pkg = fmt::format("linux-source-{}", version);
    std::string tarball = fmt::format("/usr/src/{}.tar.xz", pkg);
    bool have = std::filesystem::exists(tarball);
    checks.push_back({pkg, have, have ? tarball : "missing: apt-get install " + pkg});
  }

  RealHostProbe probe;
  bool kvm = probe.kvm_device_usable();
  AccelVerdictStore store(paths.cache / "accel.json");
  std::string id = probe.host_identity("qemu-system-x86_64");
  if (probe_kvm) store.put(id, "", "cleared by kharness doctor --probe-kvm");
  std::string verdict = store.get(id);
  std::string kvm_detail =
      !kvm ? "/dev/kvm absent or not usable: guests run under TCG"
      : verdict == "broken"
          ? "/dev/kvm opens, but KVM guests hung here before: TCG is used (--probe-kvm re-tests)"
      : verdict == "works"
          ? "usable: guests run under KVM"
          : "/dev/kvm opens; the first run checks that guests reach the agent under it";
  checks.push_back({"kvm", true, kvm_detail, false});

  for (const auto& arch : all_arches()) {
    std::string a(arch.name);
    auto agent = paths.agent(a);
    bool have = std::filesystem::exists(agent);
    checks.push_back({"agent " + a, have,
                      have ? agent.string() : agent.string() + " missing: cmake --build build",
                      a == "x86_64"});
    for (const char* pkg : {"busybox-static", "bash-static"}) {
      try {
        checks.push_back({fmt::format("{}:{}", pkg, arch.deb_arch), true,
                          find_deb(paths.debs(), pkg, std::string(arch.deb_arch)).string(),
                          a == "x86_64"});
      } catch (const std::exception& e) {
        checks.push_back(
            {fmt::format("{}:{}", pkg, arch.deb_arch), false, e.what(), a == "x86_64"});
      }
    }
  }
  auto free_gib = static_cast<double>(free_bytes(paths.cache)) / (1 << 30);
  checks.push_back({"disk", free_gib >= 4,
                    fmt::format("{:.1f} GiB free under {} (a kernel tree and build take ~2.5 GiB)",
                                free_gib, paths.cache.string())});

  bool all_required = true;
  for (const auto& c : checks) {
    const char* mark = c.ok ? "ok  " : (c.required ? "MISS" : "opt ");
    std::cout << fmt::format("{} {:<22} {}\n", mark, c.what, c.detail);
    if (!c.ok && c.required) all_required = false;
  }
  std::cout << (all_required ? "everything kharness needs is here\n"
                             : "missing pieces: run harness/setup.sh (installs them all)\n");
  return all_required ? 0 : 3;
}

}  // namespace

void add_doctor(CLI::App& app, Action& action) {
  auto probe = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand(
      "doctor", "Check what this host has: QEMU per arch, KVM, compilers, packages, disk");
  sub->footer(R"(Lines: ok (present), MISS (required, missing: the Debian package to install),
opt (optional, missing). Exit 0 when everything required is here, 3 if not.

Examples:
  kharness doctor
  kharness doctor --probe-kvm    # forget that KVM hung here; the next run re-tests it)");
  sub->add_flag("--probe-kvm", *probe,
                "Forget the cached KVM verdict so the next run tries KVM again");
  sub->callback([&action, probe] { action = [probe] { return do_doctor(*probe); }; });
}

}  // namespace kh::cli

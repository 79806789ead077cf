// Choosing the accelerator. KVM when /dev/kvm answers and a guest reaches
// the agent under it within a short deadline; else TCG. On some hosts
// /dev/kvm exists but guests hang silently or QEMU aborts setting MSRs: the
// first such boot marks KVM broken for this host (kept in the cache, keyed
// by host kernel and QEMU version) and later runs go straight to TCG.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

namespace kh {

// The host facts the choice depends on, behind an interface for tests.
class HostProbe {
 public:
  virtual ~HostProbe() = default;
  // /dev/kvm opens read-write and KVM_GET_API_VERSION answers 12.
  virtual bool kvm_device_usable() = 0;
  // Identifies the host for the cached verdict: kernel release + QEMU version.
  virtual std::string host_identity(const std::string& qemu_binary) = 0;
};

class RealHostProbe : public HostProbe {
 public:
  bool kvm_device_usable() override;
  // Asks `<qemu_binary> --version` once per binary and remembers the
  // answer in the process and in $KHARNESS_CACHE/qemu-versions.json, keyed
  // by the binary's path, inode, size and mtime (an upgrade changes them):
  // starting QEMU only to ask costs ~0.1 s, a tenth of a short run.
  std::string host_identity(const std::string& qemu_binary) override;

 private:
  std::mutex mu_;  // runs boot from several threads
  std::map<std::string, std::string> identities_;
};

// The remembered verdict: "broken" (KVM guests did not reach the agent),
// "works", or "" (never tried).
class AccelVerdictStore {
 public:
  explicit AccelVerdictStore(std::filesystem::path file) : file_(std::move(file)) {}
  std::string get(const std::string& identity) const;
  void put(const std::string& identity, const std::string& verdict, const std::string& why);

 private:
  std::filesystem::path file_;
};

// How long a KVM boot may take to reach the agent before we call KVM broken.
inline constexpr std::chrono::seconds kKvmProbeDeadline{8};

}  // namespace kh

#include "vm/accel.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "util/files.h"
#include "util/process.h"

namespace kh {

bool RealHostProbe::kvm_device_usable() {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  int version = ::ioctl(fd, KVM_GET_API_VERSION, 0);
  ::close(fd);
  return version == KVM_API_VERSION;
}

std::string RealHostProbe::host_identity(const std::string& qemu_binary) {
  std::lock_guard lock(mu_);
  if (auto it = identities_.find(qemu_binary); it != identities_.end()) return it->second;
  struct utsname u {};
  ::uname(&u);
  std::string id = std::string(u.release) + " " + u.machine;
  RealProcessRunner runner;
  Command cmd;
  cmd.argv = {qemu_binary, "--version"};
  cmd.timeout = std::chrono::seconds(10);
  try {
    ProcessResult r = runner.run(cmd);
    id += " " + r.output.substr(0, r.output.find('\n'));
  } catch (const std::exception&) {
    id += " (no " + qemu_binary + ")";
  }
  identities_[qemu_binary] = id;
  return id;
}

std::string AccelVerdictStore::get(const std::string& identity) const {
  std::string text;
  if (!read_file_if_exists(file_, text)) return "";
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains(identity)) return "";
  return j[identity].value("verdict", "");
}

void AccelVerdictStore::put(const std::string& identity, const std::string& verdict,
                            const std::string& why) {
  std::string text;
  nlohmann::json j = nlohmann::json::object();
  if (read_file_if_exists(file_, text)) {
    j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) j = nlohmann::json::object();
  }
  j[identity] = {{"verdict", verdict}, {"why", why}};
  write_file(file_, j.dump(2) + "\n");
}

}  // namespace kh

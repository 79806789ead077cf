#include "vm/accel.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/paths.h"
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
  std::string path = find_program(qemu_binary);
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) {
    id += " (no " + qemu_binary + ")";
    identities_[qemu_binary] = id;
    return id;
  }
  const std::string key = fmt::format("{} {} {} {}.{}", path, st.st_ino, st.st_size,
                                      st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  const std::filesystem::path memo = Paths::from_environment().cache / "qemu-versions.json";
  std::string text;
  nlohmann::json known = nlohmann::json::object();
  if (read_file_if_exists(memo, text)) {
    known = nlohmann::json::parse(text, nullptr, false);
    if (!known.is_object()) known = nlohmann::json::object();
  }
  std::string version;
  if (auto it = known.find(key); it != known.end() && it->is_string()) {
    version = it->get<std::string>();
  } else {
    RealProcessRunner runner;
    Command cmd;
    cmd.argv = {path, "--version"};
    cmd.timeout = std::chrono::seconds(10);
    try {
      ProcessResult r = runner.run(cmd);
      if (r.ok()) {
        version = r.output.substr(0, r.output.find('\n'));
        known[key] = version;
        try {
          ensure_dir(memo.parent_path());
          write_file(memo, known.dump(2) + "\n");
        } catch (const std::exception&) {
          // Only a memo: the next process asks QEMU again.
        }
      }
    } catch (const std::exception&) {
    }
    if (version.empty()) version = "(no " + qemu_binary + ")";
  }
  id += " " + version;
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

#include "vm/kvm_access.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "util/files.h"

namespace kh {

bool can_read_write(const NodeAccess& a) {
  if (a.user_uid == 0) return true;
  unsigned bits;
  if (a.user_uid == a.node_uid) {
    bits = (a.mode >> 6) & 7;
  } else if (std::find(a.user_groups.begin(), a.user_groups.end(), a.node_gid) !=
             a.user_groups.end()) {
    bits = (a.mode >> 3) & 7;
  } else {
    bits = a.mode & 7;
  }
  return (bits & 6) == 6;
}

std::string libvirt_qemu_user(const std::string& text) {
  static const std::regex line(R"re(^\s*user\s*=\s*"([^"]*)")re");
  std::string user = "libvirt-qemu";
  std::istringstream in(text);
  std::string l;
  std::smatch m;
  while (std::getline(in, l)) {
    if (std::regex_search(l, m, line)) user = m[1];
  }
  // qemu.conf also takes "+UID"; getpwnam cannot resolve that, and nothing
  // here sets it.
  return user;
}

KvmForLibvirtCheck check_kvm_for_libvirt(const std::filesystem::path& node,
                                         const std::filesystem::path& qemu_conf) {
  struct stat st {};
  if (::stat(node.c_str(), &st) != 0)
    return {KvmForLibvirt::no_node, node.string() + " absent: libvirt never probes KVM"};
  std::string conf;
  read_file_if_exists(qemu_conf, conf);
  std::string user = libvirt_qemu_user(conf);
  struct passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr)
    return {KvmForLibvirt::unknown_user,
            fmt::format("libvirt's QEMU user '{}' (from {}) does not exist here", user,
                        qemu_conf.string())};
  NodeAccess a;
  a.node_uid = st.st_uid;
  a.node_gid = st.st_gid;
  a.mode = st.st_mode & 0777;
  a.user_uid = pw->pw_uid;
  int n = 64;
  a.user_groups.resize(static_cast<size_t>(n));
  if (::getgrouplist(user.c_str(), pw->pw_gid, a.user_groups.data(), &n) < 0) {
    a.user_groups.resize(static_cast<size_t>(n));
    ::getgrouplist(user.c_str(), pw->pw_gid, a.user_groups.data(), &n);
  }
  a.user_groups.resize(static_cast<size_t>(n));
  struct group* gr = ::getgrgid(st.st_gid);
  std::string group = gr != nullptr ? gr->gr_name : std::to_string(st.st_gid);
  struct passwd* owner = ::getpwuid(st.st_uid);
  std::string owner_name = owner != nullptr ? owner->pw_name : std::to_string(st.st_uid);
  std::string node_desc =
      fmt::format("{} is {}:{} mode {:04o}", node.string(), owner_name, group, a.mode);
  if (can_read_write(a))
    return {KvmForLibvirt::accessible, fmt::format("{}, open to {}", node_desc, user)};
  return {KvmForLibvirt::inaccessible,
          fmt::format("{}, closed to {}: libvirt re-probes QEMU at every domain start "
                      "(~10 s each); harness/setup.sh hands it to group kvm, 0660, as udev does",
                      node_desc, user)};
}

}  // namespace kh

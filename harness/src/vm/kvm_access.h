// Whether libvirt's QEMU user can open /dev/kvm. libvirt runs its QEMUs as
// an unprivileged user (qemu.conf's `user`, Debian's libvirt-qemu) and, at
// each domain start, re-checks that user's access to /dev/kvm: when its
// cached QEMU capabilities say KVM but the user cannot open the node, it
// throws them away and re-probes QEMU, about 14 times per start (~10 s
// instead of ~0.5 s), TCG domains included. Without udev (containers, CI
// machines) the node is root-only 0600; udev would hand it to group kvm.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace kh {

// The node's owner and mode, and the user that would open it.
struct NodeAccess {
  uid_t node_uid = 0;
  gid_t node_gid = 0;
  unsigned mode = 0;  // permission bits (st_mode & 0777)
  uid_t user_uid = 0;
  std::vector<gid_t> user_groups;  // primary and supplementary
};

// True when the user may open the node for reading and writing, by the
// owner, group or other bits (root always may).
bool can_read_write(const NodeAccess& access);

// The user libvirt's QEMU driver runs guests as: the last `user = "..."`
// line of qemu.conf's text, else Debian's default.
std::string libvirt_qemu_user(const std::string& qemu_conf_text);

enum class KvmForLibvirt {
  no_node,       // no /dev/kvm: libvirt never probes KVM, nothing to re-check
  accessible,    // the QEMU user opens it: no re-probe
  inaccessible,  // libvirt re-probes QEMU at every domain start
  unknown_user,  // the configured user does not exist here
};

struct KvmForLibvirtCheck {
  KvmForLibvirt state;
  std::string detail;  // one line for `kharness doctor`
};

// Looks at /dev/kvm (or `node`) and /etc/libvirt/qemu.conf on this host.
KvmForLibvirtCheck check_kvm_for_libvirt(const std::filesystem::path& node = "/dev/kvm",
                                         const std::filesystem::path& qemu_conf =
                                             "/etc/libvirt/qemu.conf");

}  // namespace kh

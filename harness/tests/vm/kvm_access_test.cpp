#include "vm/kvm_access.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "util/files.h"

namespace kh {
namespace {

NodeAccess node(unsigned mode, gid_t node_gid, std::vector<gid_t> groups, uid_t uid = 64055) {
  NodeAccess a;
  a.node_uid = 0;
  a.node_gid = node_gid;
  a.mode = mode;
  a.user_uid = uid;
  a.user_groups = std::move(groups);
  return a;
}

// The fresh-machine case that made libvirt re-probe QEMU 14 times a start.
TEST(KvmAccess, RootOnlyNodeIsClosedToTheQemuUser) {
  EXPECT_FALSE(can_read_write(node(0600, 0, {107, 64055})));
}

TEST(KvmAccess, GroupKvm0660IsOpenToAMember) {
  EXPECT_TRUE(can_read_write(node(0660, 107, {107, 64055})));
  EXPECT_FALSE(can_read_write(node(0660, 107, {64055})));  // not in group kvm
}

TEST(KvmAccess, GroupNeedsBothReadAndWrite) {
  EXPECT_FALSE(can_read_write(node(0640, 107, {107})));
}

TEST(KvmAccess, WorldReadWriteAndRoot) {
  EXPECT_TRUE(can_read_write(node(0666, 0, {64055})));
  EXPECT_TRUE(can_read_write(node(0600, 0, {}, 0)));
}

TEST(KvmAccess, OwnerBitsApplyToTheOwnerOnly) {
  auto a = node(0060, 107, {107}, 5);
  a.node_uid = 5;  // owner with no bits: group bits do not rescue it
  EXPECT_FALSE(can_read_write(a));
}

TEST(KvmAccess, QemuUserFromQemuConf) {
  EXPECT_EQ(libvirt_qemu_user(""), "libvirt-qemu");
  EXPECT_EQ(libvirt_qemu_user("#user = \"root\"\n"), "libvirt-qemu");
  EXPECT_EQ(libvirt_qemu_user("user = \"qemu\"\ngroup = \"kvm\"\n  user=\"root\"\n"), "root");
}

TEST(KvmAccess, MissingNodeNeedsNothing) {
  auto c = check_kvm_for_libvirt("/nonexistent/kvm", "/nonexistent/qemu.conf");
  EXPECT_EQ(c.state, KvmForLibvirt::no_node);
}

TEST(KvmAccess, RealFileModesAreRead) {
  ScopedTempDir tmp("kvm-access");
  const auto node = tmp.path() / "kvm", conf = tmp.path() / "qemu.conf";
  write_file(node, "");
  write_file(conf, "user = \"nobody\"\n");
  std::filesystem::permissions(
      node, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto closed = check_kvm_for_libvirt(node, conf);
  EXPECT_EQ(closed.state, KvmForLibvirt::inaccessible) << closed.detail;
  EXPECT_NE(closed.detail.find("nobody"), std::string::npos) << closed.detail;
  std::filesystem::permissions(
      node, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                std::filesystem::perms::group_read | std::filesystem::perms::group_write |
                std::filesystem::perms::others_read | std::filesystem::perms::others_write);
  EXPECT_EQ(check_kvm_for_libvirt(node, conf).state, KvmForLibvirt::accessible);
}

}  // namespace
}  // namespace kh

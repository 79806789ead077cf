#include "core/arch.h"

#include <gtest/gtest.h>

namespace kh {
namespace {

TEST(ArchTest, TableHasBothArchesWithConsistentColumns) {
  const ArchInfo* x = find_arch("x86_64");
  const ArchInfo* a = find_arch("arm64");
  ASSERT_TRUE(x && a);
  EXPECT_EQ(x->image_path, "arch/x86/boot/bzImage");
  EXPECT_EQ(x->deb_arch, "amd64");
  EXPECT_EQ(a->cross_compile, "aarch64-linux-gnu-");
  EXPECT_EQ(a->console, "ttyAMA0");
  EXPECT_EQ(find_arch("riscv64"), nullptr);
  for (const auto& arch : all_arches()) {
    EXPECT_FALSE(arch.qemu_binary.empty());
    EXPECT_GE(arch.tcg_slowdown, 1.0);
  }
  EXPECT_EQ(known_arch_names(), "x86_64, arm64");
}

}  // namespace
}  // namespace kh

#include "core/arch.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "kernel/kconfig.h"

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

// A .config's text as the engine hands it over: parsed by kernel/kconfig.
std::map<std::string, std::string> values(const std::string& text) {
  return config_values(parse_kconfig(text, ".config"));
}

// acpi=noirq only for a kernel that can take its interrupts from the MP
// table and MSI: without either it would boot in PIC mode or lose virtio.
TEST(ArchTest, ConfigBootArgsFollowTheKernelsConfig) {
  const ArchInfo& x = *find_arch("x86_64");
  const std::string both = "CONFIG_ACPI=y\nCONFIG_X86_MPPARSE=y\nCONFIG_PCI_MSI=y\n";
  EXPECT_EQ(boot_args_for_config(x, values(both)), "acpi=noirq");
  EXPECT_EQ(boot_args_for_config(x, values("CONFIG_X86_MPPARSE=y\nCONFIG_PCI_MSI=y")),
            "acpi=noirq");
  EXPECT_EQ(boot_args_for_config(x, values("CONFIG_X86_MPPARSE=y\n# CONFIG_PCI_MSI is not set\n")),
            "");
  EXPECT_EQ(boot_args_for_config(x, values("CONFIG_PCI_MSI=y\n")), "");
  // A symbol's prefix or a value other than y is not the symbol set.
  EXPECT_EQ(boot_args_for_config(x, values("CONFIG_X86_MPPARSE=yes\nCONFIG_PCI_MSI=y\n")), "");
  EXPECT_EQ(boot_args_for_config(x, values("CONFIG_X86_MPPARSE=y\nXCONFIG_PCI_MSI=y\n")), "");
  EXPECT_EQ(boot_args_for_config(x, values("")), "");
  EXPECT_EQ(boot_args_for_config(*find_arch("arm64"), values(both)), "");
}

}  // namespace
}  // namespace kh

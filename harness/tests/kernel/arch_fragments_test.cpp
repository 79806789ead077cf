// The shipped per-arch fragments (configs/kernel/<arch>.config) agree with
// the arch table (core/arch.cpp): the kernel gets the console driver for the
// console= device and the virtio transport of the QEMU devices the backend
// adds, and the guest can power itself off.
#include <gtest/gtest.h>

#include <map>

#include "core/arch.h"
#include "build_info.h"
#include "kernel/kconfig.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

std::map<std::string, std::string> fragment(std::string_view name) {
  fs::path path = fs::path(KHARNESS_SOURCE_DIR) / "configs/kernel" / std::string(name);
  std::string text;
  EXPECT_TRUE(read_file_if_exists(path, text)) << path;
  return config_values(parse_kconfig(text, path.string()));
}

std::string value(const std::map<std::string, std::string>& config, const std::string& symbol) {
  auto it = config.find(symbol);
  return it == config.end() ? "" : it->second;
}

TEST(ArchFragments, EveryArchHasItsConsoleDriverAndVirtioTransport) {
  const std::map<std::string, std::string, std::less<>> console_driver = {
      {"ttyS0", "CONFIG_SERIAL_8250_CONSOLE"}, {"ttyAMA0", "CONFIG_SERIAL_AMBA_PL011_CONSOLE"}};
  const std::map<std::string, std::string, std::less<>> virtio_transport = {
      {"pci", "CONFIG_VIRTIO_PCI"}, {"device", "CONFIG_VIRTIO_MMIO"}};
  for (const ArchInfo& arch : all_arches()) {
    SCOPED_TRACE(std::string(arch.name));
    auto config = fragment(arch.config_fragment);
    ASSERT_FALSE(config.empty());
    ASSERT_TRUE(console_driver.contains(arch.console)) << arch.console;
    EXPECT_EQ(value(config, console_driver.find(arch.console)->second), "y");
    ASSERT_TRUE(virtio_transport.contains(arch.virtio_bus)) << arch.virtio_bus;
    EXPECT_EQ(value(config, virtio_transport.find(arch.virtio_bus)->second), "y");
    // Everything is built in: the initramfs carries no modules.
    EXPECT_NE(value(config, "CONFIG_MODULES"), "y");
  }
  EXPECT_NE(value(fragment("base.config"), "CONFIG_MODULES"), "y");
}

TEST(ArchFragments, Arm64PowersOffThroughPsciOverMmioWithoutPci) {
  auto config = fragment(find_arch("arm64")->config_fragment);
  EXPECT_EQ(value(config, "CONFIG_ARM_PSCI_FW"), "y");
  EXPECT_EQ(value(config, "CONFIG_SERIAL_AMBA_PL011"), "y");
  EXPECT_NE(value(config, "CONFIG_PCI"), "y");
}

}  // namespace
}  // namespace kh

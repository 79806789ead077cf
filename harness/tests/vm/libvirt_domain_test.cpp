#include "vm/libvirt_domain.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <pugixml.hpp>

#include "util/files.h"
#include "util/process.h"
#include "vm/qemu.h"

namespace kh {
namespace {

BootRequest request(const char* arch, int cpus, int memory_mb, int numa_nodes, int disks) {
  BootRequest r;
  r.arch = find_arch(arch);
  r.kernel = "/local/bzImage";
  r.initrd = "/local/initramfs.cpio";
  r.run_dir = "/local";
  r.machine.cpus = cpus;
  r.machine.memory_mb = memory_mb;
  r.machine.numa_nodes = numa_nodes;
  for (int i = 0; i < disks; ++i) r.machine.disks.push_back(fmt::format("/local/d{}.img", i));
  r.machine.cmdline = "cgroup.memory=nokmem";
  return r;
}

DomainFiles files(int disks) {
  DomainFiles f{"/pool/kernel-1", "/pool/kh-1-initramfs.cpio", {}};
  for (int i = 0; i < disks; ++i) f.disks.push_back(fmt::format("/pool/kh-1-disk{}.img", i));
  return f;
}

pugi::xml_node parse(pugi::xml_document& doc, const std::string& xml) {
  EXPECT_TRUE(doc.load_string(xml.c_str())) << xml;
  return doc.child("domain");
}

// virt-xml-validate (libvirt-clients) checks the XML against libvirt's own
// schema; setup.sh installs it.
void expect_valid(const std::string& xml) {
  if (find_program("virt-xml-validate").empty())
    GTEST_SKIP() << "virt-xml-validate is not installed (harness/setup.sh installs "
                    "libvirt-clients)";
  auto path = std::filesystem::temp_directory_path() /
              fmt::format("kh-domain-{}-{}.xml", ::getpid(), rand());
  write_file(path, xml);
  std::string cmd = fmt::format("virt-xml-validate {} domain >/dev/null 2>&1", path.string());
  int rc = std::system(cmd.c_str());
  std::filesystem::remove(path);
  EXPECT_EQ(rc, 0) << xml;
}

TEST(LibvirtDomainXmlTest, X86DirectKernelBootUnderTcg) {
  auto xml = libvirt_domain_xml(request("x86_64", 2, 512, 0, 1), "kh-1", files(1), Accel::tcg);
  pugi::xml_document doc;
  auto d = parse(doc, xml);
  EXPECT_STREQ(d.attribute("type").value(), "qemu");
  EXPECT_STREQ(d.child_value("name"), "kh-1");
  EXPECT_STREQ(d.child("memory").attribute("unit").value(), "MiB");
  EXPECT_STREQ(d.child_value("memory"), "512");
  EXPECT_STREQ(d.child_value("vcpu"), "2");
  auto os = d.child("os");
  EXPECT_STREQ(os.child("type").attribute("arch").value(), "x86_64");
  EXPECT_STREQ(os.child("type").attribute("machine").value(), "pc");
  EXPECT_STREQ(os.child_value("kernel"), "/pool/kernel-1");
  EXPECT_STREQ(os.child_value("initrd"), "/pool/kh-1-initramfs.cpio");
  // The qemu backend's command line under TCG, then the machine's.
  EXPECT_EQ(std::string(os.child_value("cmdline")),
            base_cmdline(*find_arch("x86_64")) + " noapictimer lpj=10000000 cgroup.memory=nokmem");
  EXPECT_EQ(std::string(os.child_value("cmdline")).rfind("console=ttyS0 panic=-1 ", 0), 0u);
  EXPECT_TRUE(d.child("features").child("acpi"));
  EXPECT_STREQ(d.child("cpu").attribute("mode").value(), "maximum");
  EXPECT_FALSE(d.child("cpu").child("numa"));
  for (const char* e : {"on_poweroff", "on_reboot", "on_crash"})
    EXPECT_STREQ(d.child_value(e), "destroy") << e;
  auto dev = d.child("devices");
  auto disk = dev.child("disk");
  EXPECT_STREQ(disk.child("source").attribute("file").value(), "/pool/kh-1-disk0.img");
  EXPECT_STREQ(disk.child("target").attribute("dev").value(), "vda");
  EXPECT_STREQ(disk.child("target").attribute("bus").value(), "virtio");
  EXPECT_FALSE(disk.child("address")) << "PCI on x86_64: libvirt places it";
  EXPECT_STREQ(dev.child("serial").attribute("type").value(), "pty");
  auto records = dev.child("console");
  EXPECT_STREQ(records.attribute("type").value(), "pty");
  EXPECT_STREQ(records.child("target").attribute("type").value(), "virtio");
  expect_valid(xml);
}

TEST(LibvirtDomainXmlTest, Arm64VirtWithVirtioOverMmio) {
  auto xml = libvirt_domain_xml(request("arm64", 1, 256, 0, 2), "kh-2", files(2), Accel::tcg);
  pugi::xml_document doc;
  auto d = parse(doc, xml);
  auto os = d.child("os");
  EXPECT_STREQ(os.child("type").attribute("arch").value(), "aarch64");
  EXPECT_STREQ(os.child("type").attribute("machine").value(), "virt");
  EXPECT_EQ(std::string(os.child_value("cmdline")).rfind("console=ttyAMA0 ", 0), 0u);
  EXPECT_FALSE(d.child("features").child("acpi")) << "arm64 virt boots from the device tree";
  EXPECT_STREQ(d.child_value("vcpu"), "1");
  int disks = 0;
  for (auto disk : d.child("devices").children("disk")) {
    EXPECT_STREQ(disk.child("address").attribute("type").value(), "virtio-mmio");
    EXPECT_STREQ(disk.child("target").attribute("dev").value(), disks == 0 ? "vda" : "vdb");
    ++disks;
  }
  EXPECT_EQ(disks, 2);
  auto vser = d.child("devices").find_child_by_attribute("controller", "type", "virtio-serial");
  EXPECT_STREQ(vser.child("address").attribute("type").value(), "virtio-mmio");
  expect_valid(xml);
}

TEST(LibvirtDomainXmlTest, NumaCellsSplitMemoryAndVcpus) {
  auto xml = libvirt_domain_xml(request("x86_64", 4, 1000, 2, 0), "kh-3", files(0), Accel::tcg);
  pugi::xml_document doc;
  auto d = parse(doc, xml);
  EXPECT_STREQ(d.child_value("memory"), "1000");
  std::vector<std::pair<std::string, std::string>> cells;
  for (auto c : d.child("cpu").child("numa").children("cell"))
    cells.emplace_back(c.attribute("cpus").value(), c.attribute("memory").value());
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0], std::make_pair(std::string("0-1"), std::string("500")));
  EXPECT_EQ(cells[1], std::make_pair(std::string("2-3"), std::string("500")));
  EXPECT_FALSE(d.child("devices").child("disk"));
  expect_valid(xml);
}

TEST(LibvirtDomainXmlTest, NumaOneVcpuPerNodeAndUnevenMemory) {
  auto xml = libvirt_domain_xml(request("arm64", 2, 513, 2, 1), "kh-4", files(1), Accel::tcg);
  pugi::xml_document doc;
  auto d = parse(doc, xml);
  // The cells hold the memory; the total is their sum, not the odd MiB.
  EXPECT_STREQ(d.child_value("memory"), "512");
  auto cell = d.child("cpu").child("numa").child("cell");
  EXPECT_STREQ(cell.attribute("cpus").value(), "0");
  EXPECT_STREQ(cell.next_sibling("cell").attribute("cpus").value(), "1");
  expect_valid(xml);
}

TEST(LibvirtDomainXmlTest, KvmPassesTheHostCpuThrough) {
  auto xml = libvirt_domain_xml(request("x86_64", 2, 512, 0, 0), "kh-5", files(0), Accel::kvm);
  pugi::xml_document doc;
  auto d = parse(doc, xml);
  EXPECT_STREQ(d.attribute("type").value(), "kvm");
  EXPECT_STREQ(d.child("cpu").attribute("mode").value(), "host-passthrough");
  // KVM's timers need no TCG help.
  EXPECT_EQ(std::string(d.child("os").child_value("cmdline")).find("noapictimer"),
            std::string::npos);
  expect_valid(xml);
}

TEST(LibvirtCapabilitiesTest, GuestArchesInTheTablesNames) {
  std::string caps = R"(<capabilities><host><cpu><arch>x86_64</arch></cpu></host>
    <guest><os_type>hvm</os_type><arch name='i686'/></guest>
    <guest><os_type>hvm</os_type><arch name='x86_64'/></guest>
    <guest><os_type>hvm</os_type><arch name='aarch64'/></guest>
    <guest><os_type>hvm</os_type><arch name='riscv64'/></guest></capabilities>)";
  EXPECT_EQ(capability_arches(caps), (std::vector<std::string>{"x86_64", "arm64"}));
  EXPECT_TRUE(capability_arches("not xml").empty());
}

}  // namespace
}  // namespace kh

#include "image/deb.h"

#include <gtest/gtest.h>

#include "util/files.h"
#include "util/hash.h"

namespace kh {
namespace {

TEST(DebSumsTest, ADebIsTrustedOnlyWhenItMatchesItsLine) {
  ScopedTempDir tmp("kh-debs");
  const auto deb = tmp.path() / "busybox-static_1%3a1.35.0-4_amd64.deb";
  write_file(deb, "package bytes");
  EXPECT_EQ(check_deb(deb), "busybox-static_1%3a1.35.0-4_amd64.deb is not in SHA256SUMS");
  record_deb_sum(deb);
  EXPECT_EQ(read_file(tmp.path() / "SHA256SUMS"),
            sha256_hex("package bytes") + "  busybox-static_1%3a1.35.0-4_amd64.deb\n");
  EXPECT_EQ(check_deb(deb), "");
  // sha256sum's own format (as setup.sh writes it) reads the same.
  write_file(tmp.path() / "other_1_arm64.deb", "x");
  write_file(tmp.path() / "SHA256SUMS", read_file(tmp.path() / "SHA256SUMS") +
                                            sha256_hex("x") + " *other_1_arm64.deb\n");
  EXPECT_EQ(check_deb(tmp.path() / "other_1_arm64.deb"), "");
  write_file(deb, "package bytez");  // rotted
  EXPECT_EQ(check_deb(deb), "busybox-static_1%3a1.35.0-4_amd64.deb: SHA-256 differs from SHA256SUMS");
  record_deb_sum(deb);  // a fresh copy's line replaces the old one
  EXPECT_EQ(check_deb(deb), "");
  EXPECT_EQ(check_deb(tmp.path() / "other_1_arm64.deb"), "");
}

}  // namespace
}  // namespace kh

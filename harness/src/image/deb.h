// Reading files out of Debian packages without dpkg: a .deb is an ar
// archive whose data.tar.* holds the payload (libarchive reads both).
#pragma once

#include <filesystem>
#include <string>

namespace kh {

// The bytes of `member` ("./bin/busybox") in the package's data archive.
// Throws InfraError naming the .deb and the member when absent.
std::string extract_from_deb(const std::filesystem::path& deb, const std::string& member);

// <dir>/<package>_<version>_<deb_arch>.deb (the newest when several);
// throws InfraError telling how to fetch it when there is none.
std::filesystem::path find_deb(const std::filesystem::path& dir, const std::string& package,
                               const std::string& deb_arch);

// The guests' .debs sit in one folder with a SHA256SUMS file (`sha256sum`
// format): setup.sh writes it after apt-get download, which checked every
// file against Debian's index, and kharness adds a line when it fetches one.
inline constexpr std::string_view kDebSums = "SHA256SUMS";

// "" when `deb` matches its SHA256SUMS line; else one line saying what is
// wrong ("busybox-static_..._amd64.deb: SHA-256 differs from SHA256SUMS",
// "... is not in SHA256SUMS"). Throws InfraError when it cannot be read.
std::string check_deb(const std::filesystem::path& deb);

// Records `deb`'s SHA-256 in its folder's SHA256SUMS (replacing its line).
void record_deb_sum(const std::filesystem::path& deb);

}  // namespace kh

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

}  // namespace kh

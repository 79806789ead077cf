#include "image/deb.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "util/error.h"
#include "util/files.h"
#include "util/hash.h"

namespace kh {
namespace {

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

std::string read_entry_data(archive* a) {
  std::string out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) throw InfraError(fmt::format("reading archive: {}", archive_error_string(a)));
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

std::string extract_from_deb(const std::filesystem::path& deb, const std::string& member) {
  ArchivePtr outer(archive_read_new(), archive_read_free);
  archive_read_support_format_ar(outer.get());
  if (archive_read_open_filename(outer.get(), deb.c_str(), 1 << 16) != ARCHIVE_OK)
    throw InfraError(fmt::format("{}: cannot open package: {}", deb.string(),
                                 archive_error_string(outer.get())));
  archive_entry* e = nullptr;
  std::string data;
  while (archive_read_next_header(outer.get(), &e) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    if (name.rfind("data.tar", 0) == 0) {
      data = read_entry_data(outer.get());
      break;
    }
  }
  if (data.empty()) throw InfraError(fmt::format("{}: no data.tar in package", deb.string()));

  ArchivePtr inner(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(inner.get());
  archive_read_support_filter_all(inner.get());
  if (archive_read_open_memory(inner.get(), data.data(), data.size()) != ARCHIVE_OK)
    throw InfraError(fmt::format("{}: cannot read data.tar: {}", deb.string(),
                                 archive_error_string(inner.get())));
  while (archive_read_next_header(inner.get(), &e) == ARCHIVE_OK) {
    if (member == archive_entry_pathname(e)) return read_entry_data(inner.get());
  }
  throw InfraError(fmt::format("{}: no {} in package", deb.string(), member));
}

std::filesystem::path find_deb(const std::filesystem::path& dir, const std::string& package,
                               const std::string& deb_arch) {
  std::vector<std::filesystem::path> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string f = e.path().filename().string();
    if (f.rfind(package + "_", 0) == 0 && f.size() > deb_arch.size() + 5 &&
        f.ends_with("_" + deb_arch + ".deb"))
      found.push_back(e.path());
  }
  if (found.empty())
    throw InfraError(
        fmt::format("no {}:{} package in {} (run harness/setup.sh, or: cd {} && "
                    "apt-get download {}:{})",
                    package, deb_arch, dir.string(), dir.string(), package, deb_arch));
  std::sort(found.begin(), found.end());
  return found.back();
}

namespace {

// file name -> sum, from a sha256sum-format file ("<hex>  <name>").
std::map<std::string, std::string> read_sums(const std::filesystem::path& file) {
  std::map<std::string, std::string> sums;
  std::string text;
  if (!read_file_if_exists(file, text)) return sums;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.size() > 66 && line[64] == ' ')
      sums[line.substr(line[65] == ' ' || line[65] == '*' ? 66 : 65)] = line.substr(0, 64);
  }
  return sums;
}

}  // namespace

std::string check_deb(const std::filesystem::path& deb) {
  const std::string name = deb.filename().string();
  auto sums = read_sums(deb.parent_path() / kDebSums);
  auto it = sums.find(name);
  if (it == sums.end()) return fmt::format("{} is not in {}", name, kDebSums);
  if (sha256_file(deb) != it->second)
    return fmt::format("{}: SHA-256 differs from {}", name, kDebSums);
  return "";
}

void record_deb_sum(const std::filesystem::path& deb) {
  const std::filesystem::path file = deb.parent_path() / kDebSums;
  auto sums = read_sums(file);
  sums[deb.filename().string()] = sha256_file(deb);
  std::string text;
  for (const auto& [name, sum] : sums) text += sum + "  " + name + "\n";
  write_file(file, text);
}

}  // namespace kh

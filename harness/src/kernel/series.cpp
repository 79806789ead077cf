#include "kernel/series.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "util/error.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

void read_manifest(Series& s) {
  fs::path file = s.dir / "series.yaml";
  std::string text;
  if (!read_file_if_exists(file, text)) return;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root || root.IsNull()) return;
    if (!root.IsMap())
      throw InputError(
          fmt::format("{}:1:1: series.yaml: expected a mapping (base:, origin:, "
                      "description:, expect:)",
                      file.string()));
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      std::string* dst = key == "base"          ? &s.base
                         : key == "origin"      ? &s.origin
                         : key == "description" ? &s.description
                         : key == "expect"      ? &s.expect
                                                : nullptr;
      if (!dst) {
        auto m = kv.first.Mark();
        throw InputError(
            fmt::format("{}:{}:{}: unknown key '{}' (known: base, origin, "
                        "description, expect)",
                        file.string(), m.line + 1, m.column + 1, key));
      }
      if (!kv.second.IsScalar()) {
        auto m = kv.second.Mark();
        throw InputError(fmt::format("{}:{}:{}: '{}' must be text", file.string(), m.line + 1,
                                     m.column + 1, key));
      }
      *dst = kv.second.as<std::string>();
    }
  } catch (const YAML::Exception& e) {
    throw InputError(
        fmt::format("{}:{}:{}: {}", file.string(), e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

// A mail with a diff in it (the cover letter has none).
bool has_diff(const std::string& text) {
  if (text.find("\ndiff --git ") != std::string::npos) return true;
  size_t minus = text.find("\n--- ");
  return minus != std::string::npos && text.find("\n+++ ", minus) != std::string::npos;
}

std::string mail_subject(const std::string& text) {
  std::string subject;
  bool in_subject = false;
  for (const auto& line : split_lines(text)) {
    if (line.empty()) break;  // end of headers
    if (in_subject && (line[0] == ' ' || line[0] == '\t')) {
      subject += " " + trim(line);
      continue;
    }
    in_subject = false;
    if (line.rfind("Subject:", 0) == 0) {
      subject = trim(line.substr(8));
      in_subject = true;
    }
  }
  return subject;
}

}  // namespace

std::vector<fs::path> Series::content_files() const {
  if (!mbox.empty()) return {mbox};
  std::vector<fs::path> out;
  for (const auto& p : patches) out.push_back(p.path);
  return out;
}

fs::path resolve_series_dir(const std::string& series, const Paths& paths,
                            const fs::path& job_dir) {
  fs::path p(series);
  if (p.is_absolute()) return p;
  if (series.find('/') != std::string::npos) return fs::absolute(job_dir / p);
  return paths.series_root() / p;
}

Series load_series(const std::string& name, const fs::path& dir) {
  Series s;
  s.name = name;
  s.dir = dir;
  if (!fs::is_directory(dir))
    throw InputError(fmt::format("series '{}': {}: no such folder", name, dir.string()));
  std::string text;
  if (read_file_if_exists(dir / "series", text)) {
    auto lines = split_lines(text);
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string line = lines[i];
      if (size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
      std::istringstream words(line);
      std::string patch_name, opt;
      if (!(words >> patch_name)) continue;
      Patch p{patch_name, dir / patch_name, 1};
      while (words >> opt) {
        if (opt.size() > 2 && opt.rfind("-p", 0) == 0 &&
            std::all_of(opt.begin() + 2, opt.end(), ::isdigit)) {
          p.strip = std::stoi(opt.substr(2));
        } else {
          throw InputError(fmt::format("{}:{}: unknown option '{}' (only -pN is supported)",
                                       (dir / "series").string(), i + 1, opt));
        }
      }
      if (!fs::is_regular_file(p.path))
        throw InputError(fmt::format("{}:{}: series '{}': patch {}: no such file",
                                     (dir / "series").string(), i + 1, name, patch_name));
      s.patches.push_back(std::move(p));
    }
  } else {
    std::vector<fs::path> mboxes;
    for (const auto& e : fs::directory_iterator(dir)) {
      auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".mbx" || ext == ".mbox")) mboxes.push_back(e.path());
    }
    if (mboxes.empty())
      throw InputError(fmt::format("series '{}': {} has neither a series file nor a .mbx/.mbox",
                                   name, dir.string()));
    if (mboxes.size() > 1)
      throw InputError(
          fmt::format("series '{}': {} has {} mboxes; keep one (or write a series "
                      "file)",
                      name, dir.string(), mboxes.size()));
    s.mbox = mboxes.front();
  }
  read_manifest(s);
  return s;
}

std::string patch_slug(const std::string& subject) {
  std::string s = trim(subject);
  // Drop "[PATCH v4 02/28]" and "Re:" style prefixes.
  while (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos) break;
    s = trim(s.substr(close + 1));
  }
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.') {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
    if (out.size() >= 52) break;
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  return out.empty() ? "patch" : out;
}

Series split_series(Series series, ProcessRunner& runner, const fs::path& work_dir) {
  if (series.mbox.empty()) return series;
  std::error_code ec;
  fs::remove_all(work_dir, ec);
  ensure_dir(work_dir);
  Command cmd;
  cmd.argv = {"git", "mailsplit", "-d4", "-o" + work_dir.string(),
              fs::absolute(series.mbox).string()};
  cmd.cwd = work_dir;
  ProcessResult r = runner.run(cmd);
  if (r.interrupted) throw Interrupted(fmt::format("series '{}'", series.name));
  if (!r.ok())
    throw InputError(fmt::format("series '{}': git mailsplit {} failed: {}", series.name,
                                 series.mbox.string(), trim(r.output)));
  std::vector<fs::path> mails;
  for (const auto& e : fs::directory_iterator(work_dir))
    if (e.is_regular_file()) mails.push_back(e.path());
  std::sort(mails.begin(), mails.end());
  series.patches.clear();
  int n = 0;
  for (const auto& mail : mails) {
    std::string text = read_file(mail);
    if (!has_diff(text)) continue;
    ++n;
    series.patches.push_back(
        {fmt::format("{:04d}-{}.patch", n, patch_slug(mail_subject(text))), mail, 1});
  }
  if (series.patches.empty())
    throw InputError(
        fmt::format("series '{}': {} holds no patches", series.name, series.mbox.string()));
  return series;
}

std::string describe_apply_failure(const std::string& git_output, const std::string& patch_text) {
  std::string file;
  long line_no = -1;
  std::string first_error;
  for (const auto& line : split_lines(git_output)) {
    constexpr std::string_view kFailed = "error: patch failed: ";
    if (line.rfind(kFailed, 0) == 0 && file.empty()) {
      std::string rest = line.substr(kFailed.size());
      size_t colon = rest.rfind(':');
      if (colon != std::string::npos) {
        file = rest.substr(0, colon);
        line_no = std::atol(rest.c_str() + colon + 1);
      }
    }
    if (first_error.empty() && line.rfind("error: ", 0) == 0) first_error = line.substr(7);
  }
  if (file.empty()) {
    if (!first_error.empty()) return first_error;
    std::string t = trim(git_output);
    return t.empty() ? "git apply failed" : t.substr(0, t.find('\n'));
  }
  // Find that file's hunk starting at line_no in the patch.
  std::string current, first_hunk, match;
  auto strip_prefix = [](std::string p) {
    p = p.substr(0, p.find('\t'));
    if (p.size() > 2 && (p.rfind("a/", 0) == 0 || p.rfind("b/", 0) == 0)) p = p.substr(2);
    return p;
  };
  for (const auto& line : split_lines(patch_text)) {
    if (line.rfind("--- ", 0) == 0) {
      current = strip_prefix(line.substr(4));
    } else if (line.rfind("+++ ", 0) == 0) {
      std::string p = strip_prefix(line.substr(4));
      if (p != "/dev/null") current = p;
    } else if (line.rfind("@@ -", 0) == 0 && current == file) {
      size_t close = line.find(" @@", 3);
      std::string header = close == std::string::npos ? line : line.substr(0, close + 3);
      if (first_hunk.empty()) first_hunk = header;
      long start = std::atol(line.c_str() + 4);
      if (start == line_no && match.empty()) match = header;
    }
  }
  std::string hunk = !match.empty() ? match : first_hunk;
  if (hunk.empty()) return fmt::format("{} line {}", file, line_no);
  return fmt::format("{} hunk {}", file, hunk);
}

void apply_series(const Series& series, const fs::path& tree, ProcessRunner& runner) {
  for (const auto& p : series.patches) {
    auto git_apply = [&](bool check) {
      Command cmd;
      cmd.argv = {"git", "apply"};
      if (check) cmd.argv.push_back("--check");
      cmd.argv.push_back(fmt::format("-p{}", p.strip));
      cmd.argv.push_back(fs::absolute(p.path).string());
      cmd.cwd = tree;
      // An extracted tarball is not a repository: do not let git find one
      // above it (git apply would then skip paths outside the subfolder).
      cmd.env = {{"GIT_CEILING_DIRECTORIES", fs::absolute(tree).parent_path().string()}};
      ProcessResult r = runner.run(cmd);
      if (r.interrupted) throw Interrupted(fmt::format("series '{}'", series.name));
      return r;
    };
    ProcessResult r = git_apply(true);
    if (r.ok()) r = git_apply(false);
    if (!r.ok()) {
      std::string text;
      read_file_if_exists(p.path, text);
      throw InputError(fmt::format("series '{}': patch {} does not apply: {}", series.name, p.name,
                                   describe_apply_failure(r.output, text)));
    }
  }
}

}  // namespace kh

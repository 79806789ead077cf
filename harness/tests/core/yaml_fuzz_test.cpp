// The job and workload parsers against thousands of mutated copies of the
// files we ship: none may crash, hang or throw anything but an InputError
// of one line that starts with "<file>:<line>:<col>: ". Deterministic (a
// fixed seed per case, so a failing case number reproduces alone) and a
// unit test: it runs in seconds.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "build_info.h"
#include "core/job.h"
#include "core/workload.h"
#include "core/yaml_util.h"
#include "util/error.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace kh {
namespace {

constexpr unsigned kSeed = 20261207;
constexpr int kCasesPerFile = 300;

struct Seed {
  std::string origin;  // for messages, and what every error must start with
  std::string text;
  fs::path dir;  // the job's or workload's folder (workloads check their config: files)
  std::function<void(const std::string&, const std::string&, const fs::path&)> parse;
};

std::vector<Seed> shipped_files() {
  const fs::path root = KHARNESS_SOURCE_DIR;
  std::vector<Seed> seeds;
  for (const auto& e : fs::directory_iterator(root / "configs/jobs"))
    if (e.path().extension() == ".yaml")
      seeds.push_back({e.path().string(), read_file(e.path()), e.path().parent_path(),
                       [](const std::string& t, const std::string& o, const fs::path& d) {
                         parse_job(t, o, d);
                       }});
  for (const auto& e : fs::directory_iterator(root / "workloads"))
    if (fs::exists(e.path() / "workload.yaml"))
      seeds.push_back({(e.path() / "workload.yaml").string(), read_file(e.path() / "workload.yaml"),
                       e.path(), [](const std::string& t, const std::string& o, const fs::path& d) {
                         parse_workload(t, o, d);
                       }});
  std::sort(seeds.begin(), seeds.end(),
            [](const Seed& a, const Seed& b) { return a.origin < b.origin; });
  return seeds;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size() - 1;
    lines.push_back(text.substr(start, nl - start + 1));
    start = nl + 1;
  }
  return lines;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l;
  return out;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// What YAML reads specially, and some of what it should not meet.
const std::vector<std::string> kTokens = {"[",           "]",
                                          "{",           "}",
                                          ":",           ": ",
                                          "- ",          "? ",
                                          "#",           "'",
                                          "\"",          "\n",
                                          "  ",          "\t",
                                          "&a ",         "*a",
                                          "*b",          "!!str ",
                                          "!!map ",      "|",
                                          "|-\n",        ">",
                                          "---\n",       "...\n",
                                          ",",           "~",
                                          "\\",          "null",
                                          "- [",         "{a: ",
                                          "%YAML 1.2\n", "<<: ",
                                          "\r\n",        std::string(1, '\0'),
                                          "\xff\xfe",    "\xc3\x28",
                                          "0x10",        "-1",
                                          "1e999",       "99999999999999999999",
                                          "true",        "kernels: ",
                                          "name: ",      "source: ",
                                          "workloads: ", "params: ",
                                          "metrics: ",   "- a: b\n",
                                          "    ",        "\"\\n\"",
                                          "'\n'"};

std::string mutate_once(std::string text, std::mt19937& rng, const std::vector<Seed>& all) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : size_t(rng() % n); };
  std::vector<std::string> lines = lines_of(text);
  switch (rng() % 12) {
    case 11: {  // a key that is not a plain name (a list, a mapping, null, an alias)
      static const std::vector<std::string> kKeys = {"[k]", "{k: 1}", "~", "null", "*a ", "[]"};
      size_t at = pick(lines.size());
      for (size_t tries = 0; tries < lines.size(); ++tries, at = (at + 1) % lines.size()) {
        std::string& l = lines[at];
        size_t start = l.find_first_not_of(" -");
        size_t colon = l.find(": ");
        if (start == std::string::npos || colon == std::string::npos || colon <= start) continue;
        l.replace(start, colon - start, kKeys[pick(kKeys.size())]);
        break;
      }
      return join(lines);
    }
    case 0:  // delete a few bytes
      if (!text.empty()) {
        size_t at = pick(text.size());
        text.erase(at, 1 + pick(20));
      }
      return text;
    case 1:  // insert a token
      return text.insert(pick(text.size() + 1), kTokens[pick(kTokens.size())]);
    case 2:  // duplicate a line (a key given twice, an entry twice)
      if (!lines.empty()) {
        size_t at = pick(lines.size());
        lines.insert(lines.begin() + static_cast<long>(at), lines[at]);
      }
      return join(lines);
    case 3:  // swap two lines
      if (lines.size() > 1) std::swap(lines[pick(lines.size())], lines[pick(lines.size())]);
      return join(lines);
    case 4:  // indent or dedent a line
      if (!lines.empty()) {
        std::string& l = lines[pick(lines.size())];
        if (rng() % 2)
          l.insert(0, std::string(1 + pick(4), ' '));
        else
          l.erase(0, std::min(l.find_first_not_of(' '), 1 + pick(4)));
      }
      return join(lines);
    case 5:  // any byte
      if (!text.empty()) text[pick(text.size())] = static_cast<char>(rng() & 0xff);
      return text;
    case 6:  // truncate
      return text.substr(0, pick(text.size() + 1));
    case 7: {  // a few lines of another shipped file
      std::vector<std::string> other = lines_of(all[pick(all.size())].text);
      if (other.empty()) return text;
      size_t from = pick(other.size());
      size_t to = std::min(other.size(), from + 1 + pick(6));
      std::string chunk =
          join({other.begin() + static_cast<long>(from), other.begin() + static_cast<long>(to)});
      return text.insert(pick(text.size() + 1), chunk);
    }
    case 8: {  // deep nesting, of every kind yaml-cpp recurses into
      static const std::vector<std::string> kOpeners = {"[", "{a: ", "- ", "? "};
      std::string open = kOpeners[pick(kOpeners.size())];
      size_t depth = 10 + pick(3000);
      std::string deep = repeat(open, depth);
      if (rng() % 2) {
        deep.clear();  // block nesting: one more level per line
        for (size_t i = 0; i < depth / 4; ++i) deep += std::string(2 * i, ' ') + "k:\n";
      }
      return text.insert(pick(text.size() + 1), deep);
    }
    case 9:  // grow: a line range repeated, sometimes past the size limit
      if (!lines.empty()) {
        size_t at = pick(lines.size());
        // Now and then just past the size limit (refused before parsing).
        size_t times = rng() % 8 == 0 ? yaml::kMaxBytes / lines[at].size() + 1 : 2 + pick(50);
        lines.insert(lines.begin() + static_cast<long>(at), repeat(lines[at], times));
      }
      return join(lines);
    default: {  // a long or multi-line value
      size_t colon = text.find(": ", pick(text.size()));
      if (colon == std::string::npos) return text;
      std::string value = rng() % 2 ? std::string(200 + pick(5000), 'v') : "\"a\\nb\\u0000c\"";
      return text.insert(colon + 2, value);
    }
  }
}

TEST(YamlFuzz, MutatedShippedFilesNeverCrashAndErrorsNameFileAndLine) {
  const std::vector<Seed> seeds = shipped_files();
  ASSERT_GE(seeds.size(), 10u);
  int accepted = 0, rejected = 0, failures = 0;
  for (size_t s = 0; s < seeds.size(); ++s) {
    const Seed& seed = seeds[s];
    const std::regex where(
        "^" + std::regex_replace(seed.origin, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
        ":[0-9]+:[0-9]+: .+");
    for (int c = 0; c < kCasesPerFile; ++c) {
      std::mt19937 rng(kSeed + static_cast<unsigned>(s * kCasesPerFile + c));
      std::string text = seed.text;
      for (int m = 1 + static_cast<int>(rng() % 4); m > 0; --m)
        text = mutate_once(text, rng, seeds);
      std::string problem;
      try {
        seed.parse(text, seed.origin, seed.dir);
        ++accepted;
      } catch (const InputError& e) {
        ++rejected;
        std::string m = e.what();
        if (m.find('\n') != std::string::npos)
          problem = "error on more than one line: " + m;
        else if (!std::regex_match(m, where))
          problem = "error without <file>:<line>:<col>: " + m;
      } catch (const std::exception& e) {
        problem = std::string("threw something else than InputError: ") + e.what();
      }
      if (!problem.empty() && ++failures <= 10)
        ADD_FAILURE() << seed.origin << " case " << c << " (seed " << kSeed + s * kCasesPerFile + c
                      << "): " << problem.substr(0, 400) << "\n--- text (first 600 bytes):\n"
                      << text.substr(0, 600);
    }
  }
  EXPECT_EQ(failures, 0);
  // The mutations must reach both sides, or the test proves nothing.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(rejected, 1000);
  RecordProperty("accepted", accepted);
  RecordProperty("rejected", rejected);
}

}  // namespace
}  // namespace kh

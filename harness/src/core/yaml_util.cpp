#include "core/yaml_util.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>

#include "util/error.h"
#include "util/files.h"

namespace kh::yaml {
namespace {

// Messages quote the user's text, which may hold line breaks: an error is
// one line. A 1 MiB key quoted back helps nobody either.
std::string one_line(const std::string& what) {
  constexpr std::size_t kMaxMessage = 1000;
  std::string out;
  for (char c : what.substr(0, kMaxMessage)) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else
      out += c;
  }
  if (what.size() > kMaxMessage) out += "...";
  return out;
}

[[noreturn]] void fail_at(const std::string& origin, const YAML::Mark& m, const std::string& what) {
  throw InputError(fmt::format("{}:{}:{}: {}", origin, m.line + 1, m.column + 1, one_line(what)));
}

// What yaml-cpp's Node API cannot tell: keys given twice (it keeps both and
// operator[] finds the first), keys that are not plain values (as<string>()
// throws on them), and further documents (YAML::Load reads the first only).
// Fed by YAML::Parser's events, so aliases are never expanded.
class StructureCheck : public YAML::EventHandler {
 public:
  explicit StructureCheck(const std::string& origin) : origin_(origin) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1)
      fail_at(origin_, mark,
              "a second YAML document starts here (a file holds one; remove the '---')");
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark, nullptr); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark, nullptr); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    node(mark, &value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark, nullptr);
    frames_.push_back(Frame{false, true, {}});
  }
  void OnSequenceEnd() override { frames_.pop_back(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark, nullptr);
    frames_.push_back(Frame{true, true, {}});
  }
  void OnMapEnd() override { frames_.pop_back(); }

 private:
  struct Frame {
    bool map;
    bool key_next;  // in a mapping, keys and values alternate
    std::map<std::string, YAML::Mark> keys;
  };

  // A node begins (a scalar's value, or nullptr for anything else).
  void node(const YAML::Mark& mark, const std::string* scalar) {
    if (frames_.empty() || !frames_.back().map) return;
    Frame& f = frames_.back();
    const bool is_key = f.key_next;
    f.key_next = !f.key_next;
    if (!is_key) return;
    if (!scalar)
      fail_at(origin_, mark,
              "a key must be a plain name (not a list, a mapping, an alias, null or nothing)");
    auto [it, fresh] = f.keys.emplace(*scalar, mark);
    if (!fresh)
      fail_at(origin_, mark,
              fmt::format("key '{}' is given twice in this mapping (first at line {})", *scalar,
                          it->second.line + 1));
  }

  const std::string& origin_;
  int documents_ = 0;
  std::vector<Frame> frames_;
};

// The 1-based line holding byte `offset`.
int line_of(const std::string& text, std::size_t offset) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
}

}  // namespace

bool read_file_if_exists(const std::filesystem::path& path, std::string& text) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > kMaxBytes)
      throw InputError(
          fmt::format("{}:1:1: the file is {} bytes; kharness reads YAML files of "
                      "up to 1 MiB",
                      path.string(), size));
  }
  return kh::read_file_if_exists(path, text);
}

std::string where(const std::string& origin, const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  if (m.is_null()) return origin;
  return fmt::format("{}:{}:{}", origin, m.line + 1, m.column + 1);
}

void fail(const std::string& origin, const YAML::Node& node, const std::string& what) {
  throw InputError(fmt::format("{}: {}", where(origin, node), one_line(what)));
}

// A tokenizer's view, just enough to bound the nesting: block collections
// open at the column of their first entry ("- ", "? ", or a key followed by
// ':') and close at the first token less indented; flow collections open
// and close with their brackets. Quoted scalars, plain scalars (with their
// continuation lines), block scalars and comments are skipped, so brackets
// and dashes inside them count for nothing. A mapping whose sequence value
// sits at its own column counts once, so yaml-cpp's depth is at most about
// twice this bound: far below the 500 of its own guard for limit 64.
Nesting measure_nesting(const std::string& text, int limit) {
  Nesting out;
  const std::size_t n = text.size();
  std::vector<int> block;  // columns of the open block collections, innermost last
  int flow = 0;
  int line = 1;
  std::size_t line_start = 0;
  std::size_t i = 0;
  // The next token is the first of its line, or follows "- ", "? ", ": "
  // there: it may open a block collection at its column.
  bool line_head = true;

  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  auto ends_token = [&](std::size_t j) { return j >= n || blank(text[j]); };
  auto flow_char = [](char c) { return std::strchr(",[]{}", c) != nullptr && c != '\0'; };
  auto column = [&](std::size_t j) { return static_cast<int>(j - line_start); };
  auto top = [&] { return block.empty() ? -1 : block.back(); };
  auto note = [&](int col) {
    int depth = static_cast<int>(block.size()) + flow;
    if (depth > out.depth) out.depth = depth;
    if (depth > limit && out.line == 0) {
      out.line = line;
      out.column = col + 1;
    }
  };
  auto open_block = [&](int col) {
    while (!block.empty() && block.back() > col) block.pop_back();
    if (block.empty() || block.back() < col) block.push_back(col);
    note(col);
  };
  auto to_line_end = [&] {
    while (i < n && text[i] != '\n') ++i;
  };
  // At a '\n': where the next line's first non-space is (n at the end),
  // its indentation, and whether it is blank.
  struct Peek {
    std::size_t pos;
    int indent;
    bool blank;
  };
  auto peek_next_line = [&](std::size_t nl) {
    std::size_t j = nl + 1;
    while (j < n && text[j] == ' ') ++j;
    bool empty =
        j >= n || text[j] == '\n' || (text[j] == '\r' && (j + 1 >= n || text[j + 1] == '\n'));
    return Peek{j, static_cast<int>(j - (nl + 1)), empty};
  };
  auto next_line = [&] {  // at a '\n'
    ++line;
    line_start = i + 1;
    ++i;
  };

  while (i < n && out.line == 0) {
    const char c = text[i];
    if (c == '\n') {
      next_line();
      line_head = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '#' && (i == 0 || blank(text[i - 1]))) {
      to_line_end();
      continue;
    }
    const int here = column(i);
    if (flow == 0 && line_head && here == 0) {
      if ((text.compare(i, 3, "---") == 0 || text.compare(i, 3, "...") == 0) && ends_token(i + 3)) {
        block.clear();
        i += 3;
        continue;
      }
      if (c == '%') {  // a directive
        to_line_end();
        continue;
      }
    }
    if (flow == 0 && line_head)
      while (!block.empty() && block.back() > here) block.pop_back();

    if (flow == 0 && line_head && (c == '-' || c == '?' || c == ':') && ends_token(i + 1)) {
      if (c != ':') open_block(here);  // a sequence entry, or a complex key
      ++i;
      continue;  // still line_head: "- - x" nests on one line
    }
    if (c == '[' || c == '{') {
      ++flow;
      note(here);
      ++i;
      line_head = false;
      continue;
    }
    if (c == ']' || c == '}') {
      if (flow > 0) --flow;
      ++i;
      line_head = false;
      continue;
    }
    if (c == ',' || (c == ':' && (ends_token(i + 1) || flow > 0))) {
      ++i;
      line_head = false;
      continue;
    }
    if (c == '&' || c == '!' || c == '*') {  // anchor, tag, alias
      while (i < n && !blank(text[i]) && !(flow > 0 && flow_char(text[i]))) ++i;
      if (c == '*') line_head = false;
      continue;
    }
    if ((c == '|' || c == '>') && flow == 0) {
      // A block scalar: the header line, then every line that is blank or
      // indented past its parent collection and at least as far as its
      // first line.
      const int parent = top();
      int content = -1;
      to_line_end();
      while (i < n) {
        Peek p = peek_next_line(i);
        if (!p.blank) {
          if (content < 0) content = p.indent;
          if (p.indent <= parent || p.indent < content) break;
        }
        next_line();
        to_line_end();
      }
      line_head = false;
      continue;
    }
    if (c == '\'' || c == '"') {
      const bool head = line_head && flow == 0;
      ++i;
      while (i < n) {
        if (text[i] == '\n') {
          next_line();
          continue;
        }
        if (c == '"' && text[i] == '\\') {
          i += 2;
          continue;
        }
        if (text[i] == c) {
          if (c == '\'' && i + 1 < n && text[i + 1] == '\'') {
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        ++i;
      }
      std::size_t j = i;
      while (j < n && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (head && j < n && text[j] == ':' && ends_token(j + 1)) open_block(here);
      line_head = false;
      continue;
    }
    // A plain scalar, to ": ", " #", a flow indicator in flow context, or
    // the end of its last continuation line.
    const bool head = line_head && flow == 0;
    bool key = false;
    while (i < n) {
      const char d = text[i];
      if (d == '\n') {
        if (flow > 0) {
          next_line();
          continue;
        }
        // Blank lines fold into the scalar; it goes on at the next line
        // that is indented past its parent collection and is no comment.
        std::size_t nl = i;
        Peek p = peek_next_line(nl);
        while (p.blank && p.pos < n) {
          nl = text.find('\n', p.pos);
          if (nl == std::string::npos) break;
          p = peek_next_line(nl);
        }
        if (nl == std::string::npos || p.blank || p.pos >= n || text[p.pos] == '#' ||
            p.indent <= top())
          break;
        if (p.indent == 0 &&
            (text.compare(p.pos, 3, "---") == 0 || text.compare(p.pos, 3, "...") == 0))
          break;
        while (i < p.pos) {
          if (text[i] == '\n')
            next_line();
          else
            ++i;
        }
        continue;
      }
      if (d == ':' && (ends_token(i + 1) || (flow > 0 && flow_char(text[i + 1])))) {
        key = true;
        break;
      }
      if (d == '#' && blank(text[i - 1])) break;
      if (flow > 0 && flow_char(d)) break;
      ++i;
    }
    if (key && head) open_block(here);
    line_head = false;
  }
  return out;
}

YAML::Node load(const std::string& text, const std::string& origin) {
  if (text.size() > kMaxBytes)
    throw InputError(
        fmt::format("{}:{}:1: the file goes past 1 MiB here; kharness reads YAML "
                    "files of up to 1 MiB",
                    origin, line_of(text, kMaxBytes)));
  Nesting nest = measure_nesting(text, kMaxDepth);
  if (nest.line > 0)
    throw InputError(
        fmt::format("{}:{}:{}: nested deeper than {} levels here; kharness reads "
                    "YAML files nested up to that",
                    origin, nest.line, nest.column, kMaxDepth));
  try {
    // Syntax first: a malformed file is reported as such, not by whatever
    // the structure check meets before the parser gives up.
    YAML::Node n = YAML::Load(text);
    std::istringstream in(text);
    YAML::Parser parser(in);
    StructureCheck check(origin);
    while (parser.HandleNextDocument(check)) {
    }
    if (!n.IsDefined() || n.IsNull())
      throw InputError(fmt::format("{}:1:1: empty document", origin));
    return n;
  } catch (const YAML::DeepRecursion& e) {
    fail_at(origin, e.mark, fmt::format("nested deeper than {} levels", kMaxDepth));
  } catch (const YAML::Exception& e) {
    fail_at(origin, e.mark, "malformed YAML: " + e.msg);
  }
}

void expect_map(const std::string& origin, const YAML::Node& node, const std::string& what) {
  if (!node.IsMap()) fail(origin, node, fmt::format("expected {} as a mapping (key: value)", what));
}

void check_keys(const std::string& origin, const YAML::Node& map,
                std::initializer_list<const char*> allowed) {
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>();
    bool ok = false;
    for (const char* a : allowed) ok |= key == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(origin, kv.first, fmt::format("unknown key '{}' (expected one of: {})", key, list));
    }
  }
}

std::string scalar(const std::string& origin, const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) fail(origin, node, fmt::format("expected {} as a single value", what));
  return node.as<std::string>();
}

int integer(const std::string& origin, const YAML::Node& node, const std::string& what, int min,
            int max) {
  std::string s = scalar(origin, node, what);
  try {
    std::size_t used = 0;
    long v = std::stol(s, &used);
    if (used == s.size() && v >= min && v <= max) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  fail(origin, node,
       fmt::format("expected {} as a whole number from {} to {}, got '{}'", what, min, max, s));
}

std::vector<std::string> string_list(const std::string& origin, const YAML::Node& node,
                                     const std::string& what) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.as<std::string>());
    return out;
  }
  if (!node.IsSequence()) fail(origin, node, fmt::format("expected {} as a list", what));
  for (const auto& item : node) out.push_back(scalar(origin, item, what));
  return out;
}

}  // namespace kh::yaml

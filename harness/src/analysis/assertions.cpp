#include "analysis/assertions.h"

#include <fmt/format.h>
#include <muParser.h>

#include <cmath>
#include <deque>

namespace kh {
namespace {

// Metric names are muparser's default name characters plus '.'.
constexpr const char* kNameChars =
    "0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.";

// muparser asks this for every name it does not know. Known metrics get a
// slot holding their value; the first unknown name is remembered, and gets a
// dummy slot so parsing can finish and the error can name it.
struct Lookup {
  const Metrics* vars = nullptr;
  std::deque<double> slots;  // stable addresses
  std::string unknown;
};

mu::value_type* lookup_variable(const mu::char_type* name, void* user) {
  auto* l = static_cast<Lookup*>(user);
  auto it = l->vars->find(name);
  if (it != l->vars->end()) {
    l->slots.push_back(it->second);
  } else {
    if (l->unknown.empty()) l->unknown = name;
    l->slots.push_back(std::nan(""));
  }
  return &l->slots.back();
}

// evaluate(), also giving the first unknown name (empty when none).
Result<double> evaluate_naming(const std::string& expr, const Metrics& vars,
                               std::string& unknown) {
  Lookup lookup;
  lookup.vars = &vars;
  double value = 0;
  try {
    mu::Parser parser;
    parser.DefineNameChars(kNameChars);
    parser.SetVarFactory(lookup_variable, &lookup);
    parser.SetExpr(expr);
    value = parser.Eval();
  } catch (const mu::Parser::exception_type& e) {
    unknown = lookup.unknown;
    if (!lookup.unknown.empty()) return Error{fmt::format("unknown name '{}'", lookup.unknown)};
    // muparser's message says what; its position is 0-based in `expr`.
    return Error{fmt::format("{} (at position {} of \"{}\")", e.GetMsg(), e.GetPos(), expr)};
  }
  unknown = lookup.unknown;
  if (!lookup.unknown.empty()) return Error{fmt::format("unknown name '{}'", lookup.unknown)};
  if (std::isnan(value)) return Error{fmt::format("\"{}\" is not a number (NaN)", expr)};
  return value;
}

}  // namespace

Result<double> evaluate(const std::string& expr, const Metrics& vars) {
  std::string unknown;
  return evaluate_naming(expr, vars, unknown);
}

std::vector<std::string> derive_metrics(
    const std::vector<std::pair<std::string, std::string>>& defs, Metrics& metrics,
    MissingMetrics* missing) {
  std::vector<std::string> errors;
  for (const auto& [name, expr] : defs) {
    std::string unknown;
    Result<double> v = evaluate_naming(expr, metrics, unknown);
    if (v) {
      metrics[name] = v.value();
    } else if (missing && !unknown.empty()) {
      auto earlier = missing->find(unknown);
      (*missing)[name] =
          earlier != missing->end()
              ? fmt::format("needs {}, missing ({})", unknown, earlier->second)
              : fmt::format("needs {}, which this kernel's snapshots did not provide", unknown);
    } else {
      errors.push_back(name + ": " + v.error().message);
    }
  }
  return errors;
}

std::string comparison_left_side(const std::string& expr) {
  int depth = 0;
  for (std::size_t i = 0; i < expr.size(); ++i) {
    char c = expr[i];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth != 0) continue;
    if (c == '&' || c == '|' || c == '?') return "";  // not a single comparison
    bool two = i + 1 < expr.size() && expr[i + 1] == '=';
    if (c == '<' || c == '>' || ((c == '=' || c == '!') && two)) {
      std::string left = expr.substr(0, i);
      while (!left.empty() && left.back() == ' ') left.pop_back();
      while (!left.empty() && left.front() == ' ') left.erase(0, 1);
      // Only a comparison left of the rest can be split there.
      if (expr.find_first_of("<>=!", i + (two ? 2 : 1)) != std::string::npos) return "";
      return left;
    }
  }
  return "";
}

std::vector<AssertionResult> evaluate_assertions(const std::vector<std::string>& exprs,
                                                 const Metrics& metrics,
                                                 const MissingMetrics& missing) {
  std::vector<AssertionResult> out;
  out.reserve(exprs.size());
  for (const std::string& expr : exprs) {
    AssertionResult a;
    a.expression = expr;
    std::string unknown;
    Result<double> v = evaluate_naming(expr, metrics, unknown);
    if (v) {
      a.value = v.value();
      a.passed = a.value != 0;
      if (std::string left = comparison_left_side(expr); !left.empty()) {
        if (Result<double> l = evaluate(left, metrics)) {
          a.left = left;
          a.left_value = l.value();
        }
      }
    } else if (auto m = missing.find(unknown); !unknown.empty() && m != missing.end()) {
      a.missing = unknown;
      a.error = fmt::format("metric '{}' is missing: {}", unknown, m->second);
      a.passed = false;
    } else {
      a.error = v.error().message;
      a.passed = false;
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace kh

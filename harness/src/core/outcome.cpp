#include "core/outcome.h"

namespace kh {

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::pass:
      return "pass";
    case Outcome::fail:
      return "fail";
    case Outcome::infra:
      return "infra";
    case Outcome::skip:
      return "skip";
  }
  return "?";
}

std::optional<Outcome> outcome_from_string(std::string_view s) {
  for (Outcome o : {Outcome::pass, Outcome::fail, Outcome::infra, Outcome::skip})
    if (to_string(o) == s) return o;
  return std::nullopt;
}

int exit_code_for(std::span<const Outcome> outcomes) {
  bool any_fail = false, any_infra = false;
  for (Outcome o : outcomes) {
    any_fail |= o == Outcome::fail;
    any_infra |= o == Outcome::infra;
  }
  if (any_fail) return kExitFail;
  if (any_infra) return kExitInfra;
  return kExitPass;
}

}  // namespace kh

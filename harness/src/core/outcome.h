// Typed outcomes of a run, and how they fold into an exit code.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace kh {

enum class Outcome {
  pass,   // every assertion held, no kernel splat
  fail,   // an assertion failed or the kernel splatted (WARNING, BUG, panic...)
  infra,  // build failed, boot timed out, host problem: says nothing about the kernel
  skip,   // not run (filtered out, or an earlier step made it meaningless)
};

std::string_view to_string(Outcome o);
std::optional<Outcome> outcome_from_string(std::string_view s);

// Process exit codes, documented in README.md.
enum ExitCode : int {
  kExitPass = 0,
  kExitFail = 1,
  kExitUsage = 2,
  kExitInfra = 3,
  kExitInterrupted = 130,
};

// fail beats infra beats pass: a real failure is the news even when another
// run had an infrastructure problem.
int exit_code_for(std::span<const Outcome> outcomes);

}  // namespace kh

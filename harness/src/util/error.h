// Fatal errors. Each is caught once in main(), printed as one line and
// mapped to the process exit code. Message style: "<where>: <what>", where
// <where> is "file:line:col" for input errors and the step for the rest.
#pragma once

#include <stdexcept>
#include <string>

namespace kh {

// The user's input is wrong: job or workload file, command line, missing
// source tree, a series that does not apply. Exit code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The host or a tool failed: disk full, QEMU missing, make failed. Exit 3.
class InfraError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// SIGINT/SIGTERM arrived; everything written so far is kept. Exit 130.
class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted") {}
  explicit Interrupted(const std::string& where) : std::runtime_error(where + ": interrupted") {}
};

}  // namespace kh

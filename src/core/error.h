// Errors are values with context: every failure names the file, tensor, field or flag it concerns.
#pragma once

#include <stdexcept>
#include <string>

namespace webaccel {

// Exit codes the CLI maps errors to; scripts may rely on them.
enum class ErrorKind : int {
  kUsage = 2,        // bad flag or argument
  kIo = 3,           // file missing, unreadable, truncated
  kFormat = 4,       // file readable but malformed (header, offsets, shapes, dtypes)
  kInput = 5,        // bad user input (empty prompt, prompt longer than the context)
  kInternal = 70,    // a bug: should never happen
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

[[noreturn]] inline void fail(ErrorKind kind, std::string message) { throw Error(kind, std::move(message)); }

}  // namespace webaccel

#pragma once
/// The one exception base of fluxwatch: thrown at the edges (bad configuration, a resource
/// that cannot be acquired), never for per-query outcomes.

#include <stdexcept>
#include <string>

namespace fluxwatch {

/// Base of every exception fluxwatch throws. The message says what failed and what to do.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A configuration file, flag or value is invalid.
class ConfigError : public Error {
 public:
  using Error::Error;
};

}  // namespace fluxwatch

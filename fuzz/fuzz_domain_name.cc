// Fuzzes name normalisation: an accepted name obeys RFC 1035 limits and hostname
// characters, and normalisation is idempotent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "fluxwatch/common/domain_name.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto result = fluxwatch::normalise_domain(input);
  if (const auto* name = std::get_if<std::string>(&result)) {
    if (name->empty() || name->size() > 253 || name->front() == '.' || name->back() == '.') {
      std::abort();
    }
    for (char c : *name) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      if (!ok) {
        std::abort();
      }
    }
    const auto again = fluxwatch::normalise_domain(*name);
    if (!std::holds_alternative<std::string>(again) || std::get<std::string>(again) != *name) {
      std::abort();
    }
  } else if (std::get<fluxwatch::NameError>(result).message.empty()) {
    std::abort();
  }
  return 0;
}

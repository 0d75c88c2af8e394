// Fuzzes the watchlist parser: any bytes must give entries that are valid, normalised
// names, problems with line numbers inside the input, and never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <variant>

#include "fluxwatch/common/domain_name.h"
#include "fluxwatch/watchlist/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  const auto result = fluxwatch::watchlist::parse(in);
  for (const auto& entry : result.entries) {
    // Every accepted name is already normal: normalising again changes nothing.
    const auto again = fluxwatch::normalise_domain(entry.domain);
    if (!std::holds_alternative<std::string>(again) ||
        std::get<std::string>(again) != entry.domain || entry.line == 0 ||
        entry.line > result.lines) {
      std::abort();
    }
  }
  for (const auto& problem : result.problems) {
    if (problem.line == 0 || problem.line > result.lines || problem.text.size() > 200) {
      std::abort();
    }
  }
  return 0;
}

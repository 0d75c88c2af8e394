#include "support/test_env.h"

#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <pqxx/pqxx>
#include <random>
#include <stdexcept>

namespace fluxwatch::testing {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::string(fallback);
}

Endpoint endpoint_from(const std::string& text) {
  auto endpoint = parse_endpoint(text);
  if (!endpoint) {
    throw std::runtime_error("not an ip:port: " + text);
  }
  return *endpoint;
}

#ifndef FLUXWATCH_BINARY_DEFAULT
#define FLUXWATCH_BINARY_DEFAULT ""
#endif

}  // namespace

std::string server_dsn() { return env_or("FLUXWATCH_TEST_DSN", FLUXWATCH_TEST_DSN_DEFAULT); }
Endpoint lab_server() {
  return endpoint_from(env_or("FLUXWATCH_LAB_SERVER", FLUXWATCH_LAB_SERVER_DEFAULT));
}
Endpoint lab_blackhole() {
  return endpoint_from(env_or("FLUXWATCH_LAB_BLACKHOLE", FLUXWATCH_LAB_BLACKHOLE_DEFAULT));
}
std::filesystem::path lab_out_dir() { return env_or("FLUXWATCH_LAB_OUT", FLUXWATCH_LAB_OUT_DEFAULT); }
std::filesystem::path source_dir() {
  return env_or("FLUXWATCH_SOURCE_DIR", FLUXWATCH_SOURCE_DIR_DEFAULT);
}
std::filesystem::path fluxwatch_binary() {
  return env_or("FLUXWATCH_BINARY", FLUXWATCH_BINARY_DEFAULT);
}

ScratchDatabase::ScratchDatabase() {
  std::random_device random;
  name_ = fmt::format("fw_test_{:08x}{:08x}", random(), random());
  pqxx::connection admin(server_dsn());
  pqxx::nontransaction tx(admin);
  // CREATE DATABASE takes no parameters; the name is generated above, never from input.
  tx.exec("CREATE DATABASE " + admin.quote_name(name_) + " TEMPLATE template0");
  dsn_ = server_dsn() + " dbname=" + name_;
}

ScratchDatabase::~ScratchDatabase() {
  try {
    pqxx::connection admin(server_dsn());
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + admin.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception&) {
    // Best effort: a leftover scratch database is harmless and named fw_test_*.
  }
}

}  // namespace fluxwatch::testing

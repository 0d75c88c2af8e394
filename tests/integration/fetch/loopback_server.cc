#include "loopback_server.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fluxwatch::testing {

namespace {

std::vector<std::string> server_args(const std::filesystem::path& root,
                                     const std::vector<std::string>& addresses,
                                     const std::string& tls_cert) {
  std::vector<std::string> args{"--root", root.string()};
  for (const auto& address : addresses) {
    args.push_back("--address");
    args.push_back(address);
  }
  if (!tls_cert.empty()) {
    args.push_back("--tls-cert");
    args.push_back(tls_cert);
  }
  return args;
}

}  // namespace

LoopbackHttpServer::LoopbackHttpServer(const std::filesystem::path& root,
                                       std::vector<std::string> addresses,
                                       const std::string& tls_cert)
    : scheme_(tls_cert.empty() ? "http" : "https"),
      address_(addresses.at(0)),
      server_(FLUXWATCH_FETCH_TEST_SERVER, server_args(root, addresses, tls_cert),
              std::chrono::seconds(10), "the test HTTP server") {}

std::string LoopbackHttpServer::url(const std::string& path) const {
  return scheme_ + "://" + address_ + ":" + std::to_string(port()) + path;
}

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "fluxwatch-fetch-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace fluxwatch::testing

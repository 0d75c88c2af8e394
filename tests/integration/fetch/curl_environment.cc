// One CurlGlobal for the whole test binary, as main() has one in the real program.
#include <gtest/gtest.h>

#include <memory>

#include "fluxwatch/fetch/curl_global.h"

namespace {

class CurlEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { curl_ = std::make_unique<fluxwatch::fetch::CurlGlobal>(); }
  void TearDown() override { curl_.reset(); }

 private:
  std::unique_ptr<fluxwatch::fetch::CurlGlobal> curl_;
};

[[maybe_unused]] ::testing::Environment* const g_curl_environment =
    ::testing::AddGlobalTestEnvironment(new CurlEnvironment);

}  // namespace

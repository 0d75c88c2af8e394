// `geo update` against a real HTTP server on loopback: plain, .gz and .tar.gz databases, the
// MaxMind download layout with basic auth, and the refusals (corrupt file, wrong database
// type) that must leave the installed database untouched.
#include "fluxwatch/fetch/geo_update.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fluxwatch/geo/inspect.h"
#include "loopback_server.h"
#include "support/test_env.h"

namespace fluxwatch::fetch {
namespace {

using ::testing::HasSubstr;
using testing::read_file;
using testing::write_file;

const std::filesystem::path kData = FLUXWATCH_TEST_DATA_DIR "/maxmind";

class GeoUpdateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& root = root_.path();
    std::filesystem::copy_file(kData / "GeoLite2-ASN-Test.mmdb", root / "asn.mmdb");
    std::filesystem::copy_file(kData / "GeoLite2-City-Test.mmdb", root / "city.mmdb");
    // A database cut in half: the metadata at the end is gone.
    const auto asn = read_file(kData / "GeoLite2-ASN-Test.mmdb");
    write_file(root / "corrupt.mmdb", asn.substr(0, asn.size() / 2));
    must({"/usr/bin/gzip", "-k", "-n", (root / "asn.mmdb").string()});
    // The geoipupdate / MaxMind layout: GeoLite2-ASN_YYYYMMDD/GeoLite2-ASN.mmdb.
    std::filesystem::create_directories(root / "GeoLite2-ASN_20240101");
    std::filesystem::copy_file(kData / "GeoLite2-ASN-Test.mmdb",
                               root / "GeoLite2-ASN_20240101/GeoLite2-ASN.mmdb");
    write_file(root / "GeoLite2-ASN_20240101/LICENSE.txt", "license\n");
    must({"/usr/bin/tar", "-C", root.string(), "-czf", (root / "GeoLite2-ASN.tar.gz").string(),
          "GeoLite2-ASN_20240101/LICENSE.txt", "GeoLite2-ASN_20240101/GeoLite2-ASN.mmdb"});
    std::filesystem::create_directories(install_dir());
    // The database "in service" before each update: the City test database would be the
    // wrong type for the ASN slot, so start from an ASN database with known bytes.
    std::filesystem::copy_file(kData / "GeoLite2-ASN-Test.mmdb", target());
    before_ = read_file(target());
  }

  static void must(const std::vector<std::string>& argv) {
    const auto result = testing::run_command(argv);
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }

  [[nodiscard]] std::filesystem::path install_dir() const { return root_.path() / "installed"; }
  [[nodiscard]] std::filesystem::path target() const { return install_dir() / "GeoLite2-ASN.mmdb"; }

  GeoUpdateResult update(const std::string& path, GeoKind kind = GeoKind::Asn,
                         const std::string& user = "", const std::string& password = "") {
    FetchOptions options;
    options.retries = 0;
    HttpClient client(options);
    return update_geo_database(client, {kind, server_.url(path), target(), user, password});
  }

  /// Only the target is left in its directory: no temporary files.
  void expect_clean_directory() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(install_dir())) {
      names.push_back(entry.path().filename().string());
    }
    EXPECT_EQ(names, std::vector<std::string>{"GeoLite2-ASN.mmdb"});
  }

  testing::TempDir root_;
  testing::LoopbackHttpServer server_{root_.path()};
  std::string before_;
};

TEST_F(GeoUpdateTest, InstallsPlainGzipAndTarGzDatabases) {
  for (const std::string path :
       {"/files/asn.mmdb", "/files/asn.mmdb.gz", "/files/GeoLite2-ASN.tar.gz"}) {
    std::filesystem::remove(target());
    const auto result = update(path);
    EXPECT_TRUE(result.replaced) << path << ": " << result.error;
    EXPECT_EQ(result.database_type, "GeoLite2-ASN") << path;
    EXPECT_EQ(read_file(target()), before_) << path;
    EXPECT_EQ(geo::inspect_database(target(), geo::DatabaseKind::Asn).database_type,
              "GeoLite2-ASN");
    expect_clean_directory();
  }
}

TEST_F(GeoUpdateTest, ReplacesAtomicallyWithANewInode) {
  const auto old_inode = std::filesystem::hard_link_count(target());
  // Hold a second name for the old file: after the rename it must still be the old bytes,
  // as a daemon that mapped the old file keeps reading it until it reopens.
  std::filesystem::create_hard_link(target(), root_.path() / "old-link.mmdb");
  const auto result = update("/files/GeoLite2-ASN.tar.gz");
  ASSERT_TRUE(result.replaced) << result.error;
  EXPECT_EQ(old_inode, 1U);
  EXPECT_EQ(std::filesystem::hard_link_count(target()), 1U);  // a new file, not rewritten
  EXPECT_EQ(read_file(root_.path() / "old-link.mmdb"), before_);
}

TEST_F(GeoUpdateTest, RefusesACorruptDatabaseAndKeepsTheOldOne) {
  const auto result = update("/files/corrupt.mmdb");
  EXPECT_FALSE(result.replaced);
  EXPECT_THAT(result.error, HasSubstr("cannot open MaxMind database"));
  EXPECT_EQ(read_file(target()), before_);
  expect_clean_directory();
}

TEST_F(GeoUpdateTest, RefusesTheWrongDatabaseType) {
  const auto result = update("/files/city.mmdb");
  EXPECT_FALSE(result.replaced);
  EXPECT_THAT(result.error, HasSubstr("database_type \"GeoLite2-City\""));
  EXPECT_EQ(read_file(target()), before_);
  expect_clean_directory();
}

TEST_F(GeoUpdateTest, RefusesFailedDownloads) {
  const auto missing = update("/files/nothing.mmdb");
  EXPECT_FALSE(missing.replaced);
  EXPECT_THAT(missing.error, HasSubstr("404"));
  EXPECT_EQ(read_file(target()), before_);
  expect_clean_directory();
}

TEST_F(GeoUpdateTest, MaxMindLayoutWithAccountAndLicenceKey) {
  config::Config config = config::default_config();
  config.geoip.asn_database = target();
  config.geoip.update.account_id = "user";
  config.geoip.update.license_key = "secret";
  config.geoip.update.edition_ids = {"GeoLite2-ASN"};
  config.geoip.update.maxmind_url = server_.url("");
  const auto plan = plan_geo_updates(config);
  ASSERT_EQ(plan.size(), 1U);
  EXPECT_EQ(plan[0].url, server_.url("/geoip/databases/GeoLite2-ASN/download?suffix=tar.gz"));
  EXPECT_EQ(plan[0].kind, GeoKind::Asn);

  std::filesystem::remove(target());
  const auto good = update("/geoip/databases/GeoLite2-ASN/download?suffix=tar.gz", GeoKind::Asn,
                           "user", "secret");
  EXPECT_TRUE(good.replaced) << good.error;
  EXPECT_EQ(read_file(target()), before_);
  const auto wrong =
      update("/geoip/databases/GeoLite2-ASN/download?suffix=tar.gz", GeoKind::Asn, "user", "wrong");
  EXPECT_FALSE(wrong.replaced);
  EXPECT_THAT(wrong.error, HasSubstr("401"));
  EXPECT_THAT(wrong.url, ::testing::Not(HasSubstr("secret")));
}

TEST_F(GeoUpdateTest, CliGeoUpdate) {
  const auto config = root_.path() / "config.yaml";
  const auto write_config = [&](const std::string& asn_path) {
    write_file(config, fmt::format("geoip:\n  asn_database: {}\n  update:\n    asn_url: {}\n"
                                   "fetch:\n  retries: 0\n",
                                   target().string(), server_.url(asn_path)));
  };
  const auto geo_update = [&] {
    return testing::run_command(
        {testing::fluxwatch_binary().string(), "--config", config.string(), "geo", "update"});
  };
  write_config("/files/asn.mmdb.gz");
  const auto ok = geo_update();
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("installed"));
  write_config("/files/city.mmdb");
  const auto refused = geo_update();
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("refused"));
  EXPECT_EQ(read_file(target()), before_);
}

}  // namespace
}  // namespace fluxwatch::fetch

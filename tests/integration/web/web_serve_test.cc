// `fluxwatch serve` on the lab's history, every page loaded in a real headless Chromium:
// the charts hold one point per stored sighting, a flux domain shows its addresses and
// countries, records whose targets hold markup render as text, and no page names anything
// outside fluxwatch. Also `fluxwatch plot` to SVG and PNG.
#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>
#include <set>

#include "fluxwatch/storage/database.h"
#include "support/test_env.h"

namespace fluxwatch {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kMarkupTarget = "<img src=x onerror=alert(1)>.evil.test";
constexpr const char* kMarkupCname = "\"><script>alert(2)</script>.evil.test";

/// `fluxwatch serve --listen 127.0.0.1:0` as a child process; the constructor returns once
/// it printed its URL, the destructor stops it with SIGTERM and records its exit status.
class ServeProcess {
 public:
  ServeProcess(const std::string& config, const std::string& dsn) {
    int out[2];
    if (pipe(out) != 0) {
      throw std::runtime_error("pipe");
    }
    const std::vector<std::string> argv{testing::fluxwatch_binary().string(),
                                        "--config",
                                        config,
                                        "--dsn",
                                        dsn,
                                        "serve",
                                        "--listen",
                                        "127.0.0.1:0"};
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> args;
      for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
      }
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    stdout_fd_ = out[0];
    // The first line is "fluxwatch serve: http://127.0.0.1:PORT/".
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd fd{stdout_fd_, POLLIN, 0};
      if (poll(&fd, 1, 200) > 0) {
        char buffer[256];
        const auto n = read(stdout_fd_, buffer, sizeof buffer);
        if (n <= 0) {
          break;
        }
        line.append(buffer, static_cast<std::size_t>(n));
      }
    }
    std::smatch match;
    if (!std::regex_search(line, match, std::regex(R"(http://127\.0\.0\.1:(\d+)/)"))) {
      throw std::runtime_error("fluxwatch serve did not start: '" + line + "'");
    }
    url_ = match[0].str();
    port_ = std::stoi(match[1].str());
  }
  ~ServeProcess() { stop(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  /// SIGTERM, then the exit status (0: it drained and stopped cleanly).
  int stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      close(stdout_fd_);
    }
    return exit_status_;
  }
  [[nodiscard]] const std::string& url() const { return url_; }
  [[nodiscard]] int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string url_;
  int port_ = 0;
  int exit_status_ = -1;
};

/// Chromium as the guide says to run it headless as root: a fresh profile, no network
/// services of its own; `timeout` bounds it. (run_command does not search PATH.)
std::vector<std::string> chromium(const std::string& profile) {
  return {"/usr/bin/timeout",
          "90",
          "/usr/bin/chromium",
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--user-data-dir=" + profile,
          "--virtual-time-budget=15000"};
}

class WebServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    database_ = new testing::ScratchDatabase();
    config_path_ = new std::string(testing::write_lab_config("web"));
    must(fluxwatch({"init"}));
    must(fluxwatch({"watchlist", "import",
                    (testing::source_dir() / "deploy/lab/watchlist.txt").string(), "--source",
                    "lab"}));
    must(fluxwatch({"probe", "--rounds", "3", "--types", "A,AAAA,NS", "--progress", "never"}));
    must(fluxwatch({"score"}));
    store_hostile_records();
    profile_ = new std::string(WEB_TEST_OUT_DIR "/chromium-profile");
    std::filesystem::remove_all(*profile_);
    server_ = new ServeProcess(*config_path_, database_->dsn());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete database_;
    delete config_path_;
    std::filesystem::remove_all(*profile_);
    delete profile_;
  }

  /// hostile.test: an NS answer and a CNAME whose targets hold markup, stored through the
  /// writer the crawler uses.
  static void store_hostile_records() {
    storage::Database db(database_->dsn());
    db.import_watchlist({{"hostile.test", "test", {"hostile"}}});
    std::int64_t domain_id = 0;
    for (const auto& d : db.watched_domains()) {
      if (d.domain == "hostile.test") {
        domain_id = d.id;
      }
    }
    ASSERT_NE(domain_id, 0);
    storage::ProbeBatch batch;
    batch.run_id = db.begin_run("test", "{}");
    ProbeResult ns;
    ns.domain_id = domain_id;
    ns.name = "hostile.test";
    ns.qtype = RrType::NS;
    ns.resolver = "127.0.0.1:53";
    ns.sent_at = std::chrono::system_clock::now();
    ns.outcome = Outcome::NoError;
    ns.rcode = 0;
    ns.records = {{Section::Answer, "hostile.test", 2, 300, kMarkupTarget},
                  {Section::Answer, "hostile.test", 2, 300, "ns1.ok.test"}};
    ProbeResult a = ns;
    a.qtype = RrType::A;
    a.records = {{Section::Answer, "hostile.test", 5, 60, kMarkupCname},
                 {Section::Answer, kMarkupCname, 1, 60, "127.0.0.9"}};
    batch.results = {ns, a};
    db.store(batch);
    db.finish_run(batch.run_id, {});
  }

  static testing::CommandResult fluxwatch(std::vector<std::string> args) {
    return testing::run_fluxwatch(*config_path_, database_->dsn(), args);
  }
  static void must(const testing::CommandResult& result) {
    ASSERT_EQ(result.exit_code, 0) << "stdout:\n" << result.out << "\nstderr:\n" << result.err;
  }
  static long scalar(const std::string& sql, const std::string& param) {
    pqxx::connection conn(database_->dsn());
    pqxx::work tx(conn);
    return tx.exec_params1(sql, param)[0].as<long>();
  }
  static std::vector<std::string> column(const std::string& sql, const std::string& param) {
    pqxx::connection conn(database_->dsn());
    pqxx::work tx(conn);
    std::vector<std::string> out;
    for (const auto& row : tx.exec_params(sql, param)) {
      out.push_back(row[0].as<std::string>());
    }
    return out;
  }

  /// The page after its scripts ran, as Chromium serialises the DOM.
  static std::string dom(const std::string& path) {
    auto argv = chromium(*profile_);
    argv.push_back("--dump-dom");
    argv.push_back(server_->url() + path.substr(1));
    const auto result = testing::run_command(argv);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_THAT(result.out, HasSubstr("</html>")) << path;
    return result.out;
  }

  /// data-drawn-points of the chart figure `id` (-1 when the script did not draw it).
  static long drawn_points(const std::string& page, const std::string& id) {
    std::smatch match;
    const std::regex figure("<figure[^>]*id=\"fig-" + id + "\"[^>]*>");
    if (!std::regex_search(page, match, figure)) {
      return -1;
    }
    std::smatch points;
    const auto tag = match[0].str();
    if (!std::regex_search(tag, points, std::regex(R"re(data-drawn-points="(\d+)")re"))) {
      return -1;
    }
    return std::stol(points[1].str());
  }

  /// Every URL a page refers to must be fluxwatch's own (a path, or a query of this page).
  static void expect_no_external_url(const std::string& page, const std::string& path) {
    const std::regex reference(R"re((?:src|href|action)\s*=\s*"([^"]*)")re");
    std::size_t references = 0;
    for (auto it = std::sregex_iterator(page.begin(), page.end(), reference);
         it != std::sregex_iterator(); ++it) {
      const auto url = (*it)[1].str();
      ++references;
      EXPECT_TRUE(url.starts_with("/") && !url.starts_with("//")) << path << ": " << url;
    }
    EXPECT_GT(references, 2U) << path;
    EXPECT_THAT(page, Not(HasSubstr("http://"))) << path;
    EXPECT_THAT(page, Not(HasSubstr("https://"))) << path;
  }

  static inline testing::ScratchDatabase* database_ = nullptr;
  static inline std::string* config_path_ = nullptr;
  static inline std::string* profile_ = nullptr;
  static inline ServeProcess* server_ = nullptr;
};

constexpr const char* kSightings =
    "SELECT count(*) FROM answers WHERE domain = $1 AND rtype IN ('A', 'AAAA') AND rtype = qtype "
    "AND address IS NOT NULL";
constexpr const char* kLookups =
    "SELECT count(DISTINCT probe_id) FROM answers WHERE domain = $1 AND rtype IN ('A', 'AAAA') "
    "AND rtype = qtype AND address IS NOT NULL";

TEST_F(WebServeTest, FluxDomainPageDrawsEverySightingAndShowsAddressesAndCountries) {
  const std::string domain = "flux-alpha.test";
  const auto page = dom("/domain/" + domain);
  const auto sightings = scalar(kSightings, domain);
  const auto lookups = scalar(kLookups, domain);
  ASSERT_GE(lookups, 3);  // three rounds of A (and AAAA) lookups
  EXPECT_EQ(drawn_points(page, "timeline"), sightings);
  EXPECT_EQ(drawn_points(page, "growth"), 2 * lookups);
  EXPECT_EQ(drawn_points(page, "ttl"), lookups);
  EXPECT_EQ(drawn_points(page, "scores"), 1);
  const auto countries = column(
      "SELECT DISTINCT i.country FROM domain_addresses d JOIN address_info i USING (address) "
      "WHERE d.domain = $1 AND i.country IS NOT NULL",
      domain);
  ASSERT_GE(countries.size(), 2U);
  EXPECT_EQ(drawn_points(page, "countries"), static_cast<long>(countries.size()));
  for (const auto& country : countries) {
    EXPECT_THAT(page, HasSubstr("<td class=\"country\">" + country + "</td>"));
  }
  for (const auto& address :
       column("SELECT host(address) FROM domain_addresses WHERE domain = $1", domain)) {
    EXPECT_THAT(page, HasSubstr(">" + address + "</a>"));
  }
  EXPECT_THAT(page, HasSubstr("<span class=\"badge fast_flux\">fast_flux</span>"));
  expect_no_external_url(page, "/domain/" + domain);
}

TEST_F(WebServeTest, FluxDomainPageMarksItsCountriesOnTheWorldMap) {
  const std::string domain = "flux-gamma.test";
  const auto page = dom("/domain/" + domain);
  auto countries = column(
      "SELECT DISTINCT i.country FROM domain_addresses d JOIN address_info i USING (address) "
      "WHERE d.domain = $1 AND i.country IS NOT NULL ORDER BY 1",
      domain);
  ASSERT_GE(countries.size(), 3U);
  const auto start = page.find("<svg class=\"world-map\"");
  ASSERT_NE(start, std::string::npos);
  const auto map = page.substr(start, page.find("</svg>", start) - start);
  std::vector<std::string> marked;
  const std::regex country("data-country=\"([A-Z]+)\"");
  for (auto it = std::sregex_iterator(map.begin(), map.end(), country);
       it != std::sregex_iterator(); ++it) {
    marked.push_back((*it)[1].str());
  }
  std::sort(marked.begin(), marked.end());
  EXPECT_EQ(marked, countries);  // each country of its addresses once, no other
  std::size_t outlines = 0;
  for (auto at = map.find("<path"); at != std::string::npos; at = map.find("<path", at + 1)) {
    ++outlines;
  }
  EXPECT_GE(outlines, 150U);  // the world's outline, drawn by the server
  EXPECT_EQ(drawn_points(page, "countries"), static_cast<long>(countries.size()));  // bar chart
  expect_no_external_url(page, "/domain/" + domain);
}

TEST_F(WebServeTest, WindowSelectorNarrowsTheCharts) {
  // A window that ends before the first probe holds nothing.
  const auto page = dom("/domain/flux-alpha.test?until=2000-01-01");
  EXPECT_EQ(drawn_points(page, "timeline"), 0);
  EXPECT_THAT(page, HasSubstr("0 lookups with 0 address records"));
}

TEST_F(WebServeTest, MarkupInStoredRecordsRendersAsText) {
  const auto page = dom("/domain/hostile.test");
  EXPECT_THAT(page, Not(HasSubstr("<img")));
  EXPECT_THAT(page, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(page, HasSubstr("&lt;img src=x onerror=alert(1)&gt;.evil.test"));
  EXPECT_THAT(page, HasSubstr("\"&gt;&lt;script&gt;alert(2)&lt;/script&gt;.evil.test"));
  // The A record behind the CNAME chain is drawn: one sighting, one lookup.
  EXPECT_EQ(drawn_points(page, "timeline"), 1);
  expect_no_external_url(page, "/domain/hostile.test");
}

TEST_F(WebServeTest, OverviewShowsLabelsRunsAndDetections) {
  const auto page = dom("/");
  EXPECT_THAT(page, HasSubstr("Domains per label"));
  EXPECT_THAT(page, HasSubstr("href=\"/domain/flux-alpha.test\""));  // newest detections
  const auto finished = scalar(
      "SELECT count(*) FROM probe_runs WHERE finished_at IS NOT NULL AND probes IS NOT NULL "
      "AND kind <> $1",
      "");
  EXPECT_EQ(drawn_points(page, "run-rate"), finished);
  EXPECT_EQ(drawn_points(page, "run-outcomes"), 2 * finished);
  expect_no_external_url(page, "/");
}

TEST_F(WebServeTest, OverviewShowsEachCampaignsBacklogAsStatusDoes) {
  // A scheduled campaign (the config has none: `run` schedules "default"), two of its
  // domains overdue and leased by nobody: the backlog `status` reports.
  must(fluxwatch({"run", "--once", "--progress", "never"}));
  {
    pqxx::connection conn(database_->dsn());
    pqxx::work tx(conn);
    tx.exec(
        "UPDATE schedule SET next_due = now() - interval '2 hours', lease_until = NULL "
        "WHERE domain_id IN (SELECT domain_id FROM schedule ORDER BY domain_id LIMIT 2)");
    tx.commit();
  }
  const auto status =
      testing::run_fluxwatch(*config_path_, database_->dsn(), {"status", "--format", "json"});
  const auto json = nlohmann::json::parse(status.out);
  ASSERT_EQ(json["campaigns"].size(), 1U) << status.out;
  const auto& campaign = json["campaigns"][0];
  ASSERT_EQ(campaign["backlog"].get<long>(), 2);
  const auto page = dom("/");
  std::smatch row;
  ASSERT_TRUE(std::regex_search(
      page, row,
      std::regex("<tr><td><a href=\"/domains\\?campaign=default\">default</a></td>(.*?)</tr>")))
      << page;
  std::vector<std::string> cells;
  const std::string cells_text = row[1].str();
  const std::regex cell("<td[^>]*>([^<]*)</td>");
  for (auto it = std::sregex_iterator(cells_text.begin(), cells_text.end(), cell);
       it != std::sregex_iterator(); ++it) {
    cells.push_back((*it)[1].str());
  }
  // tags, sources, interval, domains, scheduled, due now, backlog, oldest overdue, last round
  ASSERT_EQ(cells.size(), 9U) << row[0].str();
  EXPECT_EQ(cells[4], std::to_string(campaign["domains"].get<long>()));
  EXPECT_EQ(cells[5], std::to_string(campaign["due_now"].get<long>()));
  EXPECT_EQ(cells[6], "2");
  EXPECT_THAT(cells[7], ::testing::MatchesRegex("2\\.[0-9]h"));  // 2 hours and the test's time
  EXPECT_EQ(cells[8], campaign["last_probe"].get<std::string>());
  expect_no_external_url(page, "/");
}

TEST_F(WebServeTest, DomainsTableFiltersAndExportsTheSameSelection) {
  const auto flux =
      column("SELECT domain FROM latest_scores WHERE label = $1 ORDER BY domain", "fast_flux");
  ASSERT_GE(flux.size(), 3U);
  const auto page = dom("/domains?label=fast_flux");
  EXPECT_THAT(page, HasSubstr(fmt::format("{} domains selected", flux.size())));
  for (const auto& domain : flux) {
    EXPECT_THAT(page, HasSubstr("<a href=\"/domain/" + domain + "\">"));
  }
  EXPECT_THAT(page, Not(HasSubstr("href=\"/domain/benign-news.test\"")));
  expect_no_external_url(page, "/domains");

  httplib::Client client("127.0.0.1", server_->port());
  const auto csv = client.Get("/domains.csv?label=fast_flux&sort=domain");
  ASSERT_TRUE(csv);
  ASSERT_EQ(csv->status, 200);
  std::vector<std::string> lines;
  std::istringstream in(csv->body);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line.substr(0, line.find(',')));
  }
  ASSERT_EQ(lines.size(), flux.size() + 1);
  EXPECT_EQ(std::vector<std::string>(lines.begin() + 1, lines.end()), flux);
  const auto json = client.Get("/domains.json?label=fast_flux");
  ASSERT_TRUE(json);
  EXPECT_THAT(json->body, HasSubstr(fmt::format("\"total\":{}", flux.size())));
  EXPECT_EQ(json->get_header_value("Content-Security-Policy").find("script-src 'self'") !=
                std::string::npos,
            true);
}

TEST_F(WebServeTest, AddressPageListsTheDomainsThatUsedIt) {
  const auto address = column(
      "SELECT host(address) FROM domain_addresses WHERE domain = $1 ORDER BY times_seen DESC, "
      "address LIMIT 1",
      "flux-alpha.test");
  ASSERT_EQ(address.size(), 1U);
  const auto page = dom("/address/" + address[0]);
  for (const auto& domain :
       column("SELECT domain FROM domain_addresses WHERE address = $1::inet", address[0])) {
    EXPECT_THAT(page, HasSubstr("<a href=\"/domain/" + domain + "\">"));
  }
  EXPECT_THAT(page, HasSubstr("GeoIP build"));
  expect_no_external_url(page, "/address");
}

TEST_F(WebServeTest, AddressPageShowsEachAsnAndCountryItHadOverTime) {
  const auto address = column(
      "SELECT host(address) FROM domain_addresses WHERE domain = $1 ORDER BY address LIMIT 1",
      "flux-beta.test");
  ASSERT_EQ(address.size(), 1U);
  // Two later GeoIP builds that both put the address in another network and country.
  {
    pqxx::connection conn(database_->dsn());
    pqxx::work tx(conn);
    for (const char* tag : {"moved-1", "moved-2"}) {
      tx.exec_params(
          "WITH b AS (INSERT INTO geo_builds (tag, first_used) VALUES ($2, now() + "
          "CASE $2 WHEN 'moved-1' THEN interval '1 hour' ELSE interval '2 hours' END) "
          "RETURNING geo_build_id) "
          "INSERT INTO address_geo (address, geo_build_id, asn, as_org, country, country_name) "
          "SELECT $1::inet, geo_build_id, 64999, 'Moved <Networks>', 'NZ', 'New Zealand' FROM b",
          address[0], tag);
    }
    tx.commit();
  }
  const auto before = column(
      "SELECT g.asn::text || ' ' || coalesce(g.country, '') FROM address_geo g "
      "JOIN geo_builds b USING (geo_build_id) WHERE g.address = $1::inet AND b.tag NOT LIKE "
      "'moved-%' ORDER BY b.first_used DESC LIMIT 1",
      address[0]);
  ASSERT_EQ(before.size(), 1U);
  const auto page = dom("/address/" + address[0]);
  EXPECT_THAT(page, HasSubstr("ASN and country over time (2 periods)"));
  const auto table = page.substr(page.find("id=\"geo-history\""));
  const auto old_asn = before[0].substr(0, before[0].find(' '));
  const auto old_country = before[0].substr(before[0].find(' ') + 1);
  const auto first = table.find(">" + old_asn + "<");
  const auto second = table.find(">64999<");
  ASSERT_NE(first, std::string::npos) << table;
  ASSERT_NE(second, std::string::npos) << table;
  EXPECT_LT(first, second);  // oldest first
  EXPECT_THAT(table, HasSubstr(">" + old_country));
  EXPECT_THAT(table, HasSubstr("NZ (New Zealand)"));
  EXPECT_THAT(table, HasSubstr("Moved &lt;Networks&gt;"));
  EXPECT_THAT(table, HasSubstr("2 builds: moved-1 .. moved-2"));
  EXPECT_THAT(table, HasSubstr("<td>now</td>"));
  expect_no_external_url(page, "/address");
}

TEST_F(WebServeTest, ScreenshotOfAFluxDomain) {
  const std::string file = WEB_TEST_OUT_DIR "/flux-domain.png";
  std::filesystem::remove(file);
  auto argv = chromium(*profile_);
  argv.push_back("--window-size=1280,1800");
  argv.push_back("--screenshot=" + file);
  argv.push_back(server_->url() + "domain/flux-gamma.test");
  const auto result = testing::run_command(argv);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::ifstream png(file, std::ios::binary);
  std::string magic(8, '\0');
  png.read(magic.data(), 8);
  EXPECT_EQ(magic, "\x89PNG\r\n\x1a\n");
  EXPECT_GT(std::filesystem::file_size(file), 20000U);  // a drawn page, not a blank one
}

TEST_F(WebServeTest, PlotWritesSvgWithEverySightingAndPng) {
  const std::string svg = WEB_TEST_OUT_DIR "/flux-alpha.svg";
  must(fluxwatch({"plot", "flux-alpha.test", "--out", svg}));
  std::ifstream in(svg);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t circles = 0;
  for (auto pos = text.find("<circle"); pos != std::string::npos;
       pos = text.find("<circle", pos + 1)) {
    ++circles;
  }
  const auto countries = column(
      "SELECT count(DISTINCT coalesce(i.country, ''))::text FROM domain_addresses d "
      "LEFT JOIN address_info i USING (address) WHERE d.domain = $1",
      "flux-alpha.test");
  EXPECT_EQ(static_cast<long>(circles),
            scalar(kSightings, "flux-alpha.test") + std::stol(countries.at(0)));
  EXPECT_THAT(text, HasSubstr(fmt::format("{} lookups", scalar(kLookups, "flux-alpha.test"))));

  const std::string png = WEB_TEST_OUT_DIR "/flux-alpha.png";
  std::filesystem::remove(png);
  must(fluxwatch({"plot", "flux-alpha.test", "--out", png, "--since", "30d"}));
  EXPECT_GT(std::filesystem::file_size(png), 1000U);

  const auto missing = fluxwatch({"plot", "not-watched.test", "--out", svg});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("not on the watchlist"));
}

TEST_F(WebServeTest, RefusesANetworkAddressWithoutToken) {
  const auto result = fluxwatch({"serve", "--listen", "0.0.0.0:0"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("is not a loopback address: set serve.token"));
}

TEST_F(WebServeTest, StopsCleanlyOnSigterm) { EXPECT_EQ(server_->stop(), 0); }

}  // namespace
}  // namespace fluxwatch

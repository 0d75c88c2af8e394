#pragma once
/// Storage of scores in PostgreSQL (libpqxx, migration 0004_scoring.sql): computing the
/// features of every watched domain over a window in one streaming pass (COPY into a
/// FeatureScan), writing the
/// verdicts with COPY, and reading scores back for `fluxwatch report` and `explain`.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fluxwatch/scoring/classifier.h"
#include "fluxwatch/scoring/features.h"

namespace fluxwatch::scoring {

using TimePoint = std::chrono::system_clock::time_point;

/// Which probes to score: sent_at in [since, until), optionally of one campaign.
struct Window {
  std::optional<TimePoint> since;  ///< nullopt: from the first probe
  std::optional<TimePoint> until;  ///< nullopt: now (the time of scoring)
  std::string campaign;            ///< empty: every probe
  bool operator==(const Window&) const = default;
};

/// Features of one watched domain.
struct DomainFeatures {
  std::int64_t domain_id = 0;
  std::string domain;
  Features features;
  bool operator==(const DomainFeatures&) const = default;
};

/// A stored score: the domain, its window and time of scoring, features and verdict.
struct StoredScore {
  std::string domain;
  std::int64_t score_run_id = 0;
  TimePoint computed_at{};
  std::optional<TimePoint> window_start;
  TimePoint window_end{};
  Features features;
  Verdict verdict;
};

/// One address behind a domain, for `fluxwatch explain`.
struct AddressSeen {
  std::string address;
  std::optional<std::int64_t> asn;
  std::string as_org;
  std::string country;
  std::int64_t times_seen = 0;
  TimePoint first_seen{};
  TimePoint last_seen{};
  bool operator==(const AddressSeen&) const = default;
};

/// The order ScoreStore::latest_scores() returns stored scores in (done in SQL).
enum class StoredScoreOrder { Domain, Label, HolzScore, Addresses, Asns };

/**
 * A connection to the fluxwatch database for scoring. The schema must be migrated.
 * @throw fluxwatch::Error if it cannot connect or a statement fails.
 * Thread affinity: one thread at a time.
 */
class ScoreStore {
 public:
  /// `dsn`: where scores are written (the primary). `read_dsn` (database.read_dsn, e.g. a
  /// hot standby): where every read goes (features, scores, addresses, history); empty
  /// reads from `dsn` too. Both connections follow storage::Session's retry policy.
  explicit ScoreStore(const std::string& dsn, const std::string& read_dsn = {});
  ~ScoreStore();
  ScoreStore(const ScoreStore&) = delete;
  ScoreStore& operator=(const ScoreStore&) = delete;
  ScoreStore(ScoreStore&&) noexcept;
  ScoreStore& operator=(ScoreStore&&) noexcept;

  /// The features of every watched domain over `window` (domains without probes in it have
  /// zero counts), in one pass over the window's probes (one narrow row each) and the records
  /// of the answer sets they got (once per set), ordered by domain.
  [[nodiscard]] std::vector<DomainFeatures> compute_features(const Window& window);

  /**
   * Classifies `rows`, stores them as one score run with `window` and `settings_json`, and
   * returns the run id. Writes with COPY in one transaction.
   */
  std::int64_t save(const Window& window, const std::string& settings_json,
                    const std::vector<DomainFeatures>& rows, const std::vector<Verdict>& verdicts);

  /// The newest score of every domain that has one.
  [[nodiscard]] std::vector<StoredScore> latest_scores(
      StoredScoreOrder sort = StoredScoreOrder::Domain, bool descending = false);
  /// The newest score of `domain`, if any.
  [[nodiscard]] std::optional<StoredScore> latest_score(const std::string& domain);
  /// Every stored score of `domain`, oldest first.
  [[nodiscard]] std::vector<StoredScore> score_history(const std::string& domain);
  /// The addresses `domain` resolved to (A/AAAA answers) in `window`, most seen first.
  [[nodiscard]] std::vector<AddressSeen> addresses(const std::string& domain, const Window& window);

  /// The raw history of `domain` in `window` (the input of scoring::compute_features()): its
  /// probes with all their records, of the other probes of the window only the address
  /// records owned by the domain's NS names (all compute_features() reads of them), and the
  /// enrichment of those addresses. For tests and checks: the reference path, probe by probe.
  struct History {
    std::vector<StoredProbe> domain_probes;
    std::vector<StoredProbe> other_probes;
    GeoTable geo;
  };
  [[nodiscard]] History history(const std::string& domain, const Window& window);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fluxwatch::scoring

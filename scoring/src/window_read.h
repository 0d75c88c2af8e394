#pragma once
// Reading a scoring window into a FeatureScan (feature_scan.h): the streams of
// feature_scan_sql.h, read with binary COPY (binary_copy.h) on two connections at once.
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "binary_copy.h"
#include "fluxwatch/common/ip_address.h"
#include "fluxwatch/common/soa_record.h"
#include "fluxwatch/scoring/dense_id_map.h"
#include "fluxwatch/scoring/feature_scan.h"

namespace fluxwatch::scoring::detail {

/// The window's bounds as text: `since` ('-infinity' for none) and `until`.
struct WindowText {
  std::string since;
  std::string until;
  std::string campaign;  ///< empty: every campaign
};

/**
 * Reads every input of `scan` for the window: the watchlist, the enrichment, the answer sets
 * (packed, unpacked here) on `tx`, and at the same time the probes on a second connection to
 * `dsn`, whose transaction imports the snapshot of `tx` (so both see the same rows). `tx`:
 * a read-only repeatable-read transaction with the window's settings (kScanSettingsSql)
 * set. Returns the watched names in the order given to scan.add_domain().
 * Failures come as pqxx exceptions (a lost connection as pqxx::broken_connection: the
 * caller's storage::Session runs it again) or fluxwatch::Error.
 */
std::vector<std::string> read_window(pqxx::dbtransaction& tx, const std::string& dsn,
                                     const WindowText& window, FeatureScan& scan);

/// The packed records of answer sets (migration 0015's arrays) turned back into records for
/// FeatureScan::add_set_record(), as the set_records view unpacks them: the answer section
/// from a set's own arrays (ord from 0; a NULL owner is the domain's own name), then its
/// shared part's records (ord after them, TTL offsets shifted by the set's
/// shared_ttl_offset).
class PackedSets {
 public:
  /// An address of addresses (address_id, address).
  void add_address(std::int64_t address_id, std::optional<IpAddress> address);
  /// A row of kSharedPartsCopySql.
  void add_shared_part(const BinaryRow& row);
  /// A row of kSetContentsCopySql: its records into `scan`.
  void add_set(const BinaryRow& row, FeatureScan& scan);

 private:
  /// Record `k` of the arrays being unpacked (views into them).
  struct RecordView {
    std::uint16_t type = 0;
    std::string_view owner;  ///< empty: the domain's own name (answer section)
    std::int64_t ttl_offset = 0;
    std::optional<IpAddress> address;
    std::int64_t address_id = -1;
    std::string_view target;
  };
  /// A record of a shared part that scoring reads (glue, SOA), kept for every set that
  /// refers to the part.
  struct SharedRecord {
    std::int32_t ord = 0;  ///< in the part
    Section section = Section::Authority;
    std::uint16_t type = 0;
    std::string owner;
    std::int64_t ttl_offset = 0;
    std::optional<IpAddress> address;
    std::int64_t address_id = -1;
    std::string target;
    std::optional<SoaRecord> soa;
  };
  /// Reads the arrays of `row` from field `first` (rtypes, owners, ttl_offsets, address_ids,
  /// targets) and, with `with_sections`, the sections at `first - 1`.
  void load_arrays(const BinaryRow& row, std::size_t first, bool with_sections);
  /// The number of records the arrays hold (the longest: unnest pads the others).
  [[nodiscard]] std::size_t records() const;
  [[nodiscard]] RecordView record(std::size_t k) const;

  DenseIdMap<IpAddress> addresses_;  ///< by address_id
  std::unordered_map<std::int64_t, std::vector<SharedRecord>> shared_;
  // The arrays of the row being unpacked.
  BinaryArray sections_;
  BinaryArray rtypes_;
  BinaryArray owners_;
  BinaryArray ttl_offsets_;
  BinaryArray address_ids_;
  BinaryArray targets_;
};

}  // namespace fluxwatch::scoring::detail

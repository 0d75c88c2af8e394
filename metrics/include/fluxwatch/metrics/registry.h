#pragma once
/// A small Prometheus client: metric families with fixed label names, their children per
/// label values, and the text exposition format (version 0.0.4). Values are atomics, so
/// updates from probing threads never wait for a scrape; finding a child takes a mutex,
/// so hot paths look a child up once per batch, not per result.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fluxwatch::metrics {

/// A value that only goes up (restarts reset it; Prometheus's rate() handles that).
class Counter {
 public:
  void inc(double amount = 1.0) noexcept { value_.fetch_add(amount, std::memory_order_relaxed); }
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// A value that goes up and down, or is set from a reading.
class Gauge {
 public:
  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void inc(double amount = 1.0) noexcept { value_.fetch_add(amount, std::memory_order_relaxed); }
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// Observations counted into cumulative buckets (upper bounds, ascending; +Inf implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value) noexcept;
  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  ///< per bound, then +Inf (= count)
    double sum = 0;
  };
  [[nodiscard]] Snapshot snapshot() const;
  [[nodiscard]] const std::vector<double>& bounds() const noexcept { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<double> sum_{0.0};
};

enum class Kind { Counter, Gauge, Histogram };

/// One metric name with its help text and label names; its children are the label values.
template <typename Metric>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Metric>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        make_(std::move(make)) {}

  /// The child for these label values (in the order of the label names), created on first
  /// use; the reference stays valid as long as the family. Any text is allowed: it is
  /// escaped on output. @throw std::invalid_argument on a wrong number of values.
  Metric& with(const std::vector<std::string>& values);
  /// The only child of a family without labels.
  Metric& get() { return with({}); }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& help() const noexcept { return help_; }
  [[nodiscard]] const std::vector<std::string>& label_names() const noexcept {
    return label_names_;
  }
  /// Calls `visit(values, metric)` for every child, in label-value order.
  template <typename Visit>
  void each(Visit visit) const {
    std::lock_guard lock(mutex_);
    for (const auto& [values, metric] : children_) {
      visit(values, *metric);
    }
  }

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<Metric>()> make_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

/**
 * The metrics of one process. Families are registered once (names and label names are
 * checked against Prometheus's rules then); collectors run before each exposition to
 * refresh gauges read from elsewhere (a database, a worker's totals).
 * Thread-safe: families may be updated from any thread while another renders.
 */
class Registry {
 public:
  /// @throw std::invalid_argument on an invalid or already registered name.
  Family<Counter>& counter(const std::string& name, const std::string& help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help,
                       std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names, std::vector<double> bounds);

  /// Runs before every expose(), in the order added.
  void add_collector(std::function<void()> collector);

  /// Runs the collectors and renders every family in the text exposition format.
  [[nodiscard]] std::string expose() const;

 private:
  struct Entry {
    Kind kind;
    std::unique_ptr<Family<Counter>> counter;
    std::unique_ptr<Family<Gauge>> gauge;
    std::unique_ptr<Family<Histogram>> histogram;
  };
  void check_new(const std::string& name, const std::vector<std::string>& label_names) const;

  mutable std::mutex mutex_;
  std::vector<Entry> entries_;  // in registration order
  std::vector<std::function<void()>> collectors_;
};

template <typename Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + ": " + std::to_string(label_names_.size()) +
                                " label value(s) expected, " + std::to_string(values.size()) +
                                " given");
  }
  std::lock_guard lock(mutex_);
  auto found = children_.find(values);
  if (found == children_.end()) {
    found = children_.emplace(values, make_()).first;
  }
  return *found->second;
}

// The text format's rules (https://prometheus.io/docs/instrumenting/exposition_formats/).
/// A label value: backslash, double quote and line feed escaped.
[[nodiscard]] std::string escape_label_value(std::string_view value);
/// HELP text: backslash and line feed escaped.
[[nodiscard]] std::string escape_help(std::string_view help);
/// A sample value: shortest round-trip form, +Inf, -Inf or NaN.
[[nodiscard]] std::string format_value(double value);
[[nodiscard]] bool valid_metric_name(std::string_view name);
/// Label names: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved).
[[nodiscard]] bool valid_label_name(std::string_view name);

}  // namespace fluxwatch::metrics

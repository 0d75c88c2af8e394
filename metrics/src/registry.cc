#include "fluxwatch/metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fluxwatch::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  if (!std::ranges::is_sorted(bounds_) || std::ranges::adjacent_find(bounds_) != bounds_.end() ||
      std::ranges::any_of(bounds_, [](double b) { return std::isnan(b) || std::isinf(b); })) {
    throw std::invalid_argument("histogram bounds must be finite and strictly ascending");
  }
}

void Histogram::observe(double value) noexcept {
  // le is inclusive: a value equal to a bound counts in that bucket.
  const auto bucket =
      static_cast<std::size_t>(std::ranges::lower_bound(bounds_, value) - bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

bool valid_metric_name(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  const auto first_ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  };
  const auto rest_ok = [&](char c) { return first_ok(c) || (c >= '0' && c <= '9'); };
  return first_ok(name.front()) && std::ranges::all_of(name.substr(1), rest_ok);
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) {
    return false;
  }
  const auto first_ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  const auto rest_ok = [&](char c) { return first_ok(c) || (c >= '0' && c <= '9'); };
  return first_ok(name.front()) && std::ranges::all_of(name.substr(1), rest_ok);
}

void Registry::check_new(const std::string& name,
                         const std::vector<std::string>& label_names) const {
  if (!valid_metric_name(name)) {
    throw std::invalid_argument("invalid metric name: " + name);
  }
  for (const auto& label : label_names) {
    if (!valid_label_name(label) || label == "le") {
      throw std::invalid_argument("metric " + name + ": invalid label name: " + label);
    }
  }
  for (const auto& entry : entries_) {
    const std::string& existing = entry.counter ? entry.counter->name()
                                  : entry.gauge ? entry.gauge->name()
                                                : entry.histogram->name();
    if (existing == name) {
      throw std::invalid_argument("metric registered twice: " + name);
    }
  }
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  check_new(name, label_names);
  Entry entry{Kind::Counter, nullptr, nullptr, nullptr};
  entry.counter = std::make_unique<Family<Counter>>(name, help, std::move(label_names),
                                                    [] { return std::make_unique<Counter>(); });
  entries_.push_back(std::move(entry));
  return *entries_.back().counter;
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  check_new(name, label_names);
  Entry entry{Kind::Gauge, nullptr, nullptr, nullptr};
  entry.gauge = std::make_unique<Family<Gauge>>(name, help, std::move(label_names),
                                                [] { return std::make_unique<Gauge>(); });
  entries_.push_back(std::move(entry));
  return *entries_.back().gauge;
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names,
                                       std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  check_new(name, label_names);
  Histogram check(bounds);  // validates the bounds now, not at the first observation
  Entry entry{Kind::Histogram, nullptr, nullptr, nullptr};
  entry.histogram = std::make_unique<Family<Histogram>>(
      name, help, std::move(label_names), [bounds] { return std::make_unique<Histogram>(bounds); });
  entries_.push_back(std::move(entry));
  return *entries_.back().histogram;
}

void Registry::add_collector(std::function<void()> collector) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

}  // namespace fluxwatch::metrics

// The Prometheus text exposition format, version 0.0.4: per family a HELP and a TYPE line,
// then one sample line per child (histograms: _bucket per bound with le, _sum, _count).
#include <fmt/format.h>

#include <cmath>

#include "fluxwatch/metrics/registry.h"

namespace fluxwatch::metrics {
namespace {

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) {
    return;
  }
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += first ? "" : ",";
    first = false;
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    out += first ? "" : ",";
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

template <typename Metric>
void append_header(std::string& out, const Family<Metric>& family, std::string_view type) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name(), escape_help(family.help()),
                     family.name(), type);
}

template <typename Metric>
void append_simple(std::string& out, const Family<Metric>& family, std::string_view type) {
  append_header(out, family, type);
  family.each([&](const std::vector<std::string>& values, const Metric& metric) {
    out += family.name();
    append_labels(out, family.label_names(), values);
    out += ' ';
    out += format_value(metric.value());
    out += '\n';
  });
}

void append_histogram(std::string& out, const Family<Histogram>& family) {
  append_header(out, family, "histogram");
  family.each([&](const std::vector<std::string>& values, const Histogram& histogram) {
    const auto snapshot = histogram.snapshot();
    const auto& bounds = histogram.bounds();
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
      out += family.name() + "_bucket";
      append_labels(out, family.label_names(), values, "le",
                    i < bounds.size() ? format_value(bounds[i]) : "+Inf");
      out += fmt::format(" {}\n", snapshot.cumulative[i]);
    }
    out += family.name() + "_sum";
    append_labels(out, family.label_names(), values);
    out += ' ' + format_value(snapshot.sum) + '\n';
    out += family.name() + "_count";
    append_labels(out, family.label_names(), values);
    out += fmt::format(" {}\n", snapshot.cumulative.back());
  });
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<long long>(value));
  }
  return fmt::format("{}", value);
}

std::string Registry::expose() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mutex_);
    collectors = collectors_;
  }
  for (const auto& collect : collectors) {
    collect();
  }
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& entry : entries_) {
    switch (entry.kind) {
      case Kind::Counter:
        append_simple(out, *entry.counter, "counter");
        break;
      case Kind::Gauge:
        append_simple(out, *entry.gauge, "gauge");
        break;
      case Kind::Histogram:
        append_histogram(out, *entry.histogram);
        break;
    }
  }
  return out;
}

}  // namespace fluxwatch::metrics

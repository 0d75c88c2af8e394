#pragma once
/// Getting a registry's metrics to Prometheus: an HTTP endpoint that a server scrapes
/// (`fluxwatch run`), or a file for node_exporter's textfile collector (cron jobs).

#include <filesystem>
#include <memory>
#include <string>

#include "fluxwatch/metrics/registry.h"

namespace fluxwatch::metrics {

/**
 * Serves GET /metrics (text format 0.0.4) on host:port from its own thread (cpp-httplib)
 * until destroyed. Other paths: 404, except / (a link to /metrics).
 * @throw std::runtime_error if the address cannot be bound (names it).
 */
class HttpExporter {
 public:
  HttpExporter(const Registry& registry, const std::string& host, int port);
  ~HttpExporter();
  HttpExporter(const HttpExporter&) = delete;
  HttpExporter& operator=(const HttpExporter&) = delete;
  /// The port actually bound (when 0 was asked, the one the system chose).
  [[nodiscard]] int port() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Writes registry.expose() to `path` atomically: a temporary file in the same directory,
/// fsync, rename, so the textfile collector never reads half a file.
/// @throw std::runtime_error naming the path on any failure.
void write_textfile(const Registry& registry, const std::filesystem::path& path);

}  // namespace fluxwatch::metrics

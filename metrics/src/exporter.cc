#include "fluxwatch/metrics/exporter.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace fluxwatch::metrics {

struct HttpExporter::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
};

HttpExporter::HttpExporter(const Registry& registry, const std::string& host, int port)
    : impl_(std::make_unique<Impl>()) {
  // Scrapes are rare and cheap: two threads, not one per core.
  impl_->server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  impl_->server.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry.expose(), "text/plain; version=0.0.4; charset=utf-8");
  });
  impl_->server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html><body><a href=\"/metrics\">/metrics</a></body></html>\n",
                    "text/html; charset=utf-8");
  });
  if (port == 0) {
    impl_->port = impl_->server.bind_to_any_port(host);
  } else if (impl_->server.bind_to_port(host, port)) {
    impl_->port = port;
  } else {
    impl_->port = -1;
  }
  if (impl_->port <= 0) {
    throw std::runtime_error(fmt::format(
        "metrics: cannot listen on {}:{} (in use, or not an address of this host?)", host, port));
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
}

HttpExporter::~HttpExporter() {
  impl_->server.stop();
  if (impl_->thread.joinable()) {
    impl_->thread.join();
  }
}

int HttpExporter::port() const noexcept { return impl_->port; }

void write_textfile(const Registry& registry, const std::filesystem::path& path) {
  const std::string text = registry.expose();
  auto temporary = path;
  temporary += fmt::format(".tmp.{}", getpid());
  const auto fail = [&](const char* what) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    throw std::runtime_error(
        fmt::format("metrics file {}: {}: {}", path.string(), what, std::strerror(saved)));
  };
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fail("cannot create the temporary file");
  }
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      ::close(fd);
      fail("write failed");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("fsync failed");
  }
  if (::close(fd) != 0) {
    fail("close failed");
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    fail("rename failed");
  }
}

}  // namespace fluxwatch::metrics

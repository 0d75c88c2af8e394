#include "support/cutting_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace fluxwatch::testing {
namespace {

/// The simple-query message libpq sends for a plain COMMIT: 'Q', its length (4 + 7), text.
constexpr std::string_view kCommitMessage{
    "Q\0\0\0\x0b"
    "COMMIT\0",
    12};

/// The value of `key=` in a key=value DSN ("" if absent; the last one wins, as in libpq).
std::string dsn_value(const std::string& dsn, const std::string& key) {
  std::istringstream words(dsn);
  std::string word;
  std::string value;
  while (words >> word) {
    if (word.starts_with(key + "=")) {
      value = word.substr(key.size() + 1);
    }
  }
  return value;
}

int connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0) {
    return fd;
  }
  if (fd >= 0) {
    ::close(fd);
  }
  return -1;
}

/// One relayed session.
struct Pair {
  int client = -1;
  int server = -1;
  std::string tail;  ///< the client's last bytes, so a COMMIT split over two reads is seen

  void close_both() {
    ::close(client);
    ::close(server);
    client = server = -1;
  }
};

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
    if (sent <= 0) {
      return false;
    }
    data += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

}  // namespace

CuttingProxy::CuttingProxy(const std::string& server_dsn)
    : socket_path_(dsn_value(server_dsn, "host") + "/.s.PGSQL." + dsn_value(server_dsn, "port")) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listener_ < 0 ||
      ::bind(listener_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listener_, 16) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (listener_ >= 0) {
      ::close(listener_);
    }
    throw std::runtime_error("CuttingProxy: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

CuttingProxy::~CuttingProxy() {
  stopping_ = true;
  thread_.join();
  ::close(listener_);
}

std::string CuttingProxy::through(const std::string& dsn) const {
  std::istringstream words(dsn);
  std::string word;
  std::string out;
  while (words >> word) {
    if (!word.starts_with("host=") && !word.starts_with("port=")) {
      out += word + " ";
    }
  }
  return out + "host=127.0.0.1 port=" + std::to_string(port_);
}

void CuttingProxy::cut_next_commit(Cut how) {
  cut_done_ = false;
  armed_ = how;
}

void CuttingProxy::come_back() { away_ = false; }

void CuttingProxy::serve() {
  std::vector<Pair> pairs;
  std::array<char, 65536> buffer{};
  while (!stopping_) {
    std::vector<pollfd> watched{{listener_, POLLIN, 0}};
    for (const Pair& pair : pairs) {
      watched.push_back({pair.client, POLLIN, 0});
      watched.push_back({pair.server, POLLIN, 0});
    }
    if (::poll(watched.data(), watched.size(), 50) <= 0) {
      continue;
    }
    if ((watched[0].revents & POLLIN) != 0) {
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      const int server = (client >= 0 && !away_) ? connect_unix(socket_path_) : -1;
      if (server >= 0) {
        pairs.push_back({client, server, {}});
      } else if (client >= 0) {
        ::close(client);  // away: the client sees the server close the connection
      }
    }
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      Pair& pair = pairs[i];
      const short from_client = watched[1 + 2 * i].revents;
      const short from_server = watched[2 + 2 * i].revents;
      if (from_server != 0) {
        const ssize_t got = ::recv(pair.server, buffer.data(), buffer.size(), 0);
        if (got <= 0 || !send_all(pair.client, buffer.data(), static_cast<std::size_t>(got))) {
          pair.close_both();
          continue;
        }
      }
      if (from_client == 0) {
        continue;
      }
      const ssize_t got = ::recv(pair.client, buffer.data(), buffer.size(), 0);
      if (got <= 0) {
        pair.close_both();
        continue;
      }
      const std::string_view chunk(buffer.data(), static_cast<std::size_t>(got));
      // The tail keeps one byte less than the message, so a match always ends in this chunk.
      const std::string seen = pair.tail + std::string(chunk);
      const std::size_t keep = std::min(seen.size(), kCommitMessage.size() - 1);
      pair.tail = seen.substr(seen.size() - keep);
      const Cut how = armed_;
      if (how == Cut::None || seen.find(kCommitMessage) == std::string::npos) {
        if (!send_all(pair.server, chunk.data(), chunk.size())) {
          pair.close_both();
        }
        continue;
      }
      armed_ = Cut::None;
      if (how == Cut::AfterTheServerAnswers) {
        // The server answers COMMIT only once the commit is durable: wait for that answer
        // (up to a minute), then drop it.
        send_all(pair.server, chunk.data(), chunk.size());
        pollfd answer{pair.server, POLLIN, 0};
        if (::poll(&answer, 1, 60000) > 0) {
          (void)::recv(pair.server, buffer.data(), buffer.size(), 0);
        }
      }
      away_ = true;
      pair.close_both();
      cut_done_ = true;
    }
    std::erase_if(pairs, [](const Pair& pair) { return pair.client < 0; });
  }
  for (Pair& pair : pairs) {
    pair.close_both();
  }
}

}  // namespace fluxwatch::testing

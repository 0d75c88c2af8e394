#pragma once
/// Internal: RAII owners of the C handles the crawler uses (c-ares channels and buffers,
/// file descriptors). Not a public header: it includes <ares.h>.

#include <ares.h>
#include <unistd.h>

#include <memory>
#include <type_traits>
#include <utility>

#include "fluxwatch/common/unique_fd.h"

namespace fluxwatch::crawler::detail {

/// Destroys a c-ares channel; ares_destroy ends its pending queries with ARES_EDESTRUCTION.
struct AresChannelDeleter {
  void operator()(ares_channel channel) const noexcept { ares_destroy(channel); }
};
/// One c-ares channel, owned by the thread that runs the Crawler it belongs to.
using AresChannel = std::unique_ptr<std::remove_pointer_t<ares_channel>, AresChannelDeleter>;

/// Frees a query packet from ares_create_query.
struct AresStringDeleter {
  void operator()(unsigned char* buffer) const noexcept { ares_free_string(buffer); }
};
using AresQueryPacket = std::unique_ptr<unsigned char, AresStringDeleter>;

/// Frees a server list from ares_get_servers_ports.
struct AresDataDeleter {
  void operator()(void* data) const noexcept { ares_free_data(data); }
};
using AresServerList = std::unique_ptr<ares_addr_port_node, AresDataDeleter>;

/// A file descriptor closed on destruction (here: the epoll instance).
using fluxwatch::UniqueFd;

}  // namespace fluxwatch::crawler::detail

#pragma once
/// Where an IpAddress reaches: questions of scope asked of a parsed address (not of text).

#include "fluxwatch/common/ip_address.h"

namespace fluxwatch {

/// 127.0.0.0/8, ::1, or an IPv4-mapped 127.x.y.z: an address that never leaves the host.
[[nodiscard]] bool is_loopback(const IpAddress& address) noexcept;

}  // namespace fluxwatch

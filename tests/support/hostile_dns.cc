#include "support/hostile_dns.h"

namespace fluxwatch::testing {

HostileDnsServer::HostileDnsServer(std::chrono::milliseconds deadline)
    : server_(FLUXWATCH_HOSTILE_DNS_SCRIPT, {}, deadline, "the hostile DNS server") {}

}  // namespace fluxwatch::testing

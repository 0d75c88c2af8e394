#pragma once
/// The one place outside code (metrics, tracing) sees what probing produced: every batch
/// of results on its way to storage, on the thread that hands it over.

#include <functional>
#include <span>

#include "fluxwatch/common/types.h"

namespace fluxwatch::scheduler {

/// Called once per batch of results, before the batch is stored (results complete: outcome,
/// latency, records, campaign, due_at). Must be quick and must not throw.
using BatchObserver = std::function<void(std::span<const ProbeResult>)>;

}  // namespace fluxwatch::scheduler

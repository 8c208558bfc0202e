// The Prometheus endpoint: GET /metrics over HTTP/1.1 (Boost.Beast) on a thread of its own, so a
// slow or hostile client never touches the core thread. The core publishes immutable snapshots
// (the ones it already makes for the subagent); the server renders the latest at each scrape.
// Bounded: at most MetricsConfig::maxConnections open at once (more are closed at accept), a
// request's line and headers at most kMaxRequestBytes (431) and no body (413), the whole request
// within requestTimeout, one request per connection.
#pragma once

#include "base/types.hpp"
#include "metrics/metrics_config.hpp"

#include <cstdint>
#include <memory>

namespace hs::metrics {

struct ServerStats {
    std::uint64_t scrapes = 0;  // 200 answers to GET /metrics
    std::uint64_t refused = 0;  // connections closed at accept (limit reached)
    std::uint64_t rejected = 0; // requests answered 4xx or cut (timeout, too large, bad)
};

class MetricsServer {
  public:
    explicit MetricsServer(MetricsConfig cfg);
    ~MetricsServer(); // stop()
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Binds and starts the thread; throws std::runtime_error when the address cannot be bound.
    void start();
    void stop(); // idempotent
    // Thread-safe, never blocks: keeps the latest snapshot.
    void publish(std::shared_ptr<const Snapshot> snapshot);
    ServerStats stats() const;

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

} // namespace hs::metrics

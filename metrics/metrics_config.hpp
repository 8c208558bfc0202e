// The [metrics] table of the daemon's configuration (the Prometheus endpoint), validated.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <toml++/toml.h>

namespace hs::metrics {

// The keys of [metrics]; any other is rejected. hotstandbyd.toml(5) is checked against this list.
namespace config_keys {
inline constexpr std::array<std::string_view, 5> kMetrics = {
    "enabled", "listen", "port", "max_connections", "request_timeout_ms"};
} // namespace config_keys

struct MetricsConfig {
    bool enabled = false;             // off unless asked for
    std::string listen = "127.0.0.1"; // a numeric IPv4 or IPv6 address
    std::uint16_t port = 9649;
    std::size_t maxConnections = 4; // open at once; more are closed at accept
    // A request (line and headers) must arrive whole within this; slower clients are cut.
    std::chrono::milliseconds requestTimeout{2000};
};

// Header bytes a request may carry (request line included); larger ones get 431 and are closed.
inline constexpr std::size_t kMaxRequestBytes = 4096;

// Parses [metrics] (an empty table when the file has none). Throws hs::ConfigError
// "FILE:LINE: metrics.KEY: reason".
MetricsConfig parseMetricsConfig(const toml::table& table, const std::string& file);

} // namespace hs::metrics

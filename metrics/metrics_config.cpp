#include "metrics/metrics_config.hpp"

#include "base/asio.hpp"
#include "base/config_error.hpp"

#include <algorithm>
#include <fmt/core.h>
#include <fmt/ranges.h>

namespace hs::metrics {
namespace {

[[noreturn]] void fail(const toml::node& n, const std::string& file, const std::string& key,
                       const std::string& reason) {
    toml::source_region src = n.source();
    std::string where = src.path ? std::string(*src.path) : file;
    if (src.begin.line > 0) {
        where += ":" + std::to_string(src.begin.line);
    }
    throw ConfigError(fmt::format("{}: metrics.{}: {}", where, key, reason));
}

std::int64_t integer(const toml::node& n, const std::string& file, const std::string& key,
                     std::int64_t lo, std::int64_t hi) {
    auto v = n.value<std::int64_t>();
    if (!n.is_integer() || !v) {
        fail(n, file, key, "must be an integer");
    }
    if (*v < lo || *v > hi) {
        fail(n, file, key, fmt::format("{} is outside {}..{}", *v, lo, hi));
    }
    return *v;
}

} // namespace

MetricsConfig parseMetricsConfig(const toml::table& table, const std::string& file) {
    MetricsConfig cfg;
    const auto& known = config_keys::kMetrics;
    for (const auto& [k, node] : table) {
        std::string key(k.str());
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            fail(node, file, key, fmt::format("unknown key (known: {})", fmt::join(known, ", ")));
        }
        if (key == "enabled") {
            if (!node.is_boolean()) {
                fail(node, file, key, "must be true or false");
            }
            cfg.enabled = *node.value<bool>();
        } else if (key == "listen") {
            if (!node.is_string()) {
                fail(node, file, key, "must be a string");
            }
            cfg.listen = std::string(*node.value<std::string>());
            boost::system::error_code ec;
            boost::asio::ip::make_address(cfg.listen, ec);
            if (ec) {
                fail(node, file, key,
                     fmt::format("'{}' is not a numeric IPv4 or IPv6 address", cfg.listen));
            }
        } else if (key == "port") {
            cfg.port = static_cast<std::uint16_t>(integer(node, file, key, 1, 65535));
        } else if (key == "max_connections") {
            cfg.maxConnections = static_cast<std::size_t>(integer(node, file, key, 1, 64));
        } else if (key == "request_timeout_ms") {
            cfg.requestTimeout = std::chrono::milliseconds(integer(node, file, key, 100, 60000));
        } else {
            fail(node, file, key, "listed in config_keys::kMetrics but not parsed");
        }
    }
    return cfg;
}

} // namespace hs::metrics

#include "subagent/snmp_config.hpp"

#include "base/config_error.hpp"

#include <algorithm>
#include <fmt/core.h>
#include <fmt/ranges.h>

namespace hs::subagent {
namespace {

class Reader {
  public:
    explicit Reader(std::string file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const toml::node& n, const std::string& key,
                           const std::string& reason) const {
        toml::source_region src = n.source();
        std::string where = src.path ? std::string(*src.path) : file_;
        if (src.begin.line > 0) {
            where += ":" + std::to_string(src.begin.line);
        }
        throw ConfigError(fmt::format("{}: snmp.{}: {}", where, key, reason));
    }

    std::int64_t integer(const toml::node& n, const std::string& key, std::int64_t lo,
                         std::int64_t hi) const {
        auto v = n.value<std::int64_t>();
        if (!n.is_integer() || !v) {
            fail(n, key, "must be an integer");
        }
        if (*v < lo || *v > hi) {
            fail(n, key, fmt::format("{} is outside {}..{}", *v, lo, hi));
        }
        return *v;
    }

    std::string string(const toml::node& n, const std::string& key) const {
        if (!n.is_string()) {
            fail(n, key, "must be a string");
        }
        return std::string(*n.value<std::string>());
    }

    bool boolean(const toml::node& n, const std::string& key) const {
        if (!n.is_boolean()) {
            fail(n, key, "must be true or false");
        }
        return *n.value<bool>();
    }

  private:
    std::string file_;
};

} // namespace

SnmpConfig parseSnmpConfig(const toml::table& table, const std::string& file) {
    SnmpConfig cfg;
    Reader r(file);
    const auto& known = config_keys::kSnmp;
    for (const auto& [k, node] : table) {
        std::string key(k.str());
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            r.fail(node, key, fmt::format("unknown key (known: {})", fmt::join(known, ", ")));
        }
        if (key == "enabled") {
            cfg.enabled = r.boolean(node, key);
        } else if (key == "agentx_socket") {
            cfg.agentxSocket = r.string(node, key);
            if (cfg.agentxSocket.empty()) {
                r.fail(node, key, "must not be empty (a unix socket path or tcp:HOST:PORT)");
            }
        } else if (key == "ping_interval_s") {
            cfg.pingInterval = std::chrono::seconds(r.integer(node, key, 1, 60));
        } else if (key == "agentx_timeout_ms") {
            cfg.agentxTimeout = std::chrono::milliseconds(r.integer(node, key, 100, 10000));
        } else if (key == "notify_queue") {
            cfg.notifyQueue = static_cast<std::size_t>(r.integer(node, key, 1, 100000));
        } else if (key == "log_level") {
            std::string s = r.string(node, key);
            if (!log::parseLevel(s, cfg.netsnmpLogLevel)) {
                r.fail(node, key, fmt::format("'{}' is not debug, info, warn or error", s));
            }
        } else {
            r.fail(node, key, "listed in config_keys::kSnmp but not parsed");
        }
    }
    return cfg;
}

} // namespace hs::subagent

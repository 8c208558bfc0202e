// The [snmp] table of the daemon's configuration, validated. Defaults in code.
#pragma once

#include "base/log.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <toml++/toml.h>

namespace hs::subagent {

// The keys of [snmp]; any other is rejected. The man page hotstandbyd.toml(5) is checked against
// this list (tests/packaging).
namespace config_keys {
inline constexpr std::array<std::string_view, 6> kSnmp = {"enabled",         "agentx_socket",
                                                          "ping_interval_s", "agentx_timeout_ms",
                                                          "notify_queue",    "log_level"};
} // namespace config_keys

struct SnmpConfig {
    bool enabled = true;
    // Where the master agent listens: a unix socket path or "tcp:127.0.0.1:705".
    std::string agentxSocket = "/var/agentx/master";
    // How often the subagent pings the master, and retries the connection while it is away.
    std::chrono::seconds pingInterval{1};
    // How long the subagent waits for the master (no retries: better to reconnect than to wait).
    std::chrono::milliseconds agentxTimeout{1000};
    // Notifications kept while the master is away; the oldest are dropped beyond this (the
    // sequence-number gap shows the loss).
    std::size_t notifyQueue = 256;
    // Lowest Net-SNMP log priority forwarded to our log: debug (LOG_DEBUG), info (LOG_INFO,
    // LOG_NOTICE), warn (LOG_WARNING), error (LOG_ERR and worse).
    log::Level netsnmpLogLevel = log::Level::Info;
};

// Parses the [snmp] table (pass an empty table when the file has none). FILE names the
// configuration file in messages. Throws hs::ConfigError "FILE:LINE: snmp.KEY: reason" on unknown
// keys, wrong types and out-of-range values.
SnmpConfig parseSnmpConfig(const toml::table& table, const std::string& file);

} // namespace hs::subagent

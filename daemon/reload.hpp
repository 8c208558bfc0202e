// SIGHUP: what a configuration reload may change while the daemon runs. The new file goes through
// the same readConfig() and validate() as at start (off the core thread); then its document is
// compared with the running one, key by key. Keys in kLiveKeys are applied at once, all together;
// any other key added, removed or changed (node id, slot, paths, heartbeat timing, how the BMC is
// reached, the fan profile, the set of fan zones, [metrics], ...) refuses the whole reload with the
// keys named, and the running configuration stays. A file that does not parse or validate is
// refused the same way.
#pragma once

#include <string>
#include <toml++/toml.h>
#include <vector>

namespace hs {

// The dotted keys (or tables) a reload applies at run time.
// node.key_file (and a new content of the same file) rotates the heartbeat key (key_ring.hpp).
// chassis.*: the chassis threads take a new immutable snapshot between two of their steps
// (ChassisManager::reconfigure). A key of an array of tables ([[chassis.zone]]) is named with its
// index, "chassis.zone[1].curve", and matched here without it; a zone added, removed or with
// another id changes "chassis.zone" itself, which needs a restart (the replicated floors are
// keyed by the zone's index). snmp.*: the subagent takes them on its own thread
// (Subagent::reconfigure).
inline constexpr const char* kLiveKeys[] = {"node.log_level",
                                            "node.key_file",
                                            "node.key_grace_ms",
                                            "heartbeat.preempt",
                                            "hooks",
                                            "chassis.status_poll_ms",
                                            "chassis.sensor_poll_ms",
                                            "chassis.retry_min_ms",
                                            "chassis.retry_max_ms",
                                            "chassis.power_confirm_timeout_ms",
                                            "chassis.error_log_interval_ms",
                                            "chassis.failsafe_duty_pct",
                                            "chassis.zone.name",
                                            "chassis.zone.temp_sensors",
                                            "chassis.zone.fan_sensors",
                                            "chassis.zone.curve",
                                            "chassis.zone.hysteresis_c",
                                            "snmp.notify_queue",
                                            "snmp.log_level",
                                            "snmp.agentx_socket",
                                            "snmp.ping_interval_s",
                                            "snmp.agentx_timeout_ms"};

struct ReloadDiff {
    std::vector<std::string> live;        // live keys whose value changes
    std::vector<std::string> restartOnly; // other keys that differ (refuse the reload)
};

// Compares two configuration documents (a key present in one only counts as a change).
ReloadDiff diffConfig(const toml::table& running, const toml::table& next);

// Whether a key (as diffConfig names it: "chassis.zone[1].curve") can change at run time.
bool isLiveKey(const std::string& key);

// "a, b, c"
std::string joinKeys(const std::vector<std::string>& keys);

} // namespace hs

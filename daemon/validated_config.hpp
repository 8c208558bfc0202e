// The one validation of the daemon's configuration: node, heartbeat, paths, key, slot, [chassis],
// [snmp] and fencing, all checked before anything is written. The daemon is built from the result;
// `hotstandbyd --check` stops after validate() (it creates no directory and writes no state file).
#pragma once

#include "chassis/chassis_config.hpp"
#include "core/config.hpp"
#include "daemon/hooks.hpp"
#include "hb/frame.hpp"
#include "metrics/metrics_config.hpp"
#include "subagent/snmp_config.hpp"

#include <cstdint>
#include <string>

namespace hs {

struct ValidatedConfig {
    Config cfg;           // node, heartbeat and paths (core/config.hpp), raw tables included
    hb::Key key;          // the key file's material bound to node.cluster_id
    std::uint32_t slot{}; // 0..255, resolved from slot, slot_file or slot_gpio
    chassis::ChassisConfig chassis;
    subagent::SnmpConfig snmp;
    HooksConfig hooks;              // [hooks]
    metrics::MetricsConfig metrics; // [metrics]
};

// Checks what core's readConfig() cannot (the key's content, the slot source, [chassis], [snmp],
// [hooks],
// fencing without a BMC) and returns everything the daemon needs. Reads the key file and the slot
// source and logs accepted but weak settings; writes nothing. Throws hs::ConfigError ("FILE[:LINE]:
// key: reason").
ValidatedConfig validate(Config cfg);

} // namespace hs

#include "daemon/validated_config.hpp"

#include "base/config_error.hpp"
#include "base/log.hpp"
#include "daemon/slot_source.hpp"

namespace hs {
namespace {

std::uint32_t checkedSlot(const Config& cfg) {
    std::uint32_t slot = resolveSlot(cfg.node);
    if (slot > 255) {
        throw ConfigError(cfg.file + ": node.slot: slot " + std::to_string(slot) +
                          " is out of range (0..255)");
    }
    return slot;
}

// The frame key: the key file's material bound to this pair's cluster id. Only the bound key is
// kept; the material is wiped when the temporary goes.
hb::Key loadKey(const Config& cfg) {
    std::string error;
    std::string warning;
    hb::Key material = hb::Key::fromFile(cfg.node.keyFile.string(), error, &warning);
    if (!error.empty()) {
        throw ConfigError(cfg.file + ": node.key_file: " + error);
    }
    if (!warning.empty()) {
        HS_WARN("event=key_file_suspect detail=\"{}\"", warning);
    }
    hb::Key key = material.forCluster(cfg.node.clusterId);
    HS_INFO("event=heartbeat_key file={} cluster={} key_fingerprint={}", cfg.node.keyFile.string(),
            cfg.node.clusterId, key.fingerprint());
    return key;
}

chassis::ChassisConfig chassisConfig(const Config& cfg) {
    chassis::ChassisConfig c = chassis::parseChassisConfig(cfg.chassis, cfg.file);
    for (const std::string& w : c.warnings) {
        HS_WARN("event=weak_chassis_setting detail=\"{}\"", w);
    }
    if (c.fencing.enabled && !c.enabled()) {
        throw ConfigError(cfg.file + ": chassis.fencing: fencing needs a BMC configured for this "
                                     "node ([chassis] interface)");
    }
    return c;
}

} // namespace

ValidatedConfig validate(Config cfg) {
    ValidatedConfig v;
    v.key = loadKey(cfg);
    v.slot = checkedSlot(cfg);
    v.chassis = chassisConfig(cfg);
    v.snmp = subagent::parseSnmpConfig(cfg.snmp, cfg.file);
    v.metrics = metrics::parseMetricsConfig(cfg.metrics, cfg.file);
    v.hooks = parseHooksConfig(cfg.hooks, cfg.file);
    v.cfg = std::move(cfg);
    return v;
}

} // namespace hs

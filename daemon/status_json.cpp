#include "daemon/status_json.hpp"

#include "core/control_api.hpp"
#include "daemon/control_server.hpp"

#include <limits>
#include <utility>

namespace hs {

using nlohmann::json;

namespace {

json optionalNumber(const std::optional<double>& v) {
    return v ? json(*v) : json(nullptr);
}

FanMode overallFanMode(const ChassisSnapshot& c) {
    if (c.failSafe) {
        return FanMode::FailSafe;
    }
    return c.fans.empty() ? FanMode::Unknown : c.fans.front().mode;
}

// The BMC's Get Chassis Status reply (IPMI 2.0 28.2), field by field; null before the first.
json bmcChassisStatusJson(const std::vector<std::uint8_t>& d) {
    if (d.size() < 3) {
        return nullptr;
    }
    auto bit = [](std::uint8_t byte, unsigned mask) { return (byte & mask) != 0; };
    static constexpr const char* kPolicies[] = {"always_off", "previous", "always_on", "unknown"};
    json events = json::array();
    static constexpr std::pair<unsigned, const char*> kEvents[] = {{0x01, "ac_failed"},
                                                                   {0x02, "overload"},
                                                                   {0x04, "interlock"},
                                                                   {0x08, "fault"},
                                                                   {0x10, "command"}};
    for (const auto& [mask, name] : kEvents) {
        if (bit(d[1], mask)) {
            events.push_back(name);
        }
    }
    json j{{"power_on", bit(d[0], 0x01)},
           {"power_overload", bit(d[0], 0x02)},
           {"power_interlock", bit(d[0], 0x04)},
           {"main_power_fault", bit(d[0], 0x08)},
           {"power_control_fault", bit(d[0], 0x10)},
           {"power_restore_policy", kPolicies[(d[0] >> 5) & 0x03]},
           {"last_power_event", std::move(events)},
           {"chassis_intrusion", bit(d[2], 0x01)},
           {"front_panel_lockout", bit(d[2], 0x02)},
           {"drive_fault", bit(d[2], 0x04)},
           {"cooling_fan_fault", bit(d[2], 0x08)},
           {"front_panel", nullptr}};
    if (d.size() > 3) {
        j["front_panel"] = json{
            {"sleep_disable_allowed", bit(d[3], 0x80)}, {"diag_disable_allowed", bit(d[3], 0x40)},
            {"reset_disable_allowed", bit(d[3], 0x20)}, {"power_disable_allowed", bit(d[3], 0x10)},
            {"sleep_disabled", bit(d[3], 0x08)},        {"diag_disabled", bit(d[3], 0x04)},
            {"reset_disabled", bit(d[3], 0x02)},        {"power_disabled", bit(d[3], 0x01)}};
    }
    return j;
}

} // namespace

std::string toJsonName(PowerState s) {
    return snakeCase(toString(s));
}

std::string toJsonName(PowerControl c) {
    return snakeCase(toString(c));
}

std::string toJsonName(BmcAccess a) {
    return snakeCase(toString(a));
}

std::string toJsonName(SensorState s) {
    return snakeCase(toString(s));
}

std::string toJsonName(FanMode m) {
    return snakeCase(toString(m));
}

json toJson(const PathCounters& c) {
    return json{{"frames_sent", c.framesSent},
                {"frames_received", c.framesReceived},
                {"missed", c.missed},
                {"malformed", c.malformed},
                {"auth_failures", c.authFailures},
                {"replayed", c.replayed},
                {"stale", c.stale},
                {"send_errors", c.sendErrors},
                {"io_errors", c.ioErrors},
                {"garbage_bytes", c.garbageBytes},
                {"foreign", c.foreign}};
}

json toJson(const PathSnapshot& p) {
    return json{{"index", p.index},
                {"name", p.name},
                {"type", toString(p.type)},
                {"endpoint", p.endpoint},
                {"state", snakeCase(toString(p.state))},
                {"diag", snakeCase(toString(p.diag))},
                {"interval_us", p.intervalUs},
                {"miss_threshold", p.missThreshold},
                {"recovery_threshold", p.recoveryThreshold},
                {"rtt_us", p.rttUs},
                {"rx", p.counters.framesReceived},
                {"tx", p.counters.framesSent},
                {"missed", p.counters.missed},
                {"auth_failures", p.counters.authFailures},
                {"foreign", p.counters.foreign},
                {"counters", toJson(p.counters)},
                {"last_change_unix_ms", p.lastChangeUnixMs}};
}

json toJson(const ModuleSnapshot& m) {
    return json{
        {"node_id", m.nodeId},  {"slot", m.slot},    {"role", snakeCase(toString(m.role))},
        {"present", m.present}, {"bmc_ok", m.bmcOk}, {"last_change_unix_ms", m.lastChangeUnixMs}};
}

json toJson(const SwitchoverRecord& r) {
    return json{{"index", r.index},
                {"unix_ms", r.unixMs},
                {"reason", snakeCase(toString(r.reason))},
                {"from", snakeCase(toString(r.from))},
                {"to", snakeCase(toString(r.to))},
                {"epoch", r.epoch}};
}

json toJson(const SensorSnapshot& s) {
    return json{{"index", s.index},
                {"name", s.name},
                {"type", s.type},
                {"unit", s.unit},
                {"value", s.valueValid ? json(s.value) : json(nullptr)},
                {"state", toJsonName(s.state)},
                {"lower_critical", optionalNumber(s.lowerCritical)},
                {"lower_non_critical", optionalNumber(s.lowerNonCritical)},
                {"upper_non_critical", optionalNumber(s.upperNonCritical)},
                {"upper_critical", optionalNumber(s.upperCritical)},
                {"lower_non_recoverable", optionalNumber(s.lowerNonRecoverable)},
                {"upper_non_recoverable", optionalNumber(s.upperNonRecoverable)}};
}

json toJson(const FanSnapshot& f) {
    return json{{"zone", f.zone},
                {"name", f.name},
                {"duty_pct", f.dutyPct},
                {"rpm", optionalNumber(f.rpm)},
                {"mode", toJsonName(f.mode)},
                {"failed", f.failed}};
}

json chassisStatusJson(const ChassisSnapshot& c) {
    return json{{"enabled", c.enabled},
                {"power", toJsonName(c.power)},
                {"requested", toJsonName(c.requested)},
                {"bmc_access", toJsonName(c.access)},
                {"last_error", c.lastError},
                {"last_error_unix_ms", c.lastErrorUnixMs},
                {"fail_safe", c.failSafe},
                {"fan_profile", c.fanProfile},
                {"bmc_status", bmcChassisStatusJson(c.statusBytes)}};
}

json powerStatusJson(const ChassisSnapshot& c) {
    return json{{"power", toJsonName(c.power)}, {"requested", toJsonName(c.requested)}};
}

json sensorListJson(const ChassisSnapshot& c) {
    json list = json::array();
    for (const auto& s : c.sensors) {
        list.push_back(toJson(s));
    }
    return json{{"sensors", std::move(list)}};
}

json fanStatusJson(const ChassisSnapshot& c) {
    json fans = json::array();
    for (const auto& f : c.fans) {
        fans.push_back(toJson(f));
    }
    return json{{"mode", toJsonName(overallFanMode(c))},
                {"fail_safe", c.failSafe},
                {"profile", c.fanProfile},
                {"fans", std::move(fans)}};
}

json toJson(const ChassisSnapshot& c) {
    json j = chassisStatusJson(c);
    j["sensors"] = sensorListJson(c)["sensors"];
    j["fans"] = fanStatusJson(c)["fans"];
    return j;
}

json journalJson(const Snapshot& s) {
    json records = json::array();
    for (const auto& r : s.journal) {
        records.push_back(toJson(r));
    }
    return json{{"switchover_count", s.switchoverCount}, {"records", std::move(records)}};
}

json toJson(const Snapshot& s) {
    json paths = json::array();
    PathCounters total;
    for (const auto& p : s.paths) {
        paths.push_back(toJson(p));
        total.framesSent += p.counters.framesSent;
        total.framesReceived += p.counters.framesReceived;
        total.missed += p.counters.missed;
        total.malformed += p.counters.malformed;
        total.authFailures += p.counters.authFailures;
        total.replayed += p.counters.replayed;
        total.stale += p.counters.stale;
        total.sendErrors += p.counters.sendErrors;
        total.ioErrors += p.counters.ioErrors;
        total.garbageBytes += p.counters.garbageBytes;
        total.foreign += p.counters.foreign;
    }
    json peer = toJson(s.peer);
    peer["alive"] = s.peerAlive;
    return json{{"generation", s.generation},
                {"role", snakeCase(toString(s.local.role))},
                {"node_id", s.local.nodeId},
                {"slot", s.local.slot},
                {"bmc_ok", s.local.bmcOk},
                {"epoch", s.epoch},
                {"unconfirmed", s.unconfirmed},
                {"state_dir_writable", s.stateDirWritable},
                {"state_dir_error", s.stateDirError},
                {"redundancy", snakeCase(toString(s.redundancy))},
                {"preemption", s.preemption},
                {"switchover_count", s.switchoverCount},
                {"last_switchover",
                 {{"reason", snakeCase(toString(s.lastSwitchoverReason))},
                  {"unix_ms", s.lastSwitchoverUnixMs}}},
                {"local", toJson(s.local)},
                {"peer", std::move(peer)},
                {"paths", std::move(paths)},
                {"counters", toJson(total)}};
}

json toResponse(const ControlResult& r, json result) {
    if (r.status != ControlStatus::Ok) {
        return controlError(control::responseCode(r.status), r.message);
    }
    if (!result.is_object()) {
        result = json{{"value", std::move(result)}};
    }
    if (!r.message.empty()) {
        result["message"] = r.message;
    }
    return controlOk(std::move(result));
}

nlohmann::json addressesJson(const std::vector<FloatAddrStatus>& a) {
    nlohmann::json out = nlohmann::json::array();
    for (const FloatAddrStatus& s : a) {
        out.push_back({{"address", s.address},
                       {"prefix", s.prefix},
                       {"interface", s.interfaceName},
                       {"held", s.held},
                       {"last_error", s.lastError},
                       {"errors", s.errors},
                       {"announced", s.announced}});
    }
    return out;
}

json switchoverGuardJson(const SwitchoverGuardState& g) {
    return {{"limit", g.limit},
            {"window_ms", g.windowMs},
            {"holddown_ms", g.holdDownMs},
            {"recent", g.recent},
            {"holding", g.holding},
            {"holddown_left_ms", g.holdDownLeftMs},
            {"holddowns", g.holdDowns},
            {"refused", g.refused}};
}

} // namespace hs

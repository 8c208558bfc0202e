#include "metrics/metrics_text.hpp"

#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <vector>

namespace hs::metrics {

void SwitchoverTally::add(const Snapshot& snap) {
    for (const SwitchoverRecord& r : snap.journal) {
        if (r.index > lastIndex_) {
            ++counts_[r.reason];
            lastIndex_ = r.index;
        }
    }
}

std::string escapeLabel(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string sampleValue(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == std::trunc(v) && std::fabs(v) < 1e15) {
        return fmt::format("{}", static_cast<std::int64_t>(v));
    }
    return fmt::format("{}", v); // shortest round-trip representation
}

double ipmiSensorState(SensorState s) {
    switch (s) {
    case SensorState::Nominal:
        return 0;
    case SensorState::Warning:
        return 1;
    case SensorState::Critical:
        return 2;
    case SensorState::Unknown:
    case SensorState::Unavailable:
        break;
    }
    return std::numeric_limits<double>::quiet_NaN();
}

namespace {

struct Sample {
    std::string labels; // `a="x",b="y"` (already escaped), or empty
    double value = 0;
};

class Writer {
  public:
    void family(std::string_view name, std::string_view type, std::string_view help,
                const std::vector<Sample>& samples) {
        if (samples.empty()) {
            return; // a family without samples says nothing (and promtool would object)
        }
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
        for (const Sample& s : samples) {
            if (s.labels.empty()) {
                out_ += fmt::format("{} {}\n", name, sampleValue(s.value));
            } else {
                out_ += fmt::format("{}{{{}}} {}\n", name, s.labels, sampleValue(s.value));
            }
        }
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

std::string label(std::string_view k, std::string_view v) {
    return fmt::format("{}=\"{}\"", k, escapeLabel(v));
}

std::string sensorLabels(const SensorSnapshot& s, bool withType) {
    std::string l = label("id", std::to_string(s.index)) + "," + label("name", s.name);
    if (withType) {
        l += "," + label("type", s.type);
    }
    return l;
}

// The IPMI exporter's families by unit; everything else is ipmi_sensor_value/state{type}.
struct Kind {
    const char* unit;
    const char* value;
    const char* state;
    const char* help;
};
constexpr Kind kKinds[] = {
    {"degrees C", "ipmi_temperature_celsius", "ipmi_temperature_state", "Temperature reading"},
    {"RPM", "ipmi_fan_speed_rpm", "ipmi_fan_speed_state", "Fan speed"},
    {"V", "ipmi_voltage_volts", "ipmi_voltage_state", "Voltage reading"},
    {"A", "ipmi_current_amperes", "ipmi_current_state", "Current reading"},
    {"W", "ipmi_power_watts", "ipmi_power_state", "Power reading"},
};

void addChassis(Writer& w, const ChassisSnapshot& c) {
    if (!c.enabled) {
        return;
    }
    w.family("ipmi_up", "gauge",
             "1 if the data of this collector could be read from the BMC, 0 otherwise.",
             {{label("collector", "ipmi"), c.access == BmcAccess::Ok ? 1.0 : 0.0},
              {label("collector", "chassis"),
               c.access == BmcAccess::Ok && c.power != PowerState::Unknown ? 1.0 : 0.0}});
    if (c.power != PowerState::Unknown) {
        w.family("ipmi_chassis_power_state", "gauge",
                 "Current power state of the chassis (1 on, 0 otherwise).",
                 {{"", c.power == PowerState::On ? 1.0 : 0.0}});
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (const Kind& k : kKinds) {
        std::vector<Sample> values;
        std::vector<Sample> states;
        for (const SensorSnapshot& s : c.sensors) {
            if (s.unit != k.unit) {
                continue;
            }
            values.push_back({sensorLabels(s, false), s.valueValid ? s.value : nan});
            states.push_back({sensorLabels(s, false), ipmiSensorState(s.state)});
        }
        w.family(k.value, "gauge", fmt::format("{} of the BMC's sensor.", k.help), values);
        w.family(k.state, "gauge",
                 "Reported state of the sensor (0 nominal, 1 warning, 2 critical).", states);
    }
    std::vector<Sample> values;
    std::vector<Sample> states;
    for (const SensorSnapshot& s : c.sensors) {
        bool known = false;
        for (const Kind& k : kKinds) {
            known = known || s.unit == k.unit;
        }
        if (known) {
            continue;
        }
        values.push_back({sensorLabels(s, true), s.valueValid ? s.value : nan});
        states.push_back({sensorLabels(s, true), ipmiSensorState(s.state)});
    }
    w.family("ipmi_sensor_value", "gauge", "Generic data read from the BMC's sensor.", values);
    w.family("ipmi_sensor_state", "gauge",
             "Reported state of the sensor (0 nominal, 1 warning, 2 critical).", states);
}

} // namespace

std::string renderMetrics(const Snapshot& s, const SwitchoverTally& tally) {
    Writer w;
    std::vector<Sample> roles;
    for (Role r : {Role::Init, Role::Standby, Role::Active, Role::Fault, Role::Stopped}) {
        roles.push_back({label("role", snakeCase(toString(r))), s.local.role == r ? 1.0 : 0.0});
    }
    w.family("hotstandby_role", "gauge", "The local module's role (1 for the current role).",
             roles);
    std::vector<Sample> peerRoles;
    for (Role r : {Role::Init, Role::Standby, Role::Active, Role::Fault, Role::Stopped}) {
        peerRoles.push_back(
            {label("role", snakeCase(toString(r))), s.peerAlive && s.peer.role == r ? 1.0 : 0.0});
    }
    w.family("hotstandby_peer_role", "gauge",
             "The peer's role as last heard (1 for its role; all 0 while it is not heard).",
             peerRoles);
    w.family("hotstandby_peer_alive", "gauge", "1 while the peer is heard on some path.",
             {{"", s.peerAlive ? 1.0 : 0.0}});
    w.family("hotstandby_epoch", "gauge", "The pair's epoch (raised by every takeover).",
             {{"", static_cast<double>(s.epoch)}});
    std::vector<Sample> sw;
    for (const auto& [reason, n] : tally.counts()) {
        sw.push_back({label("reason", snakeCase(toString(reason))), static_cast<double>(n)});
    }
    w.family("hotstandby_switchovers_total", "counter",
             "Role changes seen by this process, by reason (from the switchover journal).", sw);
    std::vector<Sample> up;
    std::vector<Sample> rtt;
    std::vector<Sample> frames;
    std::vector<Sample> missed;
    for (const PathSnapshot& p : s.paths) {
        std::string l = label("path", p.name);
        up.push_back({l, p.state == PathState::Up ? 1.0 : 0.0});
        rtt.push_back({l, p.rttUs / 1e6});
        frames.push_back(
            {l + "," + label("direction", "sent"), static_cast<double>(p.counters.framesSent)});
        frames.push_back({l + "," + label("direction", "received"),
                          static_cast<double>(p.counters.framesReceived)});
        missed.push_back({l, static_cast<double>(p.counters.missed)});
    }
    w.family("hotstandby_path_up", "gauge", "1 while the heartbeat path is up.", up);
    w.family("hotstandby_path_rtt_seconds", "gauge", "Last measured round-trip time of the path.",
             rtt);
    w.family("hotstandby_path_frames_total", "counter", "Heartbeat frames sent and accepted.",
             frames);
    w.family("hotstandby_path_missed_total", "counter",
             "Heartbeat intervals that passed without a frame.", missed);
    const auto& r = s.replication;
    w.family("hotstandby_replication_writer", "gauge",
             "1 while this node writes the replicated store (it drives the chassis).",
             {{"", r.writer ? 1.0 : 0.0}});
    w.family("hotstandby_replication_standby_hot", "gauge",
             "1 while the standby's mirror holds everything acknowledged (writer: its standby; "
             "mirror: itself).",
             {{"", r.standbyHot ? 1.0 : 0.0}});
    w.family("hotstandby_replication_lag_records", "gauge",
             "Ordered records the standby lacks (writer) or this mirror lacks.",
             {{"", static_cast<double>(r.lagRecords)}});
    w.family("hotstandby_replication_degraded", "gauge",
             "1 while an acknowledged change timed out waiting for the standby.",
             {{"", r.degraded ? 1.0 : 0.0}});
    addChassis(w, s.chassis);
    return w.take();
}

} // namespace hs::metrics

// The Prometheus text rendering (metrics/metrics_text.hpp) and the [metrics] table.
#include "base/config_error.hpp"
#include "metrics/metrics_config.hpp"
#include "metrics/metrics_text.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <limits>
#include <set>
#include <sstream>

namespace hs::metrics {
namespace {

Snapshot makeSnap() {
    Snapshot s;
    s.local.role = Role::Active;
    s.peer.role = Role::Standby;
    s.peerAlive = true;
    s.epoch = 7;
    PathSnapshot p;
    p.index = 1;
    p.name = "net0";
    p.state = PathState::Up;
    p.rttUs = 250;
    p.counters.framesSent = 100;
    p.counters.framesReceived = 98;
    p.counters.missed = 3;
    s.paths.push_back(p);
    s.chassis.enabled = true;
    s.chassis.access = BmcAccess::Ok;
    s.chassis.power = PowerState::On;
    SensorSnapshot t;
    t.index = 1;
    t.name = "CPU Temp";
    t.type = "Temperature";
    t.unit = "degrees C";
    t.value = 35;
    t.valueValid = true;
    t.state = SensorState::Nominal;
    s.chassis.sensors.push_back(t);
    SensorSnapshot v = t;
    v.index = 2;
    v.name = "12V";
    v.type = "Voltage";
    v.unit = "V";
    v.value = 12.06;
    v.state = SensorState::Warning;
    s.chassis.sensors.push_back(v);
    SensorSnapshot f = t;
    f.index = 3;
    f.name = "FAN\"1\"";
    f.type = "Fan";
    f.unit = "RPM";
    f.valueValid = false;
    f.state = SensorState::Unavailable;
    s.chassis.sensors.push_back(f);
    SensorSnapshot o = t;
    o.index = 4;
    o.name = "Humidity";
    o.type = "type 0x30";
    o.unit = "%";
    o.value = 40;
    s.chassis.sensors.push_back(o);
    return s;
}

bool hasLine(const std::string& text, const std::string& line) {
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        if (l == line) {
            return true;
        }
    }
    return false;
}

TEST(MetricsText, Escaping) {
    EXPECT_EQ(escapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    EXPECT_EQ(sampleValue(3), "3");
    EXPECT_EQ(sampleValue(-2), "-2");
    EXPECT_EQ(sampleValue(12.06), "12.06");
    EXPECT_EQ(sampleValue(0.00025), "0.00025");
    EXPECT_EQ(sampleValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
    EXPECT_EQ(sampleValue(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(ipmiSensorState(SensorState::Nominal), 0);
    EXPECT_EQ(ipmiSensorState(SensorState::Warning), 1);
    EXPECT_EQ(ipmiSensorState(SensorState::Critical), 2);
    EXPECT_TRUE(std::isnan(ipmiSensorState(SensorState::Unavailable)));
}

TEST(MetricsText, PairAndChassis) {
    SwitchoverTally tally;
    std::string t = renderMetrics(makeSnap(), tally);
    EXPECT_TRUE(hasLine(t, "hotstandby_role{role=\"active\"} 1")) << t;
    EXPECT_TRUE(hasLine(t, "hotstandby_role{role=\"standby\"} 0"));
    EXPECT_TRUE(hasLine(t, "hotstandby_peer_role{role=\"standby\"} 1"));
    EXPECT_TRUE(hasLine(t, "hotstandby_epoch 7"));
    EXPECT_TRUE(hasLine(t, "hotstandby_path_up{path=\"net0\"} 1"));
    EXPECT_TRUE(hasLine(t, "hotstandby_path_rtt_seconds{path=\"net0\"} 0.00025"));
    EXPECT_TRUE(hasLine(t, "hotstandby_path_frames_total{path=\"net0\",direction=\"sent\"} 100"));
    EXPECT_TRUE(
        hasLine(t, "hotstandby_path_frames_total{path=\"net0\",direction=\"received\"} 98"));
    EXPECT_TRUE(hasLine(t, "hotstandby_path_missed_total{path=\"net0\"} 3"));
    EXPECT_TRUE(hasLine(t, "ipmi_chassis_power_state 1"));
    EXPECT_TRUE(hasLine(t, "ipmi_up{collector=\"ipmi\"} 1"));
    EXPECT_TRUE(hasLine(t, "ipmi_temperature_celsius{id=\"1\",name=\"CPU Temp\"} 35"));
    EXPECT_TRUE(hasLine(t, "ipmi_temperature_state{id=\"1\",name=\"CPU Temp\"} 0"));
    EXPECT_TRUE(hasLine(t, "ipmi_voltage_volts{id=\"2\",name=\"12V\"} 12.06"));
    EXPECT_TRUE(hasLine(t, "ipmi_voltage_state{id=\"2\",name=\"12V\"} 1"));
    EXPECT_TRUE(hasLine(t, "ipmi_fan_speed_rpm{id=\"3\",name=\"FAN\\\"1\\\"\"} NaN"));
    EXPECT_TRUE(hasLine(t, "ipmi_fan_speed_state{id=\"3\",name=\"FAN\\\"1\\\"\"} NaN"));
    EXPECT_TRUE(hasLine(t, "ipmi_sensor_value{id=\"4\",name=\"Humidity\",type=\"type 0x30\"} 40"));
    // No switchover yet: no family without samples; no current or power families either.
    EXPECT_EQ(t.find("hotstandby_switchovers_total"), std::string::npos);
    EXPECT_EQ(t.find("ipmi_current_amperes"), std::string::npos);
    // Every family has one HELP and one TYPE line, before its samples, each once.
    std::istringstream in(t);
    std::set<std::string> typed;
    std::string family;
    for (std::string l; std::getline(in, l);) {
        if (l.rfind("# TYPE ", 0) == 0) {
            std::string name = l.substr(7, l.find(' ', 7) - 7);
            EXPECT_TRUE(typed.insert(name).second) << "TYPE twice: " << name;
            family = name;
        } else if (l.rfind('#', 0) != 0) {
            std::string name = l.substr(0, l.find_first_of("{ "));
            EXPECT_EQ(name, family) << l;
        }
    }
}

TEST(MetricsText, NoChassisNoIpmiFamilies) {
    Snapshot s = makeSnap();
    s.chassis = ChassisSnapshot{};
    std::string t = renderMetrics(s, SwitchoverTally{});
    EXPECT_EQ(t.find("ipmi_"), std::string::npos);
}

TEST(MetricsText, SwitchoversCountedOnceByReason) {
    Snapshot s = makeSnap();
    SwitchoverTally tally;
    s.journal.push_back({1, 0, SwitchoverReason::InitPreferred, Role::Init, Role::Active, 1});
    tally.add(s);
    tally.add(s); // the same record twice counts once
    s.journal.push_back({2, 0, SwitchoverReason::Manual, Role::Active, Role::Standby, 2});
    s.journal.push_back({3, 0, SwitchoverReason::Manual, Role::Standby, Role::Active, 3});
    tally.add(s);
    std::string t = renderMetrics(s, tally);
    EXPECT_TRUE(hasLine(t, "hotstandby_switchovers_total{reason=\"manual\"} 2")) << t;
    EXPECT_TRUE(hasLine(t, "hotstandby_switchovers_total{reason=\"init_preferred\"} 1"));
    EXPECT_TRUE(hasLine(t, "# TYPE hotstandby_switchovers_total counter"));
    // A bounded journal that dropped old records still counts only new ones.
    s.journal.erase(s.journal.begin());
    s.journal.push_back({4, 0, SwitchoverReason::PeerLost, Role::Standby, Role::Active, 4});
    tally.add(s);
    EXPECT_EQ(tally.counts().at(SwitchoverReason::Manual), 2u);
    EXPECT_EQ(tally.counts().at(SwitchoverReason::PeerLost), 1u);
}

toml::table parse(const std::string& text) {
    return toml::parse(text);
}

TEST(MetricsConfig, DefaultsAndChecks) {
    MetricsConfig d = parseMetricsConfig(toml::table{}, "x.toml");
    EXPECT_FALSE(d.enabled);
    EXPECT_EQ(d.listen, "127.0.0.1");
    toml::table doc = parse("[metrics]\nenabled = true\nlisten = \"::1\"\nport = 9100\n"
                            "max_connections = 8\nrequest_timeout_ms = 500\n");
    MetricsConfig c = parseMetricsConfig(*doc["metrics"].as_table(), "t.toml");
    EXPECT_TRUE(c.enabled);
    EXPECT_EQ(c.listen, "::1");
    EXPECT_EQ(c.port, 9100);
    EXPECT_EQ(c.maxConnections, 8u);
    EXPECT_EQ(c.requestTimeout.count(), 500);
    for (const char* bad :
         {"[metrics]\nlisten = \"localhost\"\n", "[metrics]\nport = 0\n",
          "[metrics]\nmax_connections = 0\n", "[metrics]\nenabled = 1\n", "[metrics]\nfoo = 1\n"}) {
        toml::table t = parse(bad);
        EXPECT_THROW(parseMetricsConfig(*t["metrics"].as_table(), "t.toml"), ConfigError) << bad;
    }
}

} // namespace
} // namespace hs::metrics

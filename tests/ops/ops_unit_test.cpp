// The pure parts of the operations features: log fields, journal fields, the reload diff and the
// [hooks] checks.
#include "base/config_error.hpp"
#include "base/log.hpp"
#include "daemon/hooks.hpp"
#include "daemon/journal.hpp"
#include "daemon/key_ring.hpp"
#include "daemon/reload.hpp"
#include "daemon/service_status.hpp"
#include "daemon/systemd_notify.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <gtest/gtest.h>
#include <memory>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace hs {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(LogFields, KeyValuesQuotedAndTrailingPunctuation) {
    EXPECT_EQ(
        log::fields("chassis event=x role=ACTIVE path=\"a b\" n=5: some text k=v"),
        (Fields{{"event", "x"}, {"role", "ACTIVE"}, {"path", "a b"}, {"n", "5"}, {"k", "v"}}));
    EXPECT_EQ(log::fields("no fields here, a=b=c x= y"), (Fields{{"a", "b=c"}, {"x", ""}}));
    EXPECT_TRUE(log::fields("Key=1 9x=2").empty());
}

TEST(LogLevels, SyslogPriorities) {
    EXPECT_EQ(log::syslogPriority(log::Level::Error), 3);
    EXPECT_EQ(log::syslogPriority(log::Level::Warn), 4);
    EXPECT_EQ(log::syslogPriority(log::Level::Info), 6);
    EXPECT_EQ(log::syslogPriority(log::Level::Debug), 7);
}

TEST(JournalFields, UpperCaseReservedPrefixed) {
    auto f = journalFields(log::Level::Warn, "/src/core/node_core.cpp", 12,
                           "event=path_down path=net0 priority=9 message=m _x=1");
    std::vector<std::string> want = {"MESSAGE=event=path_down path=net0 priority=9 message=m _x=1",
                                     "PRIORITY=4",
                                     "SYSLOG_IDENTIFIER=hotstandbyd",
                                     "CODE_FILE=core/node_core.cpp",
                                     "CODE_LINE=12",
                                     "EVENT=path_down",
                                     "PATH=net0",
                                     "HS_PRIORITY=9",
                                     "HS_MESSAGE=m",
                                     "X=1"};
    EXPECT_EQ(f, want);
}

TEST(ServiceStatus, Text) {
    EXPECT_EQ(serviceStatus(Role::Active, false, 7, Redundancy::Redundant, Role::Standby),
              "role=ACTIVE epoch=7 redundancy=redundant peer=STANDBY");
    EXPECT_EQ(serviceStatus(Role::Active, true, 7, Redundancy::NotRedundant, std::nullopt),
              "role=ACTIVE unconfirmed epoch=7 redundancy=notRedundant peer=none");
}

// The service manager's notify socket, bound, never read, its queue filled: a notify must come
// back at once (dropped and counted), where libsystemd's sd_notify() would wait for a reader.
TEST(SystemdNotify, FullSocketDropsInsteadOfBlocking) {
    std::string path = (std::filesystem::temp_directory_path() /
                        ("hs-notify-" + std::to_string(::getpid()) + ".sock"))
                           .string();
    ::unlink(path.c_str());
    int rx = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(rx, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    ASSERT_EQ(::bind(rx, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::setenv("NOTIFY_SOCKET", path.c_str(), 1), 0);
    EXPECT_TRUE(notifySystemd("READY=1")); // the queue has room: sent
    // Fill the receiving queue from sockets of the test's own (each sender also has a send
    // buffer of its own, so one is not enough): full once a fresh socket cannot send at all.
    std::vector<int> fillers;
    for (int i = 0; i < 64; ++i) {
        int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ASSERT_GE(fd, 0);
        fillers.push_back(fd);
        int n = 0;
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
        while (::sendto(fd, "X=1", 3, 0, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) ==
               3) {
            ++n;
        }
        ASSERT_EQ(errno, EAGAIN);
        if (n == 0) {
            break;
        }
    }
    ASSERT_LT(fillers.size(), 64U) << "the notify socket's queue never filled";
    std::uint64_t before = notifyDropped();
    // Run where a blocking send could not hang the test binary: the result must come back.
    // (a detached thread: a blocked one is left behind, the test fails instead of hanging).
    auto done = std::make_shared<std::promise<bool>>();
    std::future<bool> res = done->get_future();
    std::thread([done] {
        ServiceStatus st;
        st.update("role=ACTIVE epoch=1 redundancy=notRedundant peer=none");
        done->set_value(notifySystemd("WATCHDOG=1"));
    }).detach();
    ASSERT_EQ(res.wait_for(std::chrono::seconds(30)), std::future_status::ready)
        << "a notify to a full socket blocked";
    EXPECT_FALSE(res.get());
    EXPECT_EQ(notifyDropped(), before + 2); // STATUS= and WATCHDOG=1, each dropped and counted
    char buf[256];
    while (::recv(rx, buf, sizeof(buf), MSG_DONTWAIT) > 0) { // the manager reads again
    }
    EXPECT_TRUE(notifySystemd("WATCHDOG=1")) << "watchdog pings get through again";
    for (int fd : fillers) {
        ::close(fd);
    }
    ::close(rx);
    ::unlink(path.c_str());
    ::unsetenv("NOTIFY_SOCKET");
}

// The journal's native protocol: plain fields as NAME=value, a value with a newline with its
// length (le64), as journald parses them.
TEST(JournalNative, Datagram) {
    std::string d = journalDatagram({"MESSAGE=a b", "PRIORITY=6", "X=1\n2"});
    std::string want = "MESSAGE=a b\nPRIORITY=6\nX\n";
    want += std::string("\x03\0\0\0\0\0\0\0", 8);
    want += "1\n2\n";
    EXPECT_EQ(d, want);
}

// journald's socket, bound, never read, its queue filled: a log line must come back at once
// (dropped and counted), where sd_journal_sendv() would wait for journald to read. Once journald
// reads again, the next line is preceded by event=log_dropped with the count.
TEST(JournalNative, FullSocketDropsInsteadOfBlocking) {
    std::string path = (std::filesystem::temp_directory_path() /
                        ("hs-journal-" + std::to_string(::getpid()) + ".sock"))
                           .string();
    ::unlink(path.c_str());
    int rx = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(rx, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    ASSERT_EQ(::bind(rx, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_TRUE(openJournal(path));
    char buf[65536];
    ASSERT_TRUE(journalSink(log::Level::Info, "daemon/x.cpp", 1, "event=first"));
    ssize_t n = ::recv(rx, buf, sizeof(buf), MSG_DONTWAIT);
    ASSERT_GT(n, 0);
    EXPECT_NE(std::string(buf, static_cast<std::size_t>(n)).find("EVENT=first\n"),
              std::string::npos);
    std::vector<int> fillers;
    for (int i = 0; i < 64; ++i) {
        int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ASSERT_GE(fd, 0);
        fillers.push_back(fd);
        int sent = 0;
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
        while (::sendto(fd, "X=1", 3, 0, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) ==
               3) {
            ++sent;
        }
        ASSERT_EQ(errno, EAGAIN);
        if (sent == 0) {
            break;
        }
    }
    ASSERT_LT(fillers.size(), 64U) << "the journal socket's queue never filled";
    std::uint64_t before = journalDropped();
    auto done = std::make_shared<std::promise<bool>>();
    std::future<bool> res = done->get_future();
    std::thread([done] {
        bool all = true;
        for (int i = 0; i < 3; ++i) {
            all = journalSink(log::Level::Warn, "daemon/x.cpp", 2, "event=lost") && all;
        }
        done->set_value(all);
    }).detach();
    ASSERT_EQ(res.wait_for(std::chrono::seconds(30)), std::future_status::ready)
        << "a log line to a full journal socket blocked";
    EXPECT_TRUE(res.get()); // taken care of (dropped), not handed to stderr
    EXPECT_EQ(journalDropped(), before + 3);
    while (::recv(rx, buf, sizeof(buf), MSG_DONTWAIT) > 0) { // journald reads again
    }
    ASSERT_TRUE(journalSink(log::Level::Info, "daemon/x.cpp", 3, "event=back"));
    n = ::recv(rx, buf, sizeof(buf), MSG_DONTWAIT);
    ASSERT_GT(n, 0);
    std::string note(buf, static_cast<std::size_t>(n));
    EXPECT_NE(note.find("EVENT=log_dropped\n"), std::string::npos) << note;
    EXPECT_NE(note.find("DROPPED=3\n"), std::string::npos) << note;
    EXPECT_NE(note.find("PRIORITY=4\n"), std::string::npos) << note;
    n = ::recv(rx, buf, sizeof(buf), MSG_DONTWAIT);
    ASSERT_GT(n, 0);
    EXPECT_NE(std::string(buf, static_cast<std::size_t>(n)).find("EVENT=back\n"),
              std::string::npos);
    for (int fd : fillers) {
        ::close(fd);
    }
    ::close(rx);
    ::unlink(path.c_str());
}

hb::Key testKey(std::uint8_t fill) {
    return hb::Key(std::vector<std::uint8_t>(32, fill)).forCluster("pair");
}

std::vector<std::uint8_t> frameWith(std::uint8_t fill, std::uint64_t seq) {
    hb::Frame f;
    f.nodeId = 2;
    f.role = Role::Standby;
    f.seq = seq;
    return hb::encode(f, testKey(fill));
}

// Key rotation, the two modules reloaded in either order: A (this ring) reloads first, B later.
TEST(KeyRing, RotationAcceptsBothThenSwitchesWithoutRejectingThePeer) {
    using std::chrono::seconds;
    const TimePoint t0{};
    KeyRing a(testKey(1));
    hb::Frame f;
    EXPECT_EQ(a.decode(frameWith(1, 1), f, t0), hb::DecodeError::Ok);
    EXPECT_EQ(a.decode(frameWith(2, 2), f, t0), hb::DecodeError::AuthFailure);
    // A reloads with key 2 (grace 10 s): accepts both, still sends with key 1 (B knows only 1).
    a.rotate(testKey(2), t0, seconds(10));
    EXPECT_EQ(a.sendKey(t0 + seconds(1)).fingerprint(), testKey(1).fingerprint());
    EXPECT_EQ(a.decode(frameWith(1, 3), f, t0 + seconds(2)), hb::DecodeError::Ok);
    EXPECT_EQ(f.seq, 3U);
    EXPECT_EQ(a.decode(frameWith(3, 4), f, t0 + seconds(2)), hb::DecodeError::AuthFailure);
    EXPECT_EQ(a.acceptedWithPrevious(), 1U);
    // Grace over, the peer not yet heard with key 2: send with 2, still accept 1.
    EXPECT_EQ(a.sendKey(t0 + seconds(10)).fingerprint(), testKey(2).fingerprint());
    EXPECT_TRUE(a.rotating());
    EXPECT_EQ(a.decode(frameWith(1, 5), f, t0 + seconds(11)), hb::DecodeError::Ok);
    // The peer sends with key 2: the old key goes.
    EXPECT_EQ(a.decode(frameWith(2, 6), f, t0 + seconds(11)), hb::DecodeError::Ok);
    EXPECT_TRUE(a.peerHeardWithNew());
    EXPECT_FALSE(a.rotating());
    EXPECT_EQ(a.decode(frameWith(1, 7), f, t0 + seconds(12)), hb::DecodeError::AuthFailure);
}

TEST(KeyRing, PeerHeardWithNewKeyFirstSwitchesAtOnceKeepsOldUntilGraceEnds) {
    using std::chrono::seconds;
    const TimePoint t0{};
    KeyRing b(testKey(1));
    b.rotate(testKey(2), t0, seconds(10));
    hb::Frame f;
    EXPECT_EQ(b.decode(frameWith(2, 1), f, t0 + seconds(1)), hb::DecodeError::Ok);
    EXPECT_EQ(b.sendKey(t0 + seconds(1)).fingerprint(), testKey(2).fingerprint());
    // Within the grace a late frame with the old key (another path) is still accepted.
    EXPECT_EQ(b.decode(frameWith(1, 2), f, t0 + seconds(2)), hb::DecodeError::Ok);
    EXPECT_TRUE(b.rotating());
    EXPECT_EQ(b.sendKey(t0 + seconds(10)).fingerprint(), testKey(2).fingerprint());
    EXPECT_FALSE(b.rotating());
    EXPECT_EQ(b.decode(frameWith(1, 3), f, t0 + seconds(11)), hb::DecodeError::AuthFailure);
}

TEST(ChassisHookEnv, NamesTheEventAndItsObject) {
    ChassisSnapshot c;
    SensorSnapshot s;
    s.index = 3;
    s.name = "CPU Temp";
    s.state = SensorState::Critical;
    c.sensors.push_back(s);
    FanSnapshot fan;
    fan.zone = 1;
    fan.name = "FAN2";
    c.fans.push_back(fan);
    auto get = [](const HookEnv& env, const std::string& k) {
        for (const auto& [key, v] : env) {
            if (key == k) {
                return v;
            }
        }
        return std::string("<none>");
    };
    Event e;
    e.type = EventType::ChassisPowerChanged;
    e.power = PowerState::Off;
    e.text = "Chassis Power is off";
    HookEnv env = chassisHookEnv(e, &c);
    EXPECT_EQ(get(env, "HS_EVENT"), "power_changed");
    EXPECT_EQ(get(env, "HS_POWER"), "off");
    EXPECT_EQ(get(env, "HS_DETAIL"), "Chassis Power is off");
    e = Event{};
    e.type = EventType::SensorThreshold;
    e.objectIndex = 3;
    e.value = 91.5;
    env = chassisHookEnv(e, &c);
    EXPECT_EQ(get(env, "HS_EVENT"), "sensor_threshold");
    EXPECT_EQ(get(env, "HS_SENSOR"), "CPU Temp");
    EXPECT_EQ(get(env, "HS_SENSOR_STATE"), "critical");
    EXPECT_EQ(get(env, "HS_SENSOR_INDEX"), "3");
    EXPECT_EQ(get(env, "HS_VALUE"), "91.5");
    e = Event{};
    e.type = EventType::FanFailure;
    e.objectIndex = 2; // zone + 1
    env = chassisHookEnv(e, &c);
    EXPECT_EQ(get(env, "HS_EVENT"), "fan_failure");
    EXPECT_EQ(get(env, "HS_FAN"), "FAN2");
    EXPECT_EQ(get(env, "HS_FAN_ZONE"), "1");
    e.type = EventType::BmcUnreachable;
    EXPECT_EQ(get(chassisHookEnv(e, nullptr), "HS_EVENT"), "bmc_unreachable");
    e.type = EventType::BmcRecovered;
    EXPECT_EQ(get(chassisHookEnv(e, nullptr), "HS_EVENT"), "bmc_recovered");
    e.type = EventType::PathDown;
    EXPECT_TRUE(chassisHookEnv(e, &c).empty());
}

TEST(ReloadDiff, LiveAndRestartOnly) {
    auto a = toml::parse(R"(
[node]
id = 1
log_level = "info"
[heartbeat]
preempt = false
interval_ms = 20
[[path]]
name = "net0"
)");
    auto b = toml::parse(R"(
[node]
id = 2
log_level = "debug"
[heartbeat]
preempt = true
interval_ms = 20
[[path]]
name = "net1"
[hooks]
on_active = "/bin/true"
[chassis]
host = "x"
)");
    ReloadDiff d = diffConfig(a, b);
    EXPECT_EQ(d.live, (std::vector<std::string>{"heartbeat.preempt", "hooks", "node.log_level"}));
    EXPECT_EQ(d.restartOnly, (std::vector<std::string>{"chassis", "node.id", "path"}));
    EXPECT_TRUE(diffConfig(a, a).live.empty());
    EXPECT_TRUE(diffConfig(a, a).restartOnly.empty());
}

// The chassis and SNMP keys a reload applies live, and those it refuses: a zone's curve is named
// with its index; a zone added or another zone id, the BMC and snmp.enabled need a restart.
TEST(ReloadDiff, ChassisAndSnmpKeys) {
    auto a = toml::parse(R"(
[chassis]
host = "127.0.0.1"
sensor_poll_ms = 400
fan_profile = "supermicro"
[[chassis.zone]]
id = 0
curve = [[30, 20], [70, 100]]
[[chassis.zone]]
id = 1
curve = [[20, 30], [60, 70]]
[snmp]
agentx_socket = "/a"
notify_queue = 10
)");
    auto b = toml::parse(R"(
[chassis]
host = "127.0.0.1"
sensor_poll_ms = 1000
status_poll_ms = 500
failsafe_duty_pct = 80
fan_profile = "supermicro"
[[chassis.zone]]
id = 0
curve = [[30, 20], [70, 100]]
hysteresis_c = 2
[[chassis.zone]]
id = 1
curve = [[20, 40], [60, 80]]
[snmp]
agentx_socket = "/a"
notify_queue = 20
log_level = "warn"
)");
    ReloadDiff d = diffConfig(a, b);
    EXPECT_EQ(d.live, (std::vector<std::string>{
                          "chassis.failsafe_duty_pct", "chassis.sensor_poll_ms",
                          "chassis.status_poll_ms", "chassis.zone[0].hysteresis_c",
                          "chassis.zone[1].curve", "snmp.log_level", "snmp.notify_queue"}));
    EXPECT_TRUE(d.restartOnly.empty());

    auto c = toml::parse(R"(
[chassis]
host = "127.0.0.2"
sensor_poll_ms = 400
fan_profile = "dell"
[[chassis.zone]]
id = 2
curve = [[30, 20], [70, 100]]
[[chassis.zone]]
id = 1
curve = [[20, 30], [60, 70]]
[snmp]
enabled = false
agentx_socket = "/b"
notify_queue = 10
)");
    d = diffConfig(a, c);
    EXPECT_EQ(d.live, std::vector<std::string>{"snmp.agentx_socket"});
    EXPECT_EQ(d.restartOnly, (std::vector<std::string>{"chassis.fan_profile", "chassis.host",
                                                       "chassis.zone[0].id", "snmp.enabled"}));
    auto e = toml::parse(R"(
[chassis]
host = "127.0.0.1"
sensor_poll_ms = 400
fan_profile = "supermicro"
[[chassis.zone]]
id = 0
curve = [[30, 20], [70, 100]]
[snmp]
agentx_socket = "/a"
notify_queue = 10
)");
    EXPECT_EQ(diffConfig(a, e).restartOnly, std::vector<std::string>{"chassis.zone"});
    EXPECT_TRUE(isLiveKey("chassis.zone[7].temp_sensors"));
    EXPECT_FALSE(isLiveKey("chassis.zone[7].id"));
    EXPECT_FALSE(isLiveKey("chassis.fencing.enabled"));
}

class HooksConfigTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("hs-hooks-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        ::chmod(dir_.c_str(), 0755);
        script_ = (dir_ / "hook.sh").string();
        std::ofstream(script_) << "#!/bin/sh\necho out \"$HS_ROLE\" \"$1\"\nexit 3\n";
        ::chmod(script_.c_str(), 0755);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    HooksConfig parse(const std::string& text) {
        return parseHooksConfig(*toml::parse(text)["hooks"].as_table(), "f.toml");
    }
    std::filesystem::path dir_;
    std::string script_;
};

TEST_F(HooksConfigTest, AcceptsArgvAndString) {
    HooksConfig c = parse("[hooks]\non_role_change = [\"" + script_ + "\", \"a\"]\non_active = \"" +
                          script_ + "\"\ntimeout_ms = 500\n");
    EXPECT_EQ(c.commands["on_role_change"], (std::vector<std::string>{script_, "a"}));
    EXPECT_EQ(c.commands["on_active"], (std::vector<std::string>{script_}));
    EXPECT_EQ(c.timeout.count(), 500);
}

TEST_F(HooksConfigTest, RefusesUnsafe) {
    EXPECT_THROW(parse("[hooks]\non_x = \"" + script_ + "\"\n"), ConfigError);
    EXPECT_THROW(parse("[hooks]\non_active = \"hook.sh\"\n"), ConfigError);
    EXPECT_THROW(parse("[hooks]\non_active = \"" + script_ + ".missing\"\n"), ConfigError);
    EXPECT_THROW(parse("[hooks]\ntimeout_ms = 5\n"), ConfigError);
    ::chmod(script_.c_str(), 0757);
    try {
        parse("[hooks]\non_active = \"" + script_ + "\"\n");
        FAIL() << "a world-writable hook was accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("writable by others"), std::string::npos) << e.what();
    }
    ::chmod(script_.c_str(), 0755);
    ::chmod(dir_.c_str(), 0777);
    EXPECT_THROW(parse("[hooks]\non_active = \"" + script_ + "\"\n"), ConfigError);
    ::chmod(dir_.c_str(), 0755);
}

TEST_F(HooksConfigTest, RunsWithEnvAndExitCode) {
    EXPECT_EQ(runHookCommand("t", {script_, "arg"}, {{"HS_ROLE", "ACTIVE"}},
                             std::chrono::milliseconds(5000)),
              3);
    std::string slow = (dir_ / "slow.sh").string();
    std::ofstream(slow) << "#!/bin/sh\nsleep 30\n";
    ::chmod(slow.c_str(), 0755);
    // Killed by SIGTERM at the timeout: 128 + 15.
    EXPECT_EQ(runHookCommand("t", {slow}, {}, std::chrono::milliseconds(200)), 143);
}

} // namespace
} // namespace hs

// The pure parts of the operations features: log fields, journal fields, the reload diff and the
// [hooks] checks.
#include "base/config_error.hpp"
#include "base/log.hpp"
#include "daemon/hooks.hpp"
#include "daemon/journal.hpp"
#include "daemon/reload.hpp"
#include "daemon/service_status.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

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

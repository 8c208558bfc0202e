// Runs the real hsctl binary against a ControlServer answering with canned results.
#include "daemon/status_json.hpp"
#include "tests/unit_core/control_fixture.hpp"
#include "tests/unit_core/sample_snapshot.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>

namespace hs {
namespace {

using nlohmann::json;

struct RunResult {
    int exitCode = -1;
    std::string out;
    std::string err;
};

RunResult runHsctl(std::vector<std::string> args, const std::string& envSocket = "") {
    int outPipe[2], errPipe[2];
    EXPECT_EQ(::pipe(outPipe), 0);
    EXPECT_EQ(::pipe(errPipe), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(outPipe[1], 1);
        ::dup2(errPipe[1], 2);
        std::vector<char*> argv{const_cast<char*>(HSCTL_BINARY)};
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        if (envSocket.empty()) {
            ::unsetenv("HSCTL_SOCKET");
        } else {
            ::setenv("HSCTL_SOCKET", envSocket.c_str(), 1);
        }
        ::execv(HSCTL_BINARY, argv.data());
        ::_exit(127);
    }
    ::close(outPipe[1]);
    ::close(errPipe[1]);
    RunResult r;
    pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&r.out, &r.err};
    int open = 2;
    while (open > 0 && ::poll(fds, 2, 10000) > 0) {
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd >= 0 && fds[i].revents) {
                char buf[4096];
                ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
                if (n <= 0) {
                    ::close(fds[i].fd);
                    fds[i].fd = -1;
                    --open;
                } else {
                    sinks[i]->append(buf, static_cast<std::size_t>(n));
                }
            }
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class HsctlTest : public test::ControlFixture {
  protected:
    void SetUp() override {
        ControlFixture::SetUp();
        startServer([this](ControlServer& s) { registerHandlers(s); });
    }
    void registerHandlers(ControlServer& s) {
        Snapshot snap = test::sampleSnapshot();
        // Get Chassis Status: on, overload, restore policy "previous"; last event ac-failed and
        // command; cooling fault; front panel byte 0x9a.
        snap.chassis.statusBytes = {0x23, 0x11, 0x08, 0x9a};
        auto canned = [](json result) {
            return [result](const json&, ControlServer::Reply reply) { reply(controlOk(result)); };
        };
        json status = toJson(snap);
        // As the daemon adds it (daemon/replication.cpp Replication::status).
        status["replication"] = {{"store_role", "writer"}, {"standby_joined", true},
                                 {"lag_records", 2},       {"lag_ms", nullptr},
                                 {"degraded", true},       {"readiness", "none"}};
        s.addHandler("status", canned(status));
        s.addHandler("journal", canned(journalJson(snap)));
        s.addHandler("chassis.status", canned(chassisStatusJson(snap.chassis)));
        s.addHandler("sensor.list", canned(sensorListJson(snap.chassis)));
        s.addHandler("fan.status", canned(fanStatusJson(snap.chassis)));
        s.addHandler("switchover", [](const json&, ControlServer::Reply reply) {
            reply(toResponse({ControlStatus::NotActive, "node 2 is the active module"}));
        });
        auto record = [this](const json& req, ControlServer::Reply reply) {
            lastRequest = req;
            reply(toResponse({ControlStatus::Ok, "done"}));
        };
        s.addHandler("fan.mode", record);
        s.addHandler("fan.duty", record);
        s.addHandler("chassis.power", [this, snap](const json& req, ControlServer::Reply reply) {
            lastRequest = req;
            if (req.at("action") == "status") {
                reply(controlOk(powerStatusJson(snap.chassis)));
            } else {
                reply(toResponse({ControlStatus::Ok, "requested"}, {{"action", req["action"]}}));
            }
        });
    }
    RunResult hsctl(std::vector<std::string> args) {
        args.insert(args.begin(), {"-s", opts.socketPath});
        return runHsctl(std::move(args));
    }

    json lastRequest; // written on the io thread, read after hsctl exited
};

TEST_F(HsctlTest, StatusHuman) {
    auto r = hsctl({"status"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_TRUE(has(r.out, "Role                 : active")) << r.out;
    EXPECT_TRUE(has(r.out, "Epoch                : 7")) << r.out;
    EXPECT_TRUE(has(r.out, "alive, standby (node 2, slot 1)")) << r.out;
    EXPECT_TRUE(has(r.out, "Redundancy           : degraded")) << r.out;
    EXPECT_TRUE(has(r.out, "Replication          : writer, standby joined, lag 2 records, "
                           "DEGRADED"))
        << r.out;
    EXPECT_TRUE(has(r.out, "Auth-fail  Foreign")) << r.out;
    EXPECT_TRUE(has(r.out, "net0     udp     up          120")) << r.out;
    EXPECT_TRUE(has(r.out, "serial0  serial  admin_down")) << r.out;
}

TEST_F(HsctlTest, StatusJsonHasContractFields) {
    auto r = hsctl({"status", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    json j = json::parse(r.out);
    for (const char* key : {"role", "epoch", "unconfirmed", "redundancy", "switchover_count"}) {
        EXPECT_TRUE(j.contains(key)) << key;
    }
    EXPECT_EQ(j["peer"]["alive"], true);
    EXPECT_EQ(j["peer"]["role"], "standby");
    EXPECT_EQ(j["paths"][0]["name"], "net0");
    EXPECT_EQ(j["paths"][0]["rtt_us"], 120);
    EXPECT_TRUE(j["paths"][0].contains("rx"));
    EXPECT_TRUE(j["paths"][0].contains("tx"));
    EXPECT_TRUE(j["paths"][0].contains("state"));
}

TEST_F(HsctlTest, ChassisPower) {
    auto r = hsctl({"chassis", "power", "status"});
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_EQ(r.out, "Chassis Power is on\n");
    r = hsctl({"chassis", "power", "on"});
    EXPECT_EQ(r.out, "Chassis Power Control: Up/On\n");
    EXPECT_EQ(lastRequest["action"], "on");
    r = hsctl({"chassis", "power", "off"});
    EXPECT_EQ(r.out, "Chassis Power Control: Down/Off\n");
    r = hsctl({"chassis", "power", "cycle", "--json"});
    EXPECT_EQ(json::parse(r.out)["action"], "cycle");
    r = hsctl({"chassis", "status"});
    EXPECT_TRUE(has(r.out, "System Power         : on")) << r.out;
    EXPECT_TRUE(has(r.out, "BMC Access           : ok")) << r.out;
}

TEST_F(HsctlTest, ChassisStatusIsIpmitoolsThenOwnFields) {
    auto r = hsctl({"chassis", "status"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    // ipmitool 1.8.19 lib/ipmi_chassis.c for the same reply bytes, then a blank line.
    const std::string ipmitool = "System Power         : on\n"
                                 "Power Overload       : true\n"
                                 "Power Interlock      : inactive\n"
                                 "Main Power Fault     : false\n"
                                 "Power Control Fault  : false\n"
                                 "Power Restore Policy : previous\n"
                                 "Last Power Event     : ac-failed command\n"
                                 "Chassis Intrusion    : inactive\n"
                                 "Front-Panel Lockout  : inactive\n"
                                 "Drive Fault          : false\n"
                                 "Cooling/Fan Fault    : true\n"
                                 "Sleep Button Disable : allowed\n"
                                 "Diag Button Disable  : not allowed\n"
                                 "Reset Button Disable : not allowed\n"
                                 "Power Button Disable : allowed\n"
                                 "Sleep Button Disabled: true\n"
                                 "Diag Button Disabled : false\n"
                                 "Reset Button Disabled: true\n"
                                 "Power Button Disabled: false\n"
                                 "\n";
    EXPECT_EQ(r.out.substr(0, ipmitool.size()), ipmitool) << r.out;
    const std::string own = r.out.substr(std::min(ipmitool.size(), r.out.size()));
    EXPECT_TRUE(own.starts_with("Requested Transition : ")) << own;
    EXPECT_TRUE(has(own, "BMC Access           : ok\n")) << own;
    EXPECT_TRUE(has(own, "Fan Profile          : ")) << own;
    r = hsctl({"chassis", "status", "--json"});
    json b = json::parse(r.out).at("bmc_status");
    EXPECT_EQ(b["power_restore_policy"], "previous");
    EXPECT_EQ(b["last_power_event"], json({"ac_failed", "command"}));
    EXPECT_EQ(b["front_panel"]["sleep_disabled"], true);
}

TEST(HsctlJson, BmcStatusNullBeforeTheFirstReplyAndFrontPanelOptional) {
    ChassisSnapshot c;
    EXPECT_TRUE(chassisStatusJson(c).at("bmc_status").is_null());
    c.statusBytes = {0x00, 0x00, 0x00};
    json b = chassisStatusJson(c).at("bmc_status");
    EXPECT_EQ(b["power_on"], false);
    EXPECT_EQ(b["power_restore_policy"], "always_off");
    EXPECT_TRUE(b["front_panel"].is_null());
    c.statusBytes = {0x61, 0x00, 0x00, 0x00};
    b = chassisStatusJson(c).at("bmc_status");
    EXPECT_EQ(b["power_on"], true);
    EXPECT_EQ(b["power_restore_policy"], "unknown");
    EXPECT_EQ(b["front_panel"]["power_disabled"], false);
}

TEST_F(HsctlTest, SensorsFansJournal) {
    auto r = hsctl({"sensor", "list"});
    EXPECT_EQ(r.exitCode, 0);
    // ipmitool sensor list's 10 columns, widths and trailing blanks included.
    EXPECT_TRUE(has(r.out, "CPU Temp         | 45.000     | degrees C  | ok    | na        | na  "
                           "      | na        | 80.000    | 90.000    | na        \n"))
        << r.out;
    EXPECT_TRUE(has(r.out, "FAN1             | na         | RPM        | na    | na        | na  "
                           "      | na        | na        | na        | na        \n"))
        << r.out;
    r = hsctl({"fan", "status"});
    EXPECT_TRUE(has(r.out, "Fan Mode             : auto")) << r.out;
    EXPECT_TRUE(has(r.out, "failed")) << r.out;
    r = hsctl({"fan", "duty", "1", "50"});
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_EQ(r.out, "Fan zone 1 duty set to 50%: done\n");
    EXPECT_EQ(lastRequest, json({{"cmd", "fan.duty"}, {"zone", 1}, {"pct", 50}}));
    r = hsctl({"fan", "mode", "manual"});
    EXPECT_EQ(lastRequest["mode"], "manual");
    r = hsctl({"journal"});
    EXPECT_TRUE(has(r.out, "peer_lost")) << r.out;
}

TEST_F(HsctlTest, DaemonErrorExitsOne) {
    auto r = hsctl({"switchover"});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "hsctl: not_active: node 2 is the active module\n");
}

TEST_F(HsctlTest, EnvironmentSocket) {
    auto r = runHsctl({"chassis", "power", "status"}, opts.socketPath);
    EXPECT_EQ(r.exitCode, 0) << r.err;
}

TEST_F(HsctlTest, CannotConnectExitsTwo) {
    auto r = runHsctl({"-s", dir.str("nope.sock"), "status"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_TRUE(has(r.err, dir.str("nope.sock"))) << r.err;
    EXPECT_TRUE(has(r.err, "cannot connect")) << r.err;
}

TEST_F(HsctlTest, UsageErrorsExit64) {
    for (auto args : std::vector<std::vector<std::string>>{{"bogus"},
                                                           {},
                                                           {"fan", "duty", "1", "101"},
                                                           {"fan", "duty", "x", "5"},
                                                           {"chassis", "power", "explode"},
                                                           {"status", "extra"},
                                                           {"--frobnicate", "status"}}) {
        auto r = hsctl(args);
        EXPECT_EQ(r.exitCode, 64) << (args.empty() ? "" : args[0]);
        EXPECT_TRUE(has(r.err, "usage: hsctl")) << r.err;
    }
    auto r = runHsctl({"help"});
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_TRUE(has(r.out, "chassis power"));
    r = runHsctl({"help", "bogus"});
    EXPECT_EQ(r.exitCode, 64);
    EXPECT_TRUE(has(r.err, "usage: hsctl")) << r.err;
}

TEST(HsctlCli, VersionIsTheProjectVersion) {
    for (const char* opt : {"--version", "-V"}) {
        auto r = runHsctl({opt});
        EXPECT_EQ(r.exitCode, 0) << opt;
        EXPECT_EQ(r.out, std::string("hsctl ") + HS_PROJECT_VERSION + "\n") << opt;
        EXPECT_EQ(r.err, "");
    }
}

TEST(HsctlCli, HelpForEveryCommand) {
    // No socket is needed: help never talks to the daemon.
    const std::vector<std::pair<std::string, std::string>> commands{
        {"status", "usage: hsctl status"},          {"paths", "usage: hsctl paths"},
        {"switchover", "usage: hsctl switchover"},  {"journal", "usage: hsctl journal"},
        {"chassis", "usage: hsctl chassis status"}, {"sensor", "usage: hsctl sensor"},
        {"fan", "usage: hsctl fan status"},         {"help", "usage: hsctl help [COMMAND]"}};
    for (const auto& [cmd, first] : commands) {
        for (std::vector<std::string> args :
             std::vector<std::vector<std::string>>{{"help", cmd},
                                                   {cmd, "--help"},
                                                   {cmd, "-h"},
                                                   {"-s", "/nonexistent", cmd, "help"}}) {
            auto r = runHsctl(args);
            std::string what = args[0] + " " + args[1];
            EXPECT_EQ(r.exitCode, 0) << what << ": " << r.err;
            EXPECT_TRUE(r.out.starts_with(first)) << what << ": " << r.out;
            EXPECT_FALSE(has(r.out, "Commands:")) << what << ": only that command's usage";
        }
    }
    auto r = runHsctl({"chassis", "power", "--help"});
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_TRUE(has(r.out, "chassis power status|on|off|cycle|reset|soft")) << r.out;
}

TEST(HsctlCli, UsageDocumentsExitCodes) {
    auto r = runHsctl({"--help"});
    ASSERT_EQ(r.exitCode, 0);
    auto at = r.out.find("Exit status:\n");
    ASSERT_NE(at, std::string::npos) << r.out;
    const std::string block = r.out.substr(at);
    for (const char* line : {"  0 ", "  1 ", "  2 ", "  64 "}) {
        EXPECT_TRUE(has(block, line)) << line << " in " << block;
    }
}

} // namespace
} // namespace hs

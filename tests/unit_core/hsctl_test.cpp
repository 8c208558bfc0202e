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
        const Snapshot snap = test::sampleSnapshot();
        auto canned = [](json result) {
            return [result](const json&, ControlServer::Reply reply) { reply(controlOk(result)); };
        };
        s.addHandler("status", canned(toJson(snap)));
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
}

} // namespace
} // namespace hs

#include "daemon/control_server.hpp"
#include "tests/unit_core/control_fixture.hpp"

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace hs {
namespace {

using nlohmann::json;
using test::connectUnix;
using test::readLine;
using test::sendAll;

void statusHandler(ControlServer& s) {
    s.addHandler("status", [](const json&, ControlServer::Reply reply) {
        reply(controlOk({{"role", "active"}, {"uid", reply.peer().uid}}));
    });
}

class ControlServerTest : public test::ControlFixture {};

TEST_F(ControlServerTest, StatusAnswered) {
    startServer(statusHandler);
    json r = call(R"({"cmd":"status"})");
    EXPECT_EQ(r["ok"], true);
    EXPECT_EQ(r["result"]["role"], "active");
    EXPECT_EQ(r["result"]["uid"], 0);
}

TEST_F(ControlServerTest, SocketModeAndParentDir) {
    startServer(statusHandler);
    struct stat st {};
    ASSERT_EQ(::lstat(opts.socketPath.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660U);
    ASSERT_EQ(::stat(dir.str("run").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755U);
    stopServer();
    EXPECT_FALSE(std::filesystem::exists(opts.socketPath)); // removed on stop
}

TEST_F(ControlServerTest, BadInputAnsweredAndConnectionSurvives) {
    startServer(statusHandler);
    int fd = connectUnix(opts.socketPath);
    ASSERT_GE(fd, 0);
    std::string buf;
    auto ask = [&](const std::string& line) {
        EXPECT_TRUE(sendAll(fd, line));
        return json::parse(readLine(fd, buf), nullptr, false);
    };
    json r = ask("{not json\n");
    EXPECT_EQ(r["ok"], false);
    EXPECT_EQ(r["code"], "invalid");
    EXPECT_NE(r["error"].get<std::string>().find("malformed JSON"), std::string::npos);
    r = ask(R"({"cmd":"frobnicate"})"
            "\n");
    EXPECT_EQ(r["code"], "invalid");
    EXPECT_NE(r["error"].get<std::string>().find("unknown command 'frobnicate'"),
              std::string::npos);
    r = ask("[1,2]\n");
    EXPECT_EQ(r["code"], "invalid");
    r = ask(R"({"cmd":42})"
            "\n");
    EXPECT_EQ(r["code"], "invalid");
    r = ask(std::string(70000, 'x') + "\n");
    EXPECT_EQ(r["code"], "invalid");
    EXPECT_NE(r["error"].get<std::string>().find("longer than 65536"), std::string::npos);
    r = ask("\xff\xfe{\n"); // invalid UTF-8 echoed in the error must not break the reply
    EXPECT_EQ(r["code"], "invalid");
    r = ask(R"({"cmd":"status"})"
            "\n");
    EXPECT_EQ(r["ok"], true);
    ::close(fd);
}

TEST_F(ControlServerTest, PipelinedRequestsAnsweredInOrderAndAfterHalfClose) {
    startServer(statusHandler);
    int fd = connectUnix(opts.socketPath);
    ASSERT_GE(fd, 0);
    sendAll(fd, R"({"cmd":"status"})"
                "\n"
                R"({"cmd":"nope"})"
                "\n"
                R"({"cmd":"status"})");
    ::shutdown(fd, SHUT_WR);
    std::string buf;
    std::vector<std::string> lines;
    for (std::string l = readLine(fd, buf); !l.empty(); l = readLine(fd, buf)) {
        lines.push_back(l);
    }
    ASSERT_EQ(lines.size(), 3U); // then closed
    EXPECT_EQ(json::parse(lines[0])["ok"], true);
    EXPECT_EQ(json::parse(lines[1])["code"], "invalid");
    EXPECT_EQ(json::parse(lines[2])["ok"], true); // the last line had no newline
    ::close(fd);
}

TEST_F(ControlServerTest, AsynchronousAndDroppedReplies) {
    std::shared_ptr<asio::steady_timer> timer;
    startServer([&](ControlServer& s) {
        s.addHandler("slow", [this, &timer](const json& req, ControlServer::Reply reply) {
            timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
            int n = req.at("n").get<int>();
            timer->async_wait([reply, n](const boost::system::error_code& ec) {
                if (ec) {
                    return;
                }
                reply(controlOk({{"n", n}}));
                reply(controlOk({{"n", -1}})); // ignored
            });
        });
        s.addHandler("drop", [](const json&, ControlServer::Reply) {});
        s.addHandler("throw", [](const json& req, ControlServer::Reply) {
            (void)req.at("missing").get<int>();
        });
        s.addHandler("thread", [](const json&, ControlServer::Reply reply) {
            std::thread([reply] { reply(controlError("busy", "later")); }).detach();
        });
    });
    json r = call(R"({"cmd":"slow","n":7})");
    EXPECT_EQ(r["result"]["n"], 7);
    r = call(R"({"cmd":"drop"})");
    EXPECT_EQ(r["code"], "unavailable");
    r = call(R"({"cmd":"throw"})");
    EXPECT_EQ(r["code"], "invalid");
    r = call(R"({"cmd":"slow"})"); // missing "n": the handler throws before answering
    EXPECT_EQ(r["code"], "invalid");
    r = call(R"({"cmd":"thread"})");
    EXPECT_EQ(r["code"], "busy");
}

TEST_F(ControlServerTest, ManyClientsAtOnce) {
    startServer(statusHandler);
    std::vector<int> fds;
    for (int i = 0; i < 40; ++i) {
        fds.push_back(connectUnix(opts.socketPath));
        ASSERT_GE(fds.back(), 0);
    }
    for (int fd : fds) {
        sendAll(fd, R"({"cmd":"status"})"
                    "\n");
    }
    for (int fd : fds) {
        std::string buf;
        EXPECT_EQ(json::parse(readLine(fd, buf))["ok"], true);
        ::close(fd);
    }
}

TEST_F(ControlServerTest, StaleSocketReplacedLiveOneRefused) {
    std::filesystem::create_directories(dir.path() / "run");
    {
        // A socket file left behind by a dead daemon: bound, never listened, fd closed.
        asio::io_context other;
        asio::local::stream_protocol::acceptor stale(other);
        stale.open();
        stale.bind(asio::local::stream_protocol::endpoint(opts.socketPath));
    }
    ASSERT_TRUE(std::filesystem::exists(opts.socketPath));
    startServer(statusHandler);
    EXPECT_EQ(call(R"({"cmd":"status"})")["ok"], true);

    asio::io_context other;
    ControlServer second(other, opts);
    try {
        second.start();
        FAIL() << "a second server took over a live socket";
    } catch (const ControlServerError& e) {
        EXPECT_NE(std::string(e.what()).find("already serving"), std::string::npos) << e.what();
    }
    EXPECT_EQ(call(R"({"cmd":"status"})")["ok"], true); // the first one is untouched
}

// Forks a child that drops to uid nobody (keeping gid 0, so the 0660 root:root socket file lets it
// connect) and asks for status. Returns the child's response line.
std::string askAsNobody(const std::string& path) {
    int pipeFd[2];
    EXPECT_EQ(::pipe(pipeFd), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(pipeFd[0]);
        if (::setuid(65534) != 0) {
            ::_exit(3);
        }
        int fd = connectUnix(path);
        if (fd < 0) {
            ::_exit(4);
        }
        std::string buf;
        sendAll(fd, R"({"cmd":"status"})"
                    "\n");
        std::string line = readLine(fd, buf);
        (void)!::write(pipeFd[1], line.data(), line.size());
        ::_exit(0);
    }
    ::close(pipeFd[1]);
    std::string out;
    char buf[512];
    for (ssize_t n; (n = ::read(pipeFd[0], buf, sizeof buf)) > 0;) {
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(pipeFd[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    return out;
}

TEST_F(ControlServerTest, OtherUserDenied) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to setuid";
    }
    startServer(statusHandler);
    json r = json::parse(askAsNobody(opts.socketPath), nullptr, false);
    EXPECT_EQ(r["ok"], false);
    EXPECT_EQ(r["code"], "denied");
    EXPECT_EQ(call(R"({"cmd":"status"})")["ok"], true);
}

TEST_F(ControlServerTest, ControlGroupMemberAllowed) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to setuid";
    }
    opts.controlGroup = "root"; // gid 0, which the child keeps
    startServer(statusHandler);
    json r = json::parse(askAsNobody(opts.socketPath), nullptr, false);
    EXPECT_EQ(r["ok"], true);
    EXPECT_EQ(r["result"]["uid"], 65534);
}

TEST_F(ControlServerTest, UnknownGroupRefusedAtStart) {
    opts.controlGroup = "no-such-group-hs";
    ControlServer s(io, opts);
    EXPECT_THROW(s.start(), ControlServerError);
}

TEST_F(ControlServerTest, UnknownReadGroupRefusedAtStart) {
    opts.readGroup = "no-such-group-hs";
    ControlServer s(io, opts);
    EXPECT_THROW(s.start(), ControlServerError);
}

// Runs BODY in a forked child that has dropped to UID with primary group GID and supplementary
// GROUPS; BODY writes what it saw to the fd it is given. Returns that text.
std::string runAs(uid_t uid, gid_t gid, const std::vector<gid_t>& groups,
                  const std::function<void(int)>& body) {
    int pipeFd[2];
    EXPECT_EQ(::pipe(pipeFd), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(pipeFd[0]);
        if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(gid) != 0 ||
            ::setuid(uid) != 0) {
            ::_exit(3);
        }
        body(pipeFd[1]);
        ::_exit(0);
    }
    ::close(pipeFd[1]);
    std::string out;
    char buf[512];
    for (ssize_t n; (n = ::read(pipeFd[0], buf, sizeof buf)) > 0;) {
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(pipeFd[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    return out;
}

// Sends each of LINES on one connection as UID/GID/GROUPS; returns the answers, one per line.
std::vector<json> askAs(const std::string& path, uid_t uid, gid_t gid,
                        const std::vector<gid_t>& groups, const std::vector<std::string>& lines) {
    std::string out = runAs(uid, gid, groups, [&](int outFd) {
        int fd = connectUnix(path);
        if (fd < 0) {
            ::_exit(4);
        }
        std::string buf;
        for (const auto& line : lines) {
            sendAll(fd, line + "\n");
            std::string answer = readLine(fd, buf) + "\n";
            (void)!::write(outFd, answer.data(), answer.size());
        }
    });
    std::vector<json> answers;
    std::size_t pos = 0;
    for (std::size_t nl; (nl = out.find('\n', pos)) != std::string::npos; pos = nl + 1) {
        answers.push_back(json::parse(out.substr(pos, nl - pos), nullptr, false));
    }
    return answers;
}

constexpr uid_t kNobody = 65534;
constexpr gid_t kNoGroup = 65534; // "nogroup" on Debian

// status reads; switchover changes; chassis.power reads for "status" only (as the daemon has it).
void tieredHandlers(ControlServer& s) {
    s.addHandler(
        "status",
        [](const json&, ControlServer::Reply reply) {
            reply(controlOk(
                {{"uid", reply.peer().uid}, {"change", reply.access() == ControlAccess::Change}}));
        },
        ControlAccess::Read);
    s.addHandler("switchover", [](const json&, ControlServer::Reply reply) {
        reply(controlOk({{"done", true}}));
    });
    s.addHandler(
        "chassis.power",
        [](const json& req, ControlServer::Reply reply) {
            std::string action = req.value("action", "status");
            if (action != "status" && !reply.requireChange("chassis.power " + action)) {
                return;
            }
            reply(controlOk({{"action", action}}));
        },
        ControlAccess::Read);
}

TEST_F(ControlServerTest, ReadGroupMayReadButNotChange) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to setuid";
    }
    opts.readGroup = "root";       // gid 0
    opts.controlGroup = "nogroup"; // gid 65534
    startServer(tieredHandlers);
    struct stat st {};
    ASSERT_EQ(::stat(opts.socketPath.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0666U); // both groups reach it; SO_PEERCRED decides

    auto r =
        askAs(opts.socketPath, kNobody, 0, {0},
              {R"({"cmd":"status"})", R"({"cmd":"switchover"})",
               R"({"cmd":"switchover","force":true})", R"({"cmd":"chassis.power","action":"off"})",
               R"({"cmd":"chassis.power","action":"status"})", R"({"cmd":"status"})"});
    ASSERT_EQ(r.size(), 6U);
    EXPECT_EQ(r[0]["ok"], true) << r[0];
    EXPECT_EQ(r[0]["result"]["change"], false);
    for (int i : {1, 2, 3}) {
        EXPECT_EQ(r[i]["ok"], false) << r[i];
        EXPECT_EQ(r[i]["code"], "denied") << r[i];
        std::string error = r[i].value("error", "");
        EXPECT_NE(error.find("permission denied"), std::string::npos) << error;
        EXPECT_NE(error.find("needs group nogroup"), std::string::npos) << error;
    }
    EXPECT_NE(r[3].value("error", "").find("'chassis.power off'"), std::string::npos) << r[3];
    EXPECT_EQ(r[4]["ok"], true) << r[4];
    EXPECT_EQ(r[4]["result"]["action"], "status");
    EXPECT_EQ(r[5]["ok"], true) << r[5]; // a refusal does not end the connection

    // A member of the control group (supplementary group only) may change things.
    r = askAs(opts.socketPath, kNobody, 4242, {kNoGroup},
              {R"({"cmd":"switchover"})", R"({"cmd":"chassis.power","action":"off"})",
               R"({"cmd":"status"})"});
    ASSERT_EQ(r.size(), 3U);
    EXPECT_EQ(r[0]["ok"], true) << r[0];
    EXPECT_EQ(r[1]["ok"], true) << r[1];
    EXPECT_EQ(r[2]["result"]["change"], true) << r[2];

    // In neither group: refused at the door.
    r = askAs(opts.socketPath, kNobody, 4242, {4243}, {R"({"cmd":"status"})"});
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r[0]["code"], "denied") << r[0];

    // Root may do everything.
    EXPECT_EQ(call(R"({"cmd":"switchover"})")["ok"], true);
    EXPECT_EQ(call(R"({"cmd":"status"})")["result"]["change"], true);
}

TEST_F(ControlServerTest, ReadOnlyPeerWithoutControlGroupIsToldWhoMay) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to setuid";
    }
    opts.readGroup = "root";
    startServer(tieredHandlers);
    auto r = askAs(opts.socketPath, kNobody, 0, {0}, {R"({"cmd":"switchover"})"});
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r[0]["code"], "denied") << r[0];
    EXPECT_NE(r[0].value("error", "").find("needs root or the daemon's user"), std::string::npos)
        << r[0];
}

// Idle connections of an ordinary user fill the limit; root still gets in, the user does not.
TEST_F(ControlServerTest, RootPassesTheConnectionLimit) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to setuid";
    }
    opts.readGroup = "root";
    opts.maxClients = 3;
    startServer(tieredHandlers);
    int release[2];
    ASSERT_EQ(::pipe(release), 0);
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    // Forked from this thread (not a helper thread) so both pipes exist in the child.
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(release[1]);
        ::close(ready[0]);
        const gid_t groups[] = {0};
        if (::setgroups(1, groups) != 0 || ::setgid(0) != 0 || ::setuid(kNobody) != 0) {
            ::_exit(3);
        }
        std::string report;
        for (int i = 0; i < 4; ++i) {
            int fd = connectUnix(opts.socketPath); // stays open until the child exits
            std::string buf;
            sendAll(fd, "{\"cmd\":\"status\"}\n");
            json r = json::parse(readLine(fd, buf), nullptr, false);
            report += r.value("ok", false) ? "ok " : r.value("code", "?") + " ";
        }
        (void)!::write(ready[1], report.data(), report.size());
        ::close(ready[1]);
        char c;
        (void)!::read(release[0], &c, 1); // hold the connections until the parent is done
        ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    std::string childSaw;
    char buf[64];
    for (ssize_t n; (n = ::read(ready[0], buf, sizeof buf)) > 0;) {
        childSaw.append(buf, static_cast<std::size_t>(n));
    }
    ::close(ready[0]);
    // The user's three connections are open and idle; the fourth was refused.
    for (int i = 0; i < 5; ++i) {
        json r = call(R"({"cmd":"status"})");
        EXPECT_EQ(r["ok"], true) << "root refused while the limit was full: " << r;
    }
    ::close(release[1]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(childSaw, "ok ok ok busy ");
}

TEST_F(ControlServerTest, IdleConnectionClosed) {
    opts.idleTimeout = std::chrono::milliseconds(1000);
    startServer(statusHandler);
    // Never sends a whole request: closed after the idle timeout (the read sees EOF, not the
    // client's own 5 s receive timeout).
    int fd = connectUnix(opts.socketPath);
    ASSERT_GE(fd, 0);
    sendAll(fd, R"({"cmd":)");
    char buf[64];
    errno = 0;
    EXPECT_EQ(::read(fd, buf, sizeof buf), 0) << "errno " << errno;
    ::close(fd);
    // A client that keeps asking is served across several timeouts' worth of time.
    fd = connectUnix(opts.socketPath);
    ASSERT_GE(fd, 0);
    std::string lineBuf;
    for (int i = 0; i < 8; ++i) {
        ASSERT_TRUE(sendAll(fd, "{\"cmd\":\"status\"}\n"));
        EXPECT_EQ(json::parse(readLine(fd, lineBuf), nullptr, false)["ok"], true);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ::close(fd);
}

} // namespace
} // namespace hs

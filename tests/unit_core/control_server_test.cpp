#include "core/control_server.hpp"
#include "tests/unit_core/control_fixture.hpp"

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

} // namespace
} // namespace hs

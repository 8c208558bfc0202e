// A ControlServer on a temp socket with its io_context on a background thread, and a blocking
// line client, for the control socket and hsctl tests.
#pragma once

#include "daemon/control_server.hpp"
#include "tests/unit_core/test_util.hpp"

#include <future>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace hs::test {

// Connects to PATH; returns the fd or -1.
inline int connectUnix(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

inline bool sendAll(int fd, const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        off += static_cast<std::size_t>(n);
    }
    return true;
}

// Reads one line (without the newline); "" on EOF/timeout.
inline std::string readLine(int fd, std::string& buffer) {
    for (;;) {
        auto nl = buffer.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffer.substr(0, nl);
            buffer.erase(0, nl + 1);
            return line;
        }
        char buf[4096];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
            return {};
        }
        buffer.append(buf, static_cast<std::size_t>(n));
    }
}

class ControlFixture : public ::testing::Test {
  protected:
    void SetUp() override { opts.socketPath = dir.str("run/hs.sock"); }
    void TearDown() override { stopServer(); }

    // Registers HANDLERS (via setup) and starts the server on the io thread.
    void startServer(const std::function<void(ControlServer&)>& setup = {}) {
        server = std::make_unique<ControlServer>(io, opts);
        if (setup) {
            setup(*server);
        }
        server->start();
        thread = std::thread([this] { io.run(); });
    }
    void stopServer() {
        if (!thread.joinable()) {
            return;
        }
        onIo([this] { server->stop(); });
        guard.reset();
        io.stop();
        thread.join();
        server.reset();
    }
    void onIo(std::function<void()> fn) {
        std::promise<void> done;
        asio::post(io, [&] {
            fn();
            done.set_value();
        });
        done.get_future().wait();
    }
    // One request on a fresh connection; returns the parsed response.
    nlohmann::json call(const std::string& line) {
        int fd = connectUnix(opts.socketPath);
        EXPECT_GE(fd, 0);
        std::string buf;
        sendAll(fd, line + "\n");
        std::string answer = readLine(fd, buf);
        ::close(fd);
        return nlohmann::json::parse(answer, nullptr, false);
    }

    TempDir dir;
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
    ControlServer::Options opts;
    std::unique_ptr<ControlServer> server;
    std::thread thread;
};

} // namespace hs::test

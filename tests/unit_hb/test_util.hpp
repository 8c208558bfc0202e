// Helpers for the hb unit tests: frames, io_context driving, temp dirs, a socat pty pair.
#pragma once

#include "base/asio.hpp"
#include "hb/frame.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <spawn.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace hs::hb::test {

inline Key testKey() {
    std::vector<std::uint8_t> k(32);
    for (std::size_t i = 0; i < k.size(); ++i)
        k[i] = static_cast<std::uint8_t>(0x10 + i);
    return Key(k);
}

inline Frame sampleFrame(std::uint64_t seq, std::size_t payload = 0) {
    Frame f;
    f.type = FrameType::Heartbeat;
    f.flags = flag::BmcOk | flag::Fit;
    f.slot = 1;
    f.role = Role::Standby;
    f.pathIndex = 2;
    f.nodeId = 0x01020304;
    f.incarnation = 7;
    f.epoch = 0x1122334455667788ULL;
    f.seq = seq;
    f.sendTimeNs = 123456789ULL * seq;
    f.echoTimeNs = 42;
    f.echoHoldUs = 17;
    f.intervalUs = 10000;
    for (std::size_t i = 0; i < payload; ++i)
        f.payload.push_back(static_cast<std::uint8_t>(i * 7 + seq));
    return f;
}

// Runs io until pred() holds or the timeout passes; returns pred().
inline bool runUntil(asio::io_context& io, const std::function<bool()>& pred,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto guard = asio::make_work_guard(io);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    return pred();
}

inline void runFor(asio::io_context& io, std::chrono::milliseconds d) {
    runUntil(
        io, [] { return false; }, d);
}

class TempDir {
  public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "hbtest.XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// A socat pty pair DIR/ttyA <-> DIR/ttyB, started as a child and always reaped.
class SocatPair {
  public:
    explicit SocatPair(std::string dir) : a_(dir + "/ttyA"), b_(dir + "/ttyB") {}
    ~SocatPair() {
        if (pid_ > 0) {
            ::kill(pid_, SIGCONT);
            kill(SIGKILL);
        }
    }
    SocatPair(const SocatPair&) = delete;
    SocatPair& operator=(const SocatPair&) = delete;

    const std::string& a() const { return a_; }
    const std::string& b() const { return b_; }

    // Starts socat and waits until both links point at existing ptys.
    bool start() {
        std::error_code ec;
        std::filesystem::remove(a_, ec);
        std::filesystem::remove(b_, ec);
        const std::string argA = "pty,raw,echo=0,link=" + a_;
        const std::string argB = "pty,raw,echo=0,link=" + b_;
        std::vector<char*> argv{const_cast<char*>("socat"),      const_cast<char*>("-d"),
                                const_cast<char*>("-d"),         const_cast<char*>(argA.c_str()),
                                const_cast<char*>(argB.c_str()), nullptr};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        const int rc = posix_spawnp(&pid_, "socat", &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) {
            pid_ = -1;
            return false;
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline) {
            if (std::filesystem::exists(a_, ec) && std::filesystem::exists(b_, ec))
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return false;
    }
    void kill(int sig) {
        if (pid_ <= 0)
            return;
        ::kill(pid_, sig);
        if (sig == SIGKILL || sig == SIGTERM) {
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
            // A dangling link would point at a pty number the kernel hands out again, possibly
            // to another test's socat running in parallel.
            std::error_code ec;
            std::filesystem::remove(a_, ec);
            std::filesystem::remove(b_, ec);
        }
    }
    void pause() { ::kill(pid_, SIGSTOP); }
    void resume() { ::kill(pid_, SIGCONT); }

  private:
    std::string a_, b_;
    pid_t pid_ = -1;
};

} // namespace hs::hb::test

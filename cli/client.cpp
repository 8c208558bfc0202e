#include "cli/client.hpp"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace hs::cli {

ControlClient::~ControlClient() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void ControlClient::connect() {
    sockaddr_un addr{};
    if (path_.size() >= sizeof addr.sun_path) {
        throw ConnectError(fmt::format("socket path {} is too long", path_));
    }
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw ConnectError(fmt::format("socket(): {}", std::strerror(errno)));
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        std::string hint = "is hotstandbyd running? use -s SOCKET or $HSCTL_SOCKET";
        if (err == EACCES || err == EPERM) {
            hint = "run as root or as a member of the daemon's control_group";
        }
        throw ConnectError(
            fmt::format("cannot connect to {}: {} ({})", path_, std::strerror(err), hint));
    }
}

nlohmann::json ControlClient::call(const nlohmann::json& request,
                                   std::chrono::milliseconds timeout) {
    std::string line = request.dump() + "\n";
    std::string_view rest(line);
    while (!rest.empty()) {
        ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw ConnectError(fmt::format("cannot send to {}: {}", path_, std::strerror(errno)));
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    std::string answer = readLine(timeout);
    try {
        auto j = nlohmann::json::parse(answer);
        if (!j.is_object() || !j.contains("ok")) {
            throw ConnectError(fmt::format("unexpected response from {}: {}", path_, answer));
        }
        return j;
    } catch (const nlohmann::json::parse_error&) {
        throw ConnectError(fmt::format("malformed response from {}: {}", path_, answer));
    }
}

std::string ControlClient::readLine(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto nl = buffer_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            throw ConnectError(fmt::format("no answer from the daemon on {} within {} s", path_,
                                           timeout.count() / 1000));
        }
        pollfd p{fd_, POLLIN, 0};
        int rc = ::poll(&p, 1, static_cast<int>(left.count()));
        if (rc < 0 && errno != EINTR) {
            throw ConnectError(fmt::format("poll(): {}", std::strerror(errno)));
        }
        if (rc <= 0) {
            continue;
        }
        char buf[4096];
        ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw ConnectError(fmt::format("cannot read from {}: {}", path_, std::strerror(errno)));
        }
        if (n == 0) {
            throw ConnectError(fmt::format("the daemon closed {} without answering", path_));
        }
        buffer_.append(buf, static_cast<std::size_t>(n));
    }
}

} // namespace hs::cli

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
    if (m_fd >= 0) {
        ::close(m_fd);
    }
}

void ControlClient::connect() {
    sockaddr_un addr{};
    if (m_path.size() >= sizeof addr.sun_path) {
        throw ConnectError(fmt::format("socket path {} is too long", m_path));
    }
    m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m_fd < 0) {
        throw ConnectError(fmt::format("socket(): {}", std::strerror(errno)));
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, m_path.c_str(), m_path.size() + 1);
    if (::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        std::string hint = "is hotstandbyd running? use -s SOCKET or $HSCTL_SOCKET";
        if (err == EACCES || err == EPERM) {
            hint = "run as root or as a member of the daemon's control_group";
        }
        throw ConnectError(
            fmt::format("cannot connect to {}: {} ({})", m_path, std::strerror(err), hint));
    }
}

nlohmann::json ControlClient::call(const nlohmann::json& request,
                                   std::chrono::milliseconds timeout) {
    std::string line = request.dump() + "\n";
    std::string_view rest(line);
    while (!rest.empty()) {
        ssize_t n = ::send(m_fd, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw ConnectError(fmt::format("cannot send to {}: {}", m_path, std::strerror(errno)));
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    std::string answer = readLine(timeout);
    try {
        auto j = nlohmann::json::parse(answer);
        if (!j.is_object() || !j.contains("ok")) {
            throw ConnectError(fmt::format("unexpected response from {}: {}", m_path, answer));
        }
        return j;
    } catch (const nlohmann::json::parse_error&) {
        throw ConnectError(fmt::format("malformed response from {}: {}", m_path, answer));
    }
}

std::string ControlClient::readLine(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto nl = m_buffer.find('\n');
        if (nl != std::string::npos) {
            std::string line = m_buffer.substr(0, nl);
            m_buffer.erase(0, nl + 1);
            return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            throw ConnectError(fmt::format("no answer from the daemon on {} within {} s", m_path,
                                           timeout.count() / 1000));
        }
        pollfd p{m_fd, POLLIN, 0};
        int rc = ::poll(&p, 1, static_cast<int>(left.count()));
        if (rc < 0 && errno != EINTR) {
            throw ConnectError(fmt::format("poll(): {}", std::strerror(errno)));
        }
        if (rc <= 0) {
            continue;
        }
        char buf[4096];
        ssize_t n = ::read(m_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw ConnectError(
                fmt::format("cannot read from {}: {}", m_path, std::strerror(errno)));
        }
        if (n == 0) {
            throw ConnectError(fmt::format("the daemon closed {} without answering", m_path));
        }
        m_buffer.append(buf, static_cast<std::size_t>(n));
    }
}

} // namespace hs::cli

#include "daemon/systemd_notify.hpp"

#include "base/log.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace hs {
namespace {

std::atomic<std::uint64_t> dropped{0};

struct NotifyTarget {
    int fd = -1;
    sockaddr_un addr{};
    socklen_t len = 0;
    bool tried = false;
};

// Opened once, on the first message (NOTIFY_SOCKET is fixed for the life of the process).
NotifyTarget& target() {
    static std::mutex mu;
    static NotifyTarget t;
    std::lock_guard lock(mu);
    if (t.tried) {
        return t;
    }
    t.tried = true;
    const char* env = std::getenv("NOTIFY_SOCKET");
    if (env == nullptr || env[0] == '\0') {
        return t;
    }
    std::string_view path(env);
    if ((path[0] != '/' && path[0] != '@') || path.size() >= sizeof(t.addr.sun_path)) {
        HS_WARN("event=notify_socket_unusable path=\"{}\": only a path or @abstract name fits",
                path);
        return t;
    }
    t.addr.sun_family = AF_UNIX;
    std::memcpy(t.addr.sun_path, path.data(), path.size());
    if (path[0] == '@') {
        t.addr.sun_path[0] = '\0';
    }
    t.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                   (path[0] == '@' ? 0 : 1));
    t.fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (t.fd < 0) {
        HS_WARN("event=notify_socket_unusable error=\"{}\"", std::strerror(errno));
    }
    return t;
}

} // namespace

bool notifySystemd(std::string_view msg) {
    const NotifyTarget& t = target();
    if (t.fd < 0) {
        return false;
    }
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    auto* sa = reinterpret_cast<const sockaddr*>(&t.addr);
    ssize_t n = ::sendto(t.fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL, sa, t.len);
    if (n == static_cast<ssize_t>(msg.size())) {
        return true;
    }
    int err = errno;
    std::uint64_t count = ++dropped;
    // The first drop and then one line in a thousand: a full queue would otherwise log every tick.
    if (count == 1 || count % 1000 == 0) {
        HS_WARN("event=notify_dropped dropped={} error=\"{}\": the service manager does not read "
                "NOTIFY_SOCKET; the message was dropped, the daemon runs on",
                count, n < 0 ? std::strerror(err) : "short send");
    }
    return false;
}

std::uint64_t notifyDropped() {
    return dropped.load();
}

} // namespace hs

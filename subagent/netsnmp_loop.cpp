#include "subagent/netsnmp_loop.hpp"

#include "core/log.hpp"

// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>
// clang-format on

#include <chrono>
#include <poll.h>
#include <sys/stat.h>

namespace hs::subagent {

NetSnmpLoop::NetSnmpLoop(asio::io_context& io, std::function<void()> afterEvent)
    : io_(io), afterEvent_(std::move(afterEvent)), timer_(io) {}

NetSnmpLoop::~NetSnmpLoop() {
    shutdown();
}

void NetSnmpLoop::releaseAll() {
    for (auto& d : fds_) {
        // release() deregisters and cancels pending waits but leaves the fd open for Net-SNMP.
        (void)d->release();
    }
    fds_.clear();
}

void NetSnmpLoop::shutdown() {
    stopped_ = true;
    ++gen_;
    releaseAll();
    timer_.cancel();
}

void NetSnmpLoop::reschedule() {
    if (stopped_) {
        return;
    }
    std::uint64_t gen = ++gen_;
    releaseAll();

    netsnmp_large_fd_set fdset;
    netsnmp_large_fd_set_init(&fdset, FD_SETSIZE);
    int numfds = 0;
    int block = 1;
    timeval tv{};
    snmp_select_info2(&numfds, &fdset, &tv, &block);
    for (int fd = 0; fd < numfds; ++fd) {
        if (!NETSNMP_LARGE_FD_ISSET(fd, &fdset)) {
            continue;
        }
        auto d = std::make_unique<asio::posix::stream_descriptor>(io_);
        boost::system::error_code ec;
        d->assign(fd, ec);
        if (ec) {
            HS_WARN("snmp loop: cannot watch fd={} error={}", fd, ec.message());
            continue;
        }
        d->async_wait(
            asio::posix::stream_descriptor::wait_read,
            [this, gen, fd](const boost::system::error_code& e) { onReadable(gen, fd, e); });
        fds_.push_back(std::move(d));
    }
    netsnmp_large_fd_set_cleanup(&fdset);

    // No alarm pending: wake up anyway now and then, a cheap guard against a missed registration.
    auto wait = block ? std::chrono::microseconds(std::chrono::seconds(1))
                      : std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    timer_.expires_after(wait);
    timer_.async_wait([this, gen](const boost::system::error_code& e) { onTimer(gen, e); });
}

bool NetSnmpLoop::canSend() const {
    netsnmp_large_fd_set fdset;
    netsnmp_large_fd_set_init(&fdset, FD_SETSIZE);
    int numfds = 0;
    int block = 1;
    timeval tv{};
    snmp_select_info2(&numfds, &fdset, &tv, &block);
    std::vector<pollfd> fds;
    for (int fd = 0; fd < numfds; ++fd) {
        struct stat st {};
        // Only sockets carry PDUs; Net-SNMP also watches internal pipes, never writable here.
        if (NETSNMP_LARGE_FD_ISSET(fd, &fdset) && ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
            fds.push_back({fd, POLLOUT, 0});
        }
    }
    netsnmp_large_fd_set_cleanup(&fdset);
    if (fds.empty()) {
        return false;
    }
    if (::poll(fds.data(), fds.size(), 0) < 0) {
        return false;
    }
    for (const pollfd& p : fds) {
        if ((p.revents & POLLOUT) == 0) {
            return false;
        }
    }
    return true;
}

void NetSnmpLoop::onReadable(std::uint64_t gen, int fd, const boost::system::error_code& ec) {
    if (ec || gen != gen_ || stopped_) {
        return; // cancelled by a reschedule, or stale: the fresh registration reports it again
    }
    netsnmp_large_fd_set fdset;
    netsnmp_large_fd_set_init(&fdset, FD_SETSIZE);
    NETSNMP_LARGE_FD_SET(fd, &fdset);
    snmp_read2(&fdset);
    netsnmp_large_fd_set_cleanup(&fdset);
    afterEvent_();
    reschedule();
}

void NetSnmpLoop::onTimer(std::uint64_t gen, const boost::system::error_code& ec) {
    if (ec || gen != gen_ || stopped_) {
        return;
    }
    snmp_timeout();
    run_alarms();
    afterEvent_();
    reschedule();
}

} // namespace hs::subagent

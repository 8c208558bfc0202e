#include "subagent/netsnmp_loop.hpp"

#include "base/log.hpp"

// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>
// clang-format on

#include <chrono>
#include <poll.h>
#include <sys/stat.h>

namespace hs::subagent {
namespace {

// The fds Net-SNMP wants watched, and when it next needs snmp_timeout()/run_alarms().
struct SelectInfo {
    std::vector<int> fds;
    bool block = true;
    std::chrono::microseconds timeout{0};
};

SelectInfo selectInfo() {
    netsnmp_large_fd_set fdset;
    netsnmp_large_fd_set_init(&fdset, FD_SETSIZE);
    int numfds = 0;
    int block = 1;
    timeval tv{};
    snmp_select_info2(&numfds, &fdset, &tv, &block);
    SelectInfo info;
    for (int fd = 0; fd < numfds; ++fd) {
        if (NETSNMP_LARGE_FD_ISSET(fd, &fdset)) {
            info.fds.push_back(fd);
        }
    }
    netsnmp_large_fd_set_cleanup(&fdset);
    info.block = block != 0;
    info.timeout = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    return info;
}

} // namespace

NetSnmpLoop::NetSnmpLoop(asio::io_context& io) : io_(io), timer_(io) {}

NetSnmpLoop::~NetSnmpLoop() { // NOLINT(bugprone-exception-escape): see the declaration
    shutdown();
}

void NetSnmpLoop::releaseAll() {
    ++gen_;
    for (auto& w : watches_) {
        // release() deregisters and cancels pending waits but leaves the fd open for Net-SNMP.
        (void)w.desc->release();
    }
    watches_.clear();
}

void NetSnmpLoop::shutdown() {
    stopped_ = true;
    releaseAll();
    timer_.cancel();
}

void NetSnmpLoop::arm(std::size_t i) {
    Watch& w = watches_[i];
    w.waiting = true;
    w.desc->async_wait(
        asio::posix::stream_descriptor::wait_read,
        [this, gen = gen_, i](const boost::system::error_code& e) { onReadable(gen, i, e); });
}

void NetSnmpLoop::reschedule() {
    if (stopped_) {
        return;
    }
    SelectInfo info = selectInfo();
    bool same = !invalid_ && info.fds.size() == watches_.size();
    for (std::size_t i = 0; same && i < info.fds.size(); ++i) {
        same = watches_[i].fd == info.fds[i];
    }
    if (!same) {
        releaseAll();
        invalid_ = false;
        for (int fd : info.fds) {
            auto d = std::make_unique<asio::posix::stream_descriptor>(io_);
            boost::system::error_code ec;
            d->assign(fd, ec);
            if (ec) {
                HS_WARN("snmp loop: cannot watch fd={} error={}", fd, ec.message());
                continue;
            }
            watches_.push_back({fd, std::move(d), false});
        }
    }
    for (std::size_t i = 0; i < watches_.size(); ++i) {
        if (!watches_[i].waiting) {
            arm(i);
        }
    }

    // No alarm pending: wake up anyway now and then (re-registers everything: a safety net).
    auto wait = info.block ? std::chrono::microseconds(std::chrono::seconds(1)) : info.timeout;
    auto deadline = asio::steady_timer::clock_type::now() + wait;
    if (timerArmed_ && timer_.expiry() <= deadline) {
        return; // an earlier wake-up is already set; it reschedules when it fires
    }
    timerArmed_ = true;
    timer_.expires_at(deadline);
    timer_.async_wait([this](const boost::system::error_code& e) { onTimer(e); });
}

bool NetSnmpLoop::canSend() const {
    std::vector<pollfd> fds;
    for (int fd : selectInfo().fds) {
        struct stat st {};
        // Only sockets carry PDUs; Net-SNMP also watches internal pipes, never writable here.
        if (::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
            fds.push_back({fd, POLLOUT, 0});
        }
    }
    if (fds.empty() || ::poll(fds.data(), fds.size(), 0) < 0) {
        return false;
    }
    for (const pollfd& p : fds) {
        if ((p.revents & POLLOUT) == 0) {
            return false;
        }
    }
    return true;
}

// Reads every Net-SNMP fd that is readable now, until none is. The AgentX subagent hands each
// request and response through internal pipes (the callback transport), so one GET makes three
// fds readable in turn; taking them here saves two trips through epoll per request. Only fds that
// poll() reports readable are read: Net-SNMP reads its pipes blocking, and an edge reported by
// epoll may be stale.
void NetSnmpLoop::processReady() {
    constexpr int kMaxRounds = 32; // bounded: never starve the rest of the io_context
    for (int round = 0; round < kMaxRounds; ++round) {
        std::vector<pollfd> fds;
        for (int fd : selectInfo().fds) {
            fds.push_back({fd, POLLIN, 0});
        }
        if (fds.empty() || ::poll(fds.data(), fds.size(), 0) <= 0) {
            return;
        }
        netsnmp_large_fd_set fdset;
        netsnmp_large_fd_set_init(&fdset, FD_SETSIZE);
        for (const pollfd& p : fds) {
            if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                NETSNMP_LARGE_FD_SET(p.fd, &fdset);
            }
        }
        snmp_read2(&fdset);
        netsnmp_large_fd_set_cleanup(&fdset);
    }
    // Still busy: data may be left behind an edge epoll already reported. Register afresh (epoll
    // reports what is readable at registration) instead of waiting for a new edge.
    invalidate();
}

void NetSnmpLoop::onReadable(std::uint64_t gen, std::size_t i,
                             const boost::system::error_code& ec) {
    if (ec || gen != gen_ || stopped_) {
        return; // cancelled by a re-registration, or stale: the fresh registration reports it
    }
    watches_[i].waiting = false;
    processReady();
    reschedule();
}

void NetSnmpLoop::onTimer(const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) {
        return; // re-armed with another deadline (its own handler is pending) or shut down
    }
    timerArmed_ = false;
    if (stopped_) {
        return;
    }
    snmp_timeout();
    run_alarms();
    invalidate();
    reschedule();
}

} // namespace hs::subagent

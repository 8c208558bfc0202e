#include "daemon/float_addr.hpp"

#include "base/log.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hs {

namespace {

constexpr auto kRetryEvery = std::chrono::seconds(1);

std::string errnoText(int err, bool netlink) {
    std::string s = std::strerror(err);
    if (err == EPERM || err == EACCES) {
        s += netlink ? " (needs CAP_NET_ADMIN: hotstandbyd.service.d/address.conf.example)"
                     : " (needs CAP_NET_RAW: hotstandbyd.service.d/address.conf.example)";
    }
    return s;
}

} // namespace

struct FloatAddresses::Entry {
    Entry(asio::io_context& io, AddressConfig c) : cfg(std::move(c)), timer(io) {
        addr.v6 = cfg.v6;
        addr.bytes = cfg.bytes;
        addr.prefix = cfg.prefix;
    }
    AddressConfig cfg;
    floataddr::Address addr;
    asio::steady_timer timer; // the next announcement
    bool held = false;
    bool settled = false;         // the last request for the wanted state succeeded
    std::uint32_t pendingSeq = 0; // a request whose answer is still to be read
    bool pendingAdd = false;
    std::uint32_t announceLeft = 0;
    std::uint32_t ifindex = 0;
    std::string lastError;
    std::uint64_t errors = 0;
    std::uint64_t announced = 0;
    std::int64_t lastChangeUnixMs = 0;
};

FloatAddresses::FloatAddresses(asio::io_context& io, std::vector<AddressConfig> cfg)
    : io_(io), retry_(io) {
    for (auto& c : cfg) {
        entries_.push_back(std::make_unique<Entry>(io, std::move(c)));
    }
}

FloatAddresses::~FloatAddresses() {
    try {
        stop();
    } catch (const std::exception& e) {
        HS_ERROR("event=address_close_failed error=\"{}\"", e.what());
    }
}

void FloatAddresses::stop() {
    for (auto& e : entries_) {
        e->timer.cancel();
    }
    retry_.cancel();
    if (nlWait_) {
        nlWait_->release(); // closed below
        nlWait_.reset();
    }
    if (nl_ >= 0) {
        ::close(nl_);
        nl_ = -1;
    }
    if (watchWait_) {
        watchWait_->release(); // closed below
        watchWait_.reset();
    }
    if (watch_ >= 0) {
        ::close(watch_);
        watch_ = -1;
    }
    if (packet_ >= 0) {
        ::close(packet_);
        packet_ = -1;
    }
}

void FloatAddresses::hold(bool want) {
    watch();
    const bool change = want != wanted_;
    wanted_ = want;
    for (auto& e : entries_) {
        if (change) {
            e->settled = false;
        }
        if (!e->settled) {
            apply(*e);
        }
    }
}

std::vector<FloatAddrStatus> FloatAddresses::status() const {
    std::vector<FloatAddrStatus> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) {
        out.push_back(FloatAddrStatus{e->cfg.address, e->cfg.prefix, e->cfg.interfaceName, e->held,
                                      e->lastError, e->errors, e->announced, e->cfg.v6,
                                      e->lastChangeUnixMs});
    }
    return out;
}

void FloatAddresses::apply(Entry& e) {
    if (!wanted_) {
        e.timer.cancel(); // no announcement of an address this node no longer holds
        e.announceLeft = 0;
    }
    request(e, wanted_);
}

void FloatAddresses::failed(Entry& e, const std::string& what) {
    ++e.errors;
    if (what != e.lastError) {
        HS_WARN("event=address_error address={}/{} interface={} error=\"{}\"", e.cfg.address,
                e.cfg.prefix, e.cfg.interfaceName, what);
    }
    e.lastError = what;
    if (changed_) {
        changed_();
    }
    armRetry();
}

void FloatAddresses::request(Entry& e, bool add) {
    if (nl_ < 0) {
        nl_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (nl_ < 0) {
            failed(e, std::string("rtnetlink socket: ") + errnoText(errno, true));
            return;
        }
        nlWait_ = std::make_unique<asio::posix::stream_descriptor>(io_, nl_);
        sockaddr_nl self{};
        socklen_t len = sizeof self;
        if (::getsockname(nl_, reinterpret_cast<sockaddr*>(&self), &len) == 0) {
            portId_ = self.nl_pid; // assigned at the first send when 0 here: read again below
        }
    }
    e.ifindex = ::if_nametoindex(e.cfg.interfaceName.c_str());
    if (e.ifindex == 0) {
        if (!add) {
            // No interface, no address on it: nothing to release.
            answered(e, false, 0);
            return;
        }
        failed(e, "no such interface " + e.cfg.interfaceName);
        return;
    }
    const std::uint32_t seq = ++seq_;
    std::vector<std::uint8_t> msg = floataddr::addressRequest(add, e.addr, e.ifindex, seq);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(nl_, msg.data(), msg.size(), 0, reinterpret_cast<const sockaddr*>(&kernel),
                 sizeof kernel) < 0) {
        failed(e, fmt::format("rtnetlink {}: {}", add ? "add" : "remove", errnoText(errno, true)));
        return;
    }
    if (portId_ == 0) {
        sockaddr_nl self{};
        socklen_t len = sizeof self;
        if (::getsockname(nl_, reinterpret_cast<sockaddr*>(&self), &len) == 0) {
            portId_ = self.nl_pid;
        }
    }
    e.pendingSeq = seq;
    e.pendingAdd = add;
    drain();
}

// Subscribes to the kernel's IPv4 and IPv6 address notifications (no capability needed). A
// failure is logged once: the addresses still work, they are only not watched.
void FloatAddresses::watch() {
    if (watch_ != -1 || entries_.empty()) { // open, or failed once (-2): not again
        return;
    }
    watch_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    sockaddr_nl groups{};
    groups.nl_family = AF_NETLINK;
    groups.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    if (watch_ < 0 ||
        ::bind(watch_, reinterpret_cast<const sockaddr*>(&groups), sizeof groups) != 0) {
        HS_WARN("event=address_watch_failed error=\"{}\": an address removed by another process "
                "is not added again until the next role change",
                std::strerror(errno));
        if (watch_ >= 0) {
            ::close(watch_);
        }
        watch_ = -2; // not again
        return;
    }
    watchWait_ = std::make_unique<asio::posix::stream_descriptor>(io_, watch_);
    armWatch();
}

void FloatAddresses::armWatch() {
    if (watching_ || !watchWait_) {
        return;
    }
    watching_ = true;
    watchWait_->async_wait(asio::posix::stream_descriptor::wait_read,
                           [this](const boost::system::error_code& ec) {
                               watching_ = false;
                               if (ec) {
                                   return;
                               }
                               readWatch();
                               armWatch();
                           });
}

void FloatAddresses::readWatch() {
    std::array<std::uint8_t, 16384> buf{};
    for (;;) {
        const ssize_t n = ::recv(watch_, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == ENOBUFS) {
                continue; // notifications were lost: the next ones still count
            }
            return;
        }
        const std::span<const std::uint8_t> d(buf.data(), static_cast<std::size_t>(n));
        for (const floataddr::AddressChange& c : floataddr::addressChanges(d)) {
            if (portId_ != 0 && c.portId == portId_) {
                continue; // our own request
            }
            for (auto& e : entries_) {
                if (e->pendingSeq != 0 || !floataddr::sameAddress(c, e->addr) ||
                    c.ifindex != ::if_nametoindex(e->cfg.interfaceName.c_str())) {
                    continue;
                }
                if (!c.added && wanted_ && e->held) {
                    HS_WARN("event=address_lost address={}/{} interface={}: removed by another "
                            "process while this node holds it; adding it again",
                            e->cfg.address, e->cfg.prefix, e->cfg.interfaceName);
                    e->held = false;
                    e->settled = false;
                    if (changed_) {
                        changed_();
                    }
                    apply(*e);
                } else if (c.added && !wanted_) {
                    HS_WARN("event=address_unexpected address={}/{} interface={}: added by another "
                            "process while the peer holds it; removing it",
                            e->cfg.address, e->cfg.prefix, e->cfg.interfaceName);
                    e->settled = false;
                    apply(*e);
                }
            }
        }
    }
}

// Reads every answer there is, without waiting; waits for the socket when one is missing.
void FloatAddresses::drain() {
    std::array<std::uint8_t, 8192> buf{};
    for (;;) {
        const ssize_t n = ::recv(nl_, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            break;
        }
        std::span<const std::uint8_t> d(buf.data(), static_cast<std::size_t>(n));
        for (auto& e : entries_) {
            if (e->pendingSeq == 0) {
                continue;
            }
            if (auto err = floataddr::ackFor(d, e->pendingSeq)) {
                e->pendingSeq = 0;
                answered(*e, e->pendingAdd, *err);
            }
        }
    }
    for (const auto& e : entries_) {
        if (e->pendingSeq != 0) {
            armRead();
            return;
        }
    }
}

void FloatAddresses::armRead() {
    if (reading_ || !nlWait_) {
        return;
    }
    reading_ = true;
    nlWait_->async_wait(asio::posix::stream_descriptor::wait_read,
                        [this](const boost::system::error_code& ec) {
                            reading_ = false;
                            if (ec) {
                                return;
                            }
                            drain();
                        });
}

void FloatAddresses::answered(Entry& e, bool add, int err) {
    if (add != wanted_) {
        return; // superseded: the request for the wanted state follows (or went already)
    }
    const bool absent = !add && floataddr::absentOnRemove(err);
    if (absent) {
        err = 0;
    }
    if (err != 0) {
        failed(e, fmt::format("rtnetlink {} on {}: {}", add ? "add" : "remove", e.cfg.interfaceName,
                              errnoText(err, true)));
        return;
    }
    const bool was = e.held;
    e.held = add;
    e.settled = true;
    e.lastError.clear();
    if (was != e.held) {
        e.lastChangeUnixMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    }
    if (was != e.held || (!add && !absent)) {
        // A removal that found the address (held by us, or left behind by a crash) is logged too.
        HS_INFO("event=address_{} address={}/{} interface={}{}", add ? "added" : "removed",
                e.cfg.address, e.cfg.prefix, e.cfg.interfaceName, !add && !was ? " stale=yes" : "");
    }
    if (add) {
        e.announceLeft = e.cfg.announceCount;
        announce(e);
    }
    if (changed_) {
        changed_();
    }
}

void FloatAddresses::announce(Entry& e) {
    if (!wanted_ || !e.held || e.announceLeft == 0) {
        return;
    }
    --e.announceLeft;
    if (packet_ < 0) {
        packet_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    }
    std::string error;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, e.cfg.interfaceName.c_str(), IFNAMSIZ - 1);
    if (packet_ < 0) {
        error = "packet socket: " + errnoText(errno, false);
    } else if (::ioctl(packet_, SIOCGIFHWADDR, &ifr) != 0) {
        error = "interface MAC: " + errnoText(errno, false);
    } else {
        floataddr::Mac mac{};
        std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, mac.size());
        std::vector<std::uint8_t> frame = e.cfg.v6 ? floataddr::unsolicitedNa(e.addr, mac)
                                                   : floataddr::gratuitousArp(e.addr, mac);
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = static_cast<int>(e.ifindex);
        to.sll_halen = 6;
        std::memcpy(to.sll_addr, frame.data(), 6);
        if (::sendto(packet_, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                     sizeof to) < 0) {
            error = "announcement: " + errnoText(errno, false);
        } else {
            ++e.announced;
        }
    }
    if (!error.empty()) {
        ++e.errors;
        if (error != e.lastError) {
            HS_WARN("event=address_announce_failed address={} interface={} error=\"{}\"",
                    e.cfg.address, e.cfg.interfaceName, error);
        }
        e.lastError = error;
        e.announceLeft = 0; // the address is held; a missing capability will not come back
        if (changed_) {
            changed_();
        }
        return;
    }
    if (e.announceLeft > 0) {
        e.timer.expires_after(e.cfg.announceInterval);
        e.timer.async_wait([this, &e](const boost::system::error_code& ec) {
            if (!ec) {
                announce(e);
            }
        });
    }
}

void FloatAddresses::armRetry() {
    if (retryArmed_) {
        return;
    }
    retryArmed_ = true;
    retry_.expires_after(kRetryEvery);
    retry_.async_wait([this](const boost::system::error_code& ec) {
        retryArmed_ = false;
        if (ec) {
            return;
        }
        for (auto& e : entries_) {
            if (!e->settled && e->pendingSeq == 0) {
                apply(*e);
            }
        }
    });
}

} // namespace hs

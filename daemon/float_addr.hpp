// The floating management addresses of this node ([[address]]): added through rtnetlink while the
// node drives the chassis, announced after each add (gratuitous ARP, unsolicited neighbour
// advertisements), removed when it stops. Runs on the core io_context and never waits: the kernel
// carries out an rtnetlink request inside the send itself (under its rtnl lock), so a release has
// reached the kernel when hold(false) returns, before the frames that may let the peer take over;
// the answer is read without waiting and, should it not be there yet, when the socket says so.
// Announcements are raw frames spaced by a timer. Failures (no such interface, missing
// CAP_NET_ADMIN or CAP_NET_RAW) are logged, counted, shown in the status and retried every second;
// the daemon keeps running. The kernel's address notifications are watched: an address this node
// holds that someone else removes is added again (and announced), one that appears here while
// the peer holds it is removed, each with a warning (the node's own changes are told apart by the
// netlink port they carry).
#pragma once

#include "base/asio.hpp"
#include "core/config.hpp"
#include "daemon/float_addr_msg.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hs {

class FloatAddresses {
  public:
    FloatAddresses(asio::io_context& io, std::vector<AddressConfig> cfg);
    ~FloatAddresses();
    FloatAddresses(const FloatAddresses&) = delete;
    FloatAddresses& operator=(const FloatAddresses&) = delete;

    // Hold every address (add and announce) or release every one (remove, announcements
    // stopped). A removal request has been carried out by the kernel when this returns.
    void hold(bool want);
    bool wanted() const { return wanted_; }
    std::vector<FloatAddrStatus> status() const;
    // Called on the io_context after any change of the status (held, error).
    void onChange(std::function<void()> f) { changed_ = std::move(f); }
    // Closes the sockets and timers (at the daemon's finish, after the last release).
    void stop();

  private:
    struct Entry;
    void apply(Entry& e);
    void request(Entry& e, bool add);
    void drain();
    void armRead();
    void answered(Entry& e, bool add, int err);
    void announce(Entry& e);
    void armRetry();
    void failed(Entry& e, const std::string& what);
    void watch();
    void armWatch();
    void readWatch();

    asio::io_context& io_;
    std::vector<std::unique_ptr<Entry>> entries_;
    bool wanted_ = false;
    int nl_ = -1;     // rtnetlink socket
    int packet_ = -1; // AF_PACKET socket for announcements
    std::unique_ptr<asio::posix::stream_descriptor> nlWait_;
    bool reading_ = false;
    asio::steady_timer retry_;
    bool retryArmed_ = false;
    std::uint32_t seq_ = 0;
    std::uint32_t portId_ = 0; // the request socket's netlink port (its own changes carry it)
    int watch_ = -1;           // rtnetlink socket in the address notification groups
    std::unique_ptr<asio::posix::stream_descriptor> watchWait_;
    bool watching_ = false;
    std::function<void()> changed_;
};

} // namespace hs

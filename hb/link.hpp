// A Link is the I/O of one heartbeat path: it moves already-encoded frames between this node and
// the peer and never interprets them. Links run on the core io_context and never block it: sends
// are asynchronous with a small bounded queue (older frames are dropped, freshness beats
// completeness for heartbeats); broken devices and connections are reopened in the background.
#pragma once

#include "base/asio.hpp"
#include "base/types.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>

namespace hs::hb {

using MacAddress = std::array<std::uint8_t, 6>;

struct LinkConfig {
    std::string name; // "net0", "serial0"
    PathType type = PathType::Udp;
    // udp/tcp: local bind address and the peer's address
    std::string localAddress; // "192.0.2.1" or "127.0.0.1"
    std::uint16_t localPort = 0;
    std::string peerAddress;
    std::uint16_t peerPort = 0;
    // serial
    std::string device; // "/dev/ttyS1" or a pty symlink
    std::uint32_t baud = 115200;
    // ether: the interface the frames leave by ("eth1") and the peer's MAC address on that link
    std::string interfaceName;
    MacAddress peerMac{};
    std::chrono::milliseconds reopenInterval{200};
    std::size_t maxQueuedFrames = 2;
    // tcp: an inbound connection that delivers no authenticated frame for this long is closed
    // (the daemon passes a few detection times of the path).
    std::chrono::milliseconds idleTimeout{3000};
    // tcp: inbound connections from the peer's address that have not delivered an authenticated
    // frame yet; beyond this the oldest of them is closed.
    std::size_t maxPendingInbound = 4;
};

struct LinkStats {
    std::uint64_t sendErrors = 0;
    std::uint64_t ioErrors = 0;
    std::uint64_t dropped = 0;       // frames dropped because the send queue was full
    std::uint64_t streamGarbage = 0; // bytes skipped while resynchronising (stream paths)
    std::uint64_t streamCrcErrors = 0;
    std::uint64_t reopens = 0;
    std::uint64_t foreign = 0; // datagrams and connections refused: not from the configured peer
};

class Link {
  public:
    // Called with one complete raw frame (stream framing already removed, CRC already checked;
    // NOT yet authenticated) and the local receive time. Returns whether the frame proved to be
    // authentic: the link holds no key, and a stream link keeps a new connection only once it
    // delivered an authentic frame (see link_tcp.cpp). Datagram and serial links ignore it.
    using RxHandler = std::function<bool(std::span<const std::uint8_t> frame, TimePoint rxTime)>;
    // Called on I/O trouble (device gone, connection refused); the link keeps retrying by itself.
    using ErrorHandler = std::function<void(const std::error_code& ec, const std::string& what)>;

    virtual ~Link() = default;
    virtual void start(RxHandler onRx, ErrorHandler onError) = 0;
    virtual void send(std::span<const std::uint8_t> frame) = 0; // encoded frame, unwrapped
    virtual void stop() = 0;
    virtual std::string endpoint() const = 0; // for the MIB: "192.0.2.2:7400", "/dev/ttyS1@115200",
                                              // "eth1/02:00:00:00:00:02"
    virtual LinkStats stats() const = 0;
    virtual bool connected() const = 0; // device open / socket usable
    // Wake-on-receive, on by default: frames are handed up as they arrive. Off: an arriving frame
    // wakes no thread; it waits in the kernel until drain(). Only the UDP link does this (it has
    // the kernel's arrival stamps); the others ignore it and keep handing frames up as they arrive.
    virtual void setWakeOnReceive(bool on) = 0;
    // Hands up now every frame that arrived and was not handed up yet, each with its arrival time.
    virtual void drain() = 0;
};

std::unique_ptr<Link> makeLink(asio::io_context& io, const LinkConfig& cfg);

} // namespace hs::hb

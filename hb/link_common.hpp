// Pieces shared by the link implementations: a bounded send queue that drops the oldest frame,
// an error reporter that speaks once per state change, and endpoint formatting.
#pragma once

#include "hb/frame.hpp"
#include "hb/link.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace hs::hb::detail {

// Frames waiting to be written. The frame being written lives apart (`inFlight`) so dropping the
// oldest queued frame never tears a write that already started.
class SendQueue {
  public:
    explicit SendQueue(std::size_t maxQueued) : max_(maxQueued == 0 ? 1 : maxQueued) {}

    // Queues bytes; returns the number of frames dropped to make room (0 or 1).
    std::size_t push(std::vector<std::uint8_t> bytes) {
        std::size_t dropped = 0;
        while (pending_.size() >= max_) {
            pending_.pop_front();
            ++dropped;
        }
        pending_.push_back(std::move(bytes));
        return dropped;
    }
    // Moves the next frame into flight; false when nothing is pending or a write is in flight.
    bool beginWrite() {
        if (busy_ || pending_.empty()) {
            return false;
        }
        inFlight_ = std::move(pending_.front());
        pending_.pop_front();
        busy_ = true;
        return true;
    }
    void endWrite() {
        busy_ = false;
        inFlight_.clear();
    }
    // Forget the frame in flight (its write was aborted) and keep the queued ones.
    void abortWrite() { endWrite(); }
    void clear() {
        pending_.clear();
        endWrite();
    }
    bool busy() const { return busy_; }
    std::size_t pending() const { return pending_.size(); }
    const std::vector<std::uint8_t>& inFlight() const { return inFlight_; }

  private:
    std::size_t max_;
    std::deque<std::vector<std::uint8_t>> pending_;
    std::vector<std::uint8_t> inFlight_;
    bool busy_ = false;
};

// State and helpers every link implementation shares: configuration, counters, the callbacks
// (held through a shared_ptr so stop() may run inside a callback), an error reporter that speaks
// once per distinct trouble (retries of the same failure stay quiet until the link was healthy
// again), and the send queue.
class LinkCore {
  public:
    // Links that hand every frame up as it arrives (link.hpp).
    void setWakeOnReceive(bool /*on*/) {}
    void drain() {}

  protected:
    LinkCore(asio::io_context& io, LinkConfig cfg)
        : io_(io), cfg_(std::move(cfg)), queue_(cfg_.maxQueuedFrames) {}

    void setCallbacks(Link::RxHandler rx, Link::ErrorHandler err) {
        cb_ = std::make_shared<Callbacks>(Callbacks{std::move(rx), std::move(err)});
    }
    void dropCallbacks() { cb_.reset(); }

    // Hands a frame up; returns the handler's verdict (true: authentic).
    bool deliver(std::span<const std::uint8_t> frame, TimePoint rxTime) {
        const auto cb = cb_; // keeps the handler alive even if it stops this link
        if (!stopped_ && cb && cb->rx) {
            return cb->rx(frame, rxTime);
        }
        return false;
    }
    void reportError(const std::string& op, const std::error_code& ec, const std::string& what) {
        const std::string key = op + '/' + ec.category().name() + '/' + std::to_string(ec.value());
        if (key == lastError_) {
            return;
        }
        lastError_ = key;
        const auto cb = cb_;
        if (!stopped_ && cb && cb->err) {
            cb->err(ec, what);
        }
    }
    void markHealthy() { lastError_.clear(); }

    asio::io_context& io_;
    LinkConfig cfg_;
    LinkStats stats_;
    SendQueue queue_;
    bool started_ = false;
    bool stopped_ = false;

  private:
    struct Callbacks {
        Link::RxHandler rx;
        Link::ErrorHandler err;
    };
    std::shared_ptr<Callbacks> cb_;
    std::string lastError_;
};

// The Link handed out by makeLink: owns the shared implementation and stops it on destruction, so
// handlers still queued in the io_context keep only the (stopped) implementation alive.
template <typename Impl> class LinkHandle final : public Link {
  public:
    explicit LinkHandle(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
    // stop() only cancels and closes (no throw in practice); if it ever threw, terminating would
    // be right: the link could not be stopped.
    // NOLINTNEXTLINE(bugprone-exception-escape)
    ~LinkHandle() override { impl_->stop(); }
    LinkHandle(const LinkHandle&) = delete;
    LinkHandle& operator=(const LinkHandle&) = delete;

    void start(RxHandler onRx, ErrorHandler onError) override {
        impl_->start(std::move(onRx), std::move(onError));
    }
    void send(std::span<const std::uint8_t> frame) override { impl_->send(frame); }
    void stop() override { impl_->stop(); }
    std::string endpoint() const override { return impl_->endpoint(); }
    LinkStats stats() const override { return impl_->stats(); }
    bool connected() const override { return impl_->connected(); }
    void setWakeOnReceive(bool on) override { impl_->setWakeOnReceive(on); }
    void drain() override { impl_->drain(); }

  private:
    std::shared_ptr<Impl> impl_;
};

// "192.0.2.2:7400" or "[fe80::1]:7400".
inline std::string formatEndpoint(const std::string& address, std::uint16_t port) {
    if (address.find(':') != std::string::npos) {
        return "[" + address + "]:" + std::to_string(port);
    }
    return address + ":" + std::to_string(port);
}

// The address a packet came from, with an IPv4-mapped IPv6 address turned back into IPv4, so a
// dual-stack socket still recognises the configured peer.
inline asio::ip::address plainAddress(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    }
    return a;
}

std::unique_ptr<Link> makeUdpLink(asio::io_context& io, const LinkConfig& cfg);
std::unique_ptr<Link> makeTcpLink(asio::io_context& io, const LinkConfig& cfg);
std::unique_ptr<Link> makeSerialLink(asio::io_context& io, const LinkConfig& cfg);
std::unique_ptr<Link> makeEtherLink(asio::io_context& io, const LinkConfig& cfg);

} // namespace hs::hb::detail

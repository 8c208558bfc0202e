// UDP path: one datagram is one frame. Binds the local address, sends to the peer and accepts
// datagrams only from the configured peer endpoint (address and port); anything else is counted as
// `foreign` and never handed up. The port is bound exclusively (no SO_REUSEADDR), so no other local
// process can bind it too and read the heartbeats. A socket that cannot be bound (address not
// configured yet, port taken) is retried every reopenInterval.
#include "hb/link_common.hpp"

#include <functional>

namespace hs::hb::detail {
namespace {

using asio::ip::udp;

class UdpLink final : public LinkCore, public std::enable_shared_from_this<UdpLink> {
  public:
    UdpLink(asio::io_context& io, LinkConfig cfg)
        : LinkCore(io, std::move(cfg)), socket_(io), retryTimer_(io) {}

    void start(Link::RxHandler onRx, Link::ErrorHandler onError) {
        if (started_ || stopped_) {
            return;
        }
        started_ = true;
        setCallbacks(std::move(onRx), std::move(onError));
        open();
    }

    void send(std::span<const std::uint8_t> frame) {
        if (stopped_) {
            return;
        }
        stats_.dropped += queue_.push(std::vector<std::uint8_t>(frame.begin(), frame.end()));
        startSend();
    }

    void stop() {
        if (stopped_) {
            return;
        }
        stopped_ = true;
        boost::system::error_code ignored;
        retryTimer_.cancel();
        socket_.close(ignored);
        queue_.clear();
        dropCallbacks();
    }

    std::string endpoint() const { return formatEndpoint(cfg_.peerAddress, cfg_.peerPort); }
    LinkStats stats() const { return stats_; }
    bool connected() const { return socket_.is_open(); }

  private:
    void open() {
        boost::system::error_code ec;
        const auto local = asio::ip::make_address(
            cfg_.localAddress.empty() ? std::string("0.0.0.0") : cfg_.localAddress, ec);
        if (!ec) {
            peer_ = udp::endpoint(asio::ip::make_address(cfg_.peerAddress, ec), cfg_.peerPort);
        }
        if (ec) {
            reportError("address", ec,
                        "udp " + cfg_.name + ": invalid address (local '" + cfg_.localAddress +
                            "', peer '" + cfg_.peerAddress + "'): " + ec.message());
            scheduleReopen();
            return;
        }
        const udp::endpoint localEp(local, cfg_.localPort);
        socket_.open(localEp.protocol(), ec);
        if (!ec) {
            socket_.bind(localEp, ec);
        }
        if (ec) {
            socket_.close();
            ++stats_.ioErrors;
            reportError("bind", ec,
                        "udp " + cfg_.name + ": cannot bind " +
                            formatEndpoint(local.to_string(), cfg_.localPort) + ": " +
                            ec.message());
            scheduleReopen();
            return;
        }
        if (opened_) {
            ++stats_.reopens;
        }
        opened_ = true;
        markHealthy();
        startReceive();
        startSend();
    }

    void scheduleReopen() {
        retryTimer_.expires_after(cfg_.reopenInterval);
        retryTimer_.async_wait(std::bind_front(&UdpLink::onReopenTimer, shared_from_this()));
    }

    void onReopenTimer(const boost::system::error_code& ec) {
        if (ec || stopped_) {
            return;
        }
        open();
    }

    void startReceive() {
        socket_.async_receive_from(asio::buffer(rxBuf_), rxFrom_,
                                   std::bind_front(&UdpLink::onReceive, shared_from_this()));
    }

    void onReceive(const boost::system::error_code& ec, std::size_t n) {
        if (stopped_ || ec == asio::error::operation_aborted) {
            return;
        }
        if (ec) {
            // Unconnected UDP on Linux reports little here; treat anything as a broken socket.
            ++stats_.ioErrors;
            reportError("receive", ec, "udp " + cfg_.name + ": receive failed: " + ec.message());
            closeAndReopen();
            return;
        }
        const TimePoint rxTime = Clock::now();
        if (rxFrom_.port() == peer_.port() &&
            plainAddress(rxFrom_.address()) == plainAddress(peer_.address())) {
            deliver(std::span<const std::uint8_t>(rxBuf_.data(), n), rxTime);
        } else {
            ++stats_.foreign; // not the peer: never reaches the node logic
        }
        if (!stopped_ && socket_.is_open()) {
            startReceive();
        }
    }

    void startSend() {
        if (!socket_.is_open() || !queue_.beginWrite()) {
            return;
        }
        socket_.async_send_to(asio::buffer(queue_.inFlight()), peer_,
                              std::bind_front(&UdpLink::onSent, shared_from_this()));
    }

    void onSent(const boost::system::error_code& ec, std::size_t /*n*/) {
        if (stopped_ || ec == asio::error::operation_aborted) {
            return;
        }
        queue_.endWrite();
        if (ec) {
            // Unreachable network, interface down: count and keep going; the frame is lost.
            ++stats_.sendErrors;
            reportError("send", ec,
                        "udp " + cfg_.name + ": send to " + endpoint() +
                            " failed: " + ec.message());
        } else {
            markHealthy();
        }
        startSend();
    }

    void closeAndReopen() {
        boost::system::error_code ignored;
        socket_.close(ignored);
        queue_.abortWrite();
        scheduleReopen();
    }

    udp::socket socket_;
    asio::steady_timer retryTimer_;
    udp::endpoint peer_;
    udp::endpoint rxFrom_;
    std::array<std::uint8_t, kMaxFrame + 1> rxBuf_{};
    bool opened_ = false;
};

} // namespace

std::unique_ptr<Link> makeUdpLink(asio::io_context& io, const LinkConfig& cfg) {
    return std::make_unique<LinkHandle<UdpLink>>(std::make_shared<UdpLink>(io, cfg));
}

} // namespace hs::hb::detail

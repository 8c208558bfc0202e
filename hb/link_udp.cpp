// UDP path: one datagram is one frame. Binds the local address, sends to the peer and accepts
// datagrams only from the configured peer endpoint (address and port); anything else is counted as
// `foreign` and never handed up. The port is bound exclusively (no SO_REUSEADDR), so no other local
// process can bind it too and read the heartbeats. A socket that cannot be bound (address not
// configured yet, port taken) is retried every reopenInterval.
//
// Receiving: the socket is a plain non-blocking descriptor, registered with the io_context's
// reactor only while wake-on-receive is on (the default). With it off, an arriving datagram wakes
// nobody: it waits in the socket until drain(), which reads everything queued with one recvmmsg
// call per batch and hands each frame up with the time the kernel stamped on its arrival
// (SO_TIMESTAMPNS), so freshness and round trips see when the frame arrived, not when it was read.
// Sending is one non-blocking sendto.
#include "hb/link_common.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace hs::hb::detail {
namespace {

using asio::ip::udp;

// Datagrams read by one recvmmsg call; a drain that fills a batch reads another.
constexpr std::size_t kBatch = 8;

std::error_code lastErrno() {
    return {errno, std::generic_category()};
}

class UdpLink final : public LinkCore, public std::enable_shared_from_this<UdpLink> {
  public:
    UdpLink(asio::io_context& io, LinkConfig cfg)
        : LinkCore(io, std::move(cfg)), waker_(io), retryTimer_(io) {}

    ~UdpLink() { closeSocket(); }
    UdpLink(const UdpLink&) = delete;
    UdpLink& operator=(const UdpLink&) = delete;

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
        retryTimer_.cancel();
        closeSocket();
        queue_.clear();
        dropCallbacks();
    }

    void setWakeOnReceive(bool on) {
        if (on == wake_) {
            return;
        }
        wake_ = on;
        if (on) {
            armWaker(); // reads what arrived meanwhile at once
        } else {
            disarmWaker();
        }
    }

    void drain() {
        if (stopped_ || fd_ < 0) {
            return;
        }
        drainSocket();
    }

    std::string endpoint() const { return formatEndpoint(cfg_.peerAddress, cfg_.peerPort); }
    LinkStats stats() const { return stats_; }
    bool connected() const { return fd_ >= 0; }

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
        std::error_code err;
        const int fd = ::socket(localEp.protocol().family(),
                                SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd < 0) {
            err = lastErrno();
        } else if (::bind(fd, localEp.data(), static_cast<socklen_t>(localEp.size())) != 0) {
            err = lastErrno();
            ::close(fd);
        }
        if (err) {
            ++stats_.ioErrors;
            reportError("bind", err,
                        "udp " + cfg_.name + ": cannot bind " +
                            formatEndpoint(local.to_string(), cfg_.localPort) + ": " +
                            err.message());
            scheduleReopen();
            return;
        }
        // Without arrival stamps a frame is credited with the time it is read (stampless()).
        const int one = 1;
        (void)::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        fd_ = fd;
        lastRead_.reset();
        if (opened_) {
            ++stats_.reopens;
        }
        opened_ = true;
        markHealthy();
        if (wake_) {
            armWaker();
        }
        startSend();
    }

    void closeSocket() {
        ++gen_;
        disarmWaker();
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
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

    // ---- receive ----
    // Registers the descriptor with the reactor and waits for it to become readable; what is
    // queued already is read now (an edge that came before the registration is not seen).
    void armWaker() {
        if (fd_ < 0 || waker_.is_open()) {
            return;
        }
        boost::system::error_code ec;
        waker_.assign(fd_, ec);
        if (ec) {
            ++stats_.ioErrors;
            reportError("watch", ec, "udp " + cfg_.name + ": cannot watch socket: " + ec.message());
            closeAndReopen();
            return;
        }
        drainSocket();
        waitReadable();
    }

    // Takes the descriptor out of the reactor (it stays open): arrivals wake nobody.
    void disarmWaker() {
        if (waker_.is_open()) {
            ++wakeGen_;
            (void)waker_.release();
        }
    }

    void waitReadable() {
        if (!waker_.is_open() || stopped_) {
            return;
        }
        waker_.async_wait(asio::posix::stream_descriptor::wait_read,
                          std::bind_front(&UdpLink::onReadable, shared_from_this(), wakeGen_));
    }

    void onReadable(std::uint64_t wakeGen, const boost::system::error_code& ec) {
        if (stopped_ || wakeGen != wakeGen_ || ec == asio::error::operation_aborted) {
            return;
        }
        if (ec) {
            ++stats_.ioErrors;
            reportError("receive", ec, "udp " + cfg_.name + ": receive failed: " + ec.message());
            closeAndReopen();
            return;
        }
        const std::uint64_t gen = gen_;
        drainSocket();
        if (gen == gen_ && wakeGen == wakeGen_) {
            waitReadable();
        }
    }

    // Reads everything queued: a batch that comes back short means the queue is empty, so no read
    // ends in EAGAIN unless nothing at all was there. A handler that asks for a drain meanwhile
    // (turning wake-on-receive on) gets one more read of this loop, not a nested one.
    void drainSocket() {
        if (inDrain_) {
            drainAgain_ = true;
            return;
        }
        const auto self = shared_from_this(); // a handler may let the link go
        inDrain_ = true;
        drainLoop();
        inDrain_ = false;
        drainAgain_ = false;
    }

    void drainLoop() {
        const std::uint64_t gen = gen_;
        for (;;) {
            const TimePoint callStart = Clock::now();
            for (std::size_t i = 0; i < kBatch; ++i) {
                iov_[i] = {rxBuf_[i].data(), rxBuf_[i].size()};
                msgs_[i] = {};
                msgs_[i].msg_hdr.msg_name = &from_[i];
                msgs_[i].msg_hdr.msg_namelen = sizeof(from_[i]);
                msgs_[i].msg_hdr.msg_iov = &iov_[i];
                msgs_[i].msg_hdr.msg_iovlen = 1;
                msgs_[i].msg_hdr.msg_control = ctrl_[i].data();
                msgs_[i].msg_hdr.msg_controllen = ctrl_[i].size();
            }
            const int n = ::recvmmsg(fd_, msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                    lastRead_ = callStart;
                    if (!std::exchange(drainAgain_, false)) {
                        return;
                    }
                    continue;
                }
                const std::error_code err = lastErrno();
                if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) {
                    continue; // a queued ICMP error, not a broken socket
                }
                // Unconnected UDP on Linux reports little here; treat anything as broken.
                ++stats_.ioErrors;
                reportError("receive", err,
                            "udp " + cfg_.name + ": receive failed: " + err.message());
                closeAndReopen();
                return;
            }
            timespec realNow{};
            ::clock_gettime(CLOCK_REALTIME, &realNow);
            const TimePoint steadyNow = Clock::now(); // after: an age never comes out too large
            // A datagram still queued arrived after the previous read started.
            const std::optional<TimePoint> floor = lastRead_;
            lastRead_ = callStart;
            for (int i = 0; i < n; ++i) {
                const TimePoint rxTime = arrival(msgs_[i].msg_hdr, realNow, steadyNow, floor);
                udp::endpoint from;
                const auto len =
                    std::min<std::size_t>(msgs_[i].msg_hdr.msg_namelen, from.capacity());
                std::memcpy(from.data(), &from_[i], len);
                from.resize(len);
                if (from.port() == peer_.port() &&
                    plainAddress(from.address()) == plainAddress(peer_.address())) {
                    deliver(std::span<const std::uint8_t>(rxBuf_[i].data(), msgs_[i].msg_len),
                            rxTime);
                } else {
                    ++stats_.foreign; // not the peer: never reaches the node logic
                }
                if (stopped_ || gen != gen_) {
                    return; // stopped or reopened by a handler
                }
            }
            if (static_cast<std::size_t>(n) < kBatch && !std::exchange(drainAgain_, false)) {
                return;
            }
        }
    }

    // The kernel's arrival stamp (CLOCK_REALTIME) moved onto the steady clock by its age, which is
    // kept between 0 and the time since the previous read (a wall-clock step cannot make a frame
    // look older or newer than that).
    static TimePoint arrival(msghdr& h, const timespec& realNow, TimePoint steadyNow,
                             const std::optional<TimePoint>& floor) {
        for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) {
                continue;
            }
            timespec ts{};
            std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
            const auto age = std::chrono::seconds(realNow.tv_sec - ts.tv_sec) +
                             std::chrono::nanoseconds(realNow.tv_nsec - ts.tv_nsec);
            TimePoint t = steadyNow - std::chrono::duration_cast<Duration>(age);
            if (t > steadyNow) {
                t = steadyNow;
            }
            if (floor && t < *floor) {
                t = *floor;
            }
            return t;
        }
        return steadyNow;
    }

    // ---- send ----
    void startSend() {
        if (fd_ < 0 || !queue_.beginWrite()) {
            return;
        }
        const auto& bytes = queue_.inFlight();
        std::error_code err;
        if (::sendto(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL, peer_.data(),
                     static_cast<socklen_t>(peer_.size())) < 0) {
            err = lastErrno();
        }
        // On the io_context's own thread the datagram is done with at once (a posted completion
        // would cost the thread one more pass through the reactor per frame); from elsewhere it
        // completes as an asynchronous write does, later, so frames sent meanwhile wait in the
        // bounded queue.
        if (io_.get_executor().running_in_this_thread()) {
            onSent(gen_, err);
        } else {
            asio::post(io_, std::bind_front(&UdpLink::onSent, shared_from_this(), gen_, err));
        }
    }

    void onSent(std::uint64_t gen, std::error_code err) {
        if (stopped_ || gen != gen_) {
            return;
        }
        queue_.endWrite();
        if (err) {
            // Unreachable network, interface down, buffer full: count and keep going; the frame
            // is lost.
            ++stats_.sendErrors;
            reportError("send", err,
                        "udp " + cfg_.name + ": send to " + endpoint() +
                            " failed: " + err.message());
        } else {
            markHealthy();
        }
        startSend();
    }

    void closeAndReopen() {
        closeSocket();
        queue_.abortWrite();
        scheduleReopen();
    }

    int fd_ = -1;
    asio::posix::stream_descriptor waker_; // holds fd_ while wake-on-receive is on
    asio::steady_timer retryTimer_;
    udp::endpoint peer_;
    bool wake_ = true;
    bool opened_ = false;
    std::uint64_t gen_ = 0;     // raised when the socket closes
    std::uint64_t wakeGen_ = 0; // raised when the waker lets the descriptor go
    std::optional<TimePoint> lastRead_;
    bool inDrain_ = false;
    bool drainAgain_ = false;
    std::array<std::array<std::uint8_t, kMaxFrame + 1>, kBatch> rxBuf_{};
    std::array<sockaddr_storage, kBatch> from_{};
    std::array<iovec, kBatch> iov_{};
    std::array<std::array<char, CMSG_SPACE(sizeof(timespec)) + 64>, kBatch> ctrl_{};
    std::array<mmsghdr, kBatch> msgs_{};
};

} // namespace

std::unique_ptr<Link> makeUdpLink(asio::io_context& io, const LinkConfig& cfg) {
    return std::make_unique<LinkHandle<UdpLink>>(std::make_shared<UdpLink>(io, cfg));
}

} // namespace hs::hb::detail

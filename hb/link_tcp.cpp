// TCP path, symmetric: each node listens on its local address and connects to the peer's. Frames go
// out on the outbound connection and come in on an accepted inbound connection, wrapped with
// wrapStream() and split again by a StreamDeframer (one per connection). The outbound connection is
// re-established every reopenInterval after any failure; connected() means "outbound connected".
//
// Who may hold the inbound side: only connections from the configured peer address are accepted
// (the others are closed at once and counted as `foreign`). The connection in use ("current") is
// the one that last proved itself by delivering an authentic frame (the RxHandler says so: the
// link holds no key); a newer connection stays "pending" until it does the same, and only then
// replaces the current one. A connection is closed on its first framing error (bytes that are not
// a well-formed frame, bad length, CRC) and when it delivered no authentic frame for idleTimeout;
// at most maxPendingInbound connections may be pending, the oldest is closed beyond that.
#include "hb/link_common.hpp"

#include <algorithm>
#include <functional>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace hs::hb::detail {
namespace {

using asio::ip::tcp;

// One accepted connection; handlers hold it so its buffer outlives a pending read.
struct Inbound {
    Inbound(asio::io_context& io, StreamDeframer::FrameHandler onFrame)
        : socket(io), idleTimer(io), deframer(std::move(onFrame)) {}
    tcp::socket socket;
    asio::steady_timer idleTimer;
    StreamDeframer deframer;
    std::array<std::uint8_t, 4096> buf{};
    TimePoint idleDeadline{};   // closed when no authentic frame arrived by then
    bool idleGraceUsed = false; // one extension when data is waiting (we were stalled)
    bool closed = false;
    std::uint64_t garbageSeen = 0; // deframer counters already added to the link's totals
    std::uint64_t crcSeen = 0;

    bool framingError() const { return deframer.garbageBytes() != 0; }
};

class TcpLink final : public LinkCore, public std::enable_shared_from_this<TcpLink> {
  public:
    TcpLink(asio::io_context& io, LinkConfig cfg)
        : LinkCore(io, std::move(cfg)), acceptor_(io), out_(io), listenTimer_(io),
          connectTimer_(io) {}

    void start(Link::RxHandler onRx, Link::ErrorHandler onError) {
        if (started_ || stopped_) {
            return;
        }
        started_ = true;
        setCallbacks(std::move(onRx), std::move(onError));
        boost::system::error_code ec;
        boost::system::error_code peerEc;
        const auto local = asio::ip::make_address(
            cfg_.localAddress.empty() ? std::string("0.0.0.0") : cfg_.localAddress, ec);
        const auto peer = asio::ip::make_address(cfg_.peerAddress, peerEc);
        if (!ec) {
            ec = peerEc;
        }
        if (ec) {
            reportError("address", ec,
                        "tcp " + cfg_.name + ": invalid address (local '" + cfg_.localAddress +
                            "', peer '" + cfg_.peerAddress + "'): " + ec.message());
            return;
        }
        localEp_ = tcp::endpoint(local, cfg_.localPort);
        peerEp_ = tcp::endpoint(peer, cfg_.peerPort);
        listen();
        connect();
    }

    void send(std::span<const std::uint8_t> frame) {
        if (stopped_) {
            return;
        }
        std::vector<std::uint8_t> wrapped;
        wrapStream(frame, wrapped);
        stats_.dropped += queue_.push(std::move(wrapped));
        startWrite();
    }

    void stop() {
        if (stopped_) {
            return;
        }
        stopped_ = true;
        boost::system::error_code ignored;
        listenTimer_.cancel();
        connectTimer_.cancel();
        acceptor_.close(ignored);
        out_.close(ignored);
        if (current_) {
            closeInbound(current_);
        }
        while (!pending_.empty()) {
            closeInbound(pending_.front());
        }
        connected_ = false;
        queue_.clear();
        dropCallbacks();
    }

    std::string endpoint() const { return formatEndpoint(cfg_.peerAddress, cfg_.peerPort); }
    LinkStats stats() const { return stats_; }
    bool connected() const { return connected_; }

  private:
    std::string where() const { return "tcp " + cfg_.name + ": "; }
    std::chrono::milliseconds connectTimeout() const {
        return std::max<std::chrono::milliseconds>(cfg_.reopenInterval * 5, seconds(1));
    }

    // ---- listening side ----
    void listen() {
        boost::system::error_code ec;
        acceptor_.open(localEp_.protocol(), ec);
        if (!ec) {
            acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
        }
        if (!ec) {
            acceptor_.bind(localEp_, ec);
        }
        if (!ec) {
            acceptor_.listen(asio::socket_base::max_listen_connections, ec);
        }
        if (ec) {
            acceptor_.close();
            ++stats_.ioErrors;
            reportError("listen", ec,
                        where() + "cannot listen on " +
                            formatEndpoint(localEp_.address().to_string(), localEp_.port()) + ": " +
                            ec.message());
            listenTimer_.expires_after(cfg_.reopenInterval);
            listenTimer_.async_wait(std::bind_front(&TcpLink::onListenTimer, shared_from_this()));
            return;
        }
        startAccept();
    }

    void onListenTimer(const boost::system::error_code& ec) {
        if (ec || stopped_) {
            return;
        }
        listen();
    }

    void startAccept() {
        // The deframer calls back with a raw pointer: the connection owns the deframer and every
        // feed() runs inside a read handler that holds the connection.
        auto conn = std::make_shared<Inbound>(io_, nullptr);
        conn->deframer = StreamDeframer(
            [this, c = conn.get()](std::span<const std::uint8_t> f) { onInboundFrame(*c, f); });
        acceptor_.async_accept(conn->socket,
                               std::bind_front(&TcpLink::onAccept, shared_from_this(), conn));
    }

    void onAccept(const std::shared_ptr<Inbound>& conn, const boost::system::error_code& ec) {
        if (stopped_ || ec == asio::error::operation_aborted) {
            return;
        }
        if (ec) {
            // Out of descriptors and the like: the acceptor itself is fine, try again shortly.
            ++stats_.ioErrors;
            reportError("accept", ec, where() + "accept failed: " + ec.message());
            boost::system::error_code ignored;
            acceptor_.close(ignored);
            listenTimer_.expires_after(cfg_.reopenInterval);
            listenTimer_.async_wait(std::bind_front(&TcpLink::onListenTimer, shared_from_this()));
            return;
        }
        boost::system::error_code remoteEc;
        const tcp::endpoint remote = conn->socket.remote_endpoint(remoteEc);
        if (remoteEc || plainAddress(remote.address()) != plainAddress(peerEp_.address())) {
            // Not the peer (or already gone): refuse without reading a byte.
            if (!remoteEc) {
                ++stats_.foreign;
            }
            boost::system::error_code ignored;
            conn->socket.close(ignored);
            startAccept();
            return;
        }
        boost::system::error_code ignored;
        conn->socket.set_option(tcp::no_delay(true), ignored);
        pending_.push_back(conn);
        while (pending_.size() > std::max<std::size_t>(cfg_.maxPendingInbound, 1)) {
            closeInbound(pending_.front());
        }
        if (cfg_.idleTimeout.count() > 0) {
            conn->idleDeadline = Clock::now() + cfg_.idleTimeout;
            armIdle(conn);
        }
        startInboundRead(conn);
        startAccept();
    }

    void startInboundRead(const std::shared_ptr<Inbound>& conn) {
        conn->socket.async_read_some(
            asio::buffer(conn->buf),
            std::bind_front(&TcpLink::onInboundRead, shared_from_this(), conn));
    }

    void onInboundRead(const std::shared_ptr<Inbound>& conn, const boost::system::error_code& ec,
                       std::size_t n) {
        if (stopped_ || conn->closed) {
            return;
        }
        if (ec) {
            if (ec != asio::error::eof && conn == current_) {
                ++stats_.ioErrors;
                reportError("inbound", ec, where() + "inbound connection failed: " + ec.message());
            }
            closeInbound(conn);
            return;
        }
        rxTime_ = Clock::now();
        conn->deframer.feed(std::span<const std::uint8_t>(conn->buf.data(), n));
        if (stopped_ || conn->closed) {
            return;
        }
        countStreamErrors(*conn);
        if (conn->framingError()) {
            // The peer's stream starts on a frame boundary and is reliable: anything else is not
            // the peer speaking.
            closeInbound(conn);
            return;
        }
        startInboundRead(conn);
    }

    void onInboundFrame(Inbound& conn, std::span<const std::uint8_t> frame) {
        if (stopped_ || conn.closed || conn.framingError()) {
            return; // nothing after the first error in the same read is believed
        }
        const bool authentic = deliver(frame, rxTime_);
        if (!authentic || stopped_ || conn.closed) {
            return;
        }
        conn.idleDeadline = rxTime_ + cfg_.idleTimeout;
        conn.idleGraceUsed = false;
        if (current_.get() == &conn) {
            return;
        }
        // A pending connection proved itself: it becomes the one in use, the old one goes.
        const auto it = std::find_if(pending_.begin(), pending_.end(),
                                     [&conn](const auto& p) { return p.get() == &conn; });
        if (it == pending_.end()) {
            return;
        }
        const std::shared_ptr<Inbound> promoted = *it;
        pending_.erase(it);
        if (current_) {
            closeInbound(current_);
        }
        current_ = promoted;
    }

    void armIdle(const std::shared_ptr<Inbound>& conn) {
        conn->idleTimer.expires_at(conn->idleDeadline);
        conn->idleTimer.async_wait(
            std::bind_front(&TcpLink::onIdleTimer, shared_from_this(), conn));
    }

    void onIdleTimer(const std::shared_ptr<Inbound>& conn, const boost::system::error_code& ec) {
        if (ec || stopped_ || conn->closed) {
            return;
        }
        const TimePoint now = Clock::now();
        if (now < conn->idleDeadline) {
            armIdle(conn); // an authentic frame arrived meanwhile
            return;
        }
        boost::system::error_code availEc;
        if (!conn->idleGraceUsed && conn->socket.available(availEc) > 0 && !availEc) {
            // Bytes are waiting: this process was stalled, not the connection idle. Let the read
            // handler see them before judging (once; an authentic frame renews the grace).
            conn->idleGraceUsed = true;
            conn->idleDeadline = now + cfg_.idleTimeout;
            armIdle(conn);
            return;
        }
        closeInbound(conn);
    }

    // Adds what the connection's deframer skipped since the last look to the link's counters.
    void countStreamErrors(Inbound& conn) {
        const std::uint64_t garbage = conn.deframer.garbageBytes();
        const std::uint64_t crc = conn.deframer.crcErrors();
        stats_.streamGarbage += garbage - conn.garbageSeen;
        stats_.streamCrcErrors += crc - conn.crcSeen;
        conn.garbageSeen = garbage;
        conn.crcSeen = crc;
    }

    // By value: conn may be current_ itself, which this resets.
    // NOLINTNEXTLINE(performance-unnecessary-value-param)
    void closeInbound(std::shared_ptr<Inbound> conn) {
        if (conn->closed) {
            return;
        }
        conn->closed = true;
        countStreamErrors(*conn);
        boost::system::error_code ignored;
        conn->socket.close(ignored);
        conn->idleTimer.cancel();
        if (current_ == conn) {
            current_.reset();
        }
        std::erase(pending_, conn);
    }

    // ---- outbound side ----
    void connect() {
        ++outGen_;
        boost::system::error_code ec;
        out_.open(peerEp_.protocol(), ec);
        if (!ec && !cfg_.localAddress.empty()) {
            out_.bind(tcp::endpoint(localEp_.address(), 0), ec);
        }
        if (!ec) {
            out_.set_option(tcp::no_delay(true), ec);
        }
        if (ec) {
            failOutbound("connect", ec);
            return;
        }
        // Give up on a connection whose peer stays silent instead of queueing for minutes.
        const int userTimeoutMs = static_cast<int>(connectTimeout().count());
        ::setsockopt(out_.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &userTimeoutMs,
                     sizeof userTimeoutMs);
        out_.async_connect(peerEp_,
                           std::bind_front(&TcpLink::onConnect, shared_from_this(), outGen_));
        connectTimer_.expires_after(connectTimeout());
        connectTimer_.async_wait(
            std::bind_front(&TcpLink::onConnectTimeout, shared_from_this(), outGen_));
    }

    void onConnect(std::uint64_t gen, const boost::system::error_code& ec) {
        if (stopped_ || gen != outGen_) {
            return;
        }
        connectTimer_.cancel();
        if (ec) {
            failOutbound("connect", ec);
            return;
        }
        connected_ = true;
        if (everConnected_) {
            ++stats_.reopens;
        }
        everConnected_ = true;
        markHealthy();
        startOutboundRead();
        startWrite();
    }

    void onConnectTimeout(std::uint64_t gen, const boost::system::error_code& ec) {
        if (ec || stopped_ || gen != outGen_ || connected_) {
            return;
        }
        failOutbound("connect", asio::error::timed_out);
    }

    // The peer never sends on our outbound connection; a read completes only when it closes.
    void startOutboundRead() {
        out_.async_read_some(asio::buffer(outSink_), std::bind_front(&TcpLink::onOutboundRead,
                                                                     shared_from_this(), outGen_));
    }

    void onOutboundRead(std::uint64_t gen, const boost::system::error_code& ec, std::size_t) {
        if (stopped_ || gen != outGen_) {
            return;
        }
        if (ec) {
            failOutbound("closed", ec);
            return;
        }
        startOutboundRead();
    }

    void startWrite() {
        if (!connected_ || !queue_.beginWrite()) {
            return;
        }
        asio::async_write(out_, asio::buffer(queue_.inFlight()),
                          std::bind_front(&TcpLink::onWritten, shared_from_this(), outGen_));
    }

    void onWritten(std::uint64_t gen, const boost::system::error_code& ec, std::size_t) {
        if (stopped_ || gen != outGen_) {
            return;
        }
        if (ec) {
            ++stats_.sendErrors;
            failOutbound("send", ec);
            return;
        }
        queue_.endWrite();
        startWrite();
    }

    // Closes the outbound connection (invalidating its pending handlers) and retries later.
    void failOutbound(const std::string& op, const boost::system::error_code& ec) {
        ++outGen_;
        if (connected_ || op != "connect") {
            ++stats_.ioErrors;
        }
        const bool wasConnected = connected_;
        connected_ = false;
        boost::system::error_code ignored;
        out_.close(ignored);
        connectTimer_.cancel();
        queue_.abortWrite();
        const std::string what = wasConnected ? "connection to " + endpoint() + " lost (" + op + ")"
                                              : "cannot connect to " + endpoint();
        reportError(op, ec, where() + what + ": " + ec.message());
        connectTimer_.expires_after(cfg_.reopenInterval);
        connectTimer_.async_wait(
            std::bind_front(&TcpLink::onRetryTimer, shared_from_this(), outGen_));
    }

    void onRetryTimer(std::uint64_t gen, const boost::system::error_code& ec) {
        if (ec || stopped_ || gen != outGen_) {
            return;
        }
        connect();
    }

    tcp::acceptor acceptor_;
    tcp::socket out_;
    asio::steady_timer listenTimer_;
    asio::steady_timer connectTimer_; // connect timeout, then reconnect backoff
    tcp::endpoint localEp_;
    tcp::endpoint peerEp_;
    std::shared_ptr<Inbound> current_;              // proved itself with an authentic frame
    std::vector<std::shared_ptr<Inbound>> pending_; // from the peer's address, not yet proven
    TimePoint rxTime_{};
    std::array<std::uint8_t, 256> outSink_{};
    std::uint64_t outGen_ = 0;
    bool connected_ = false;
    bool everConnected_ = false;
};

} // namespace

std::unique_ptr<Link> makeTcpLink(asio::io_context& io, const LinkConfig& cfg) {
    return std::make_unique<LinkHandle<TcpLink>>(std::make_shared<TcpLink>(io, cfg));
}

} // namespace hs::hb::detail

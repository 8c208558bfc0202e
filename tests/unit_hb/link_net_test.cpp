// UDP and TCP links over loopback with kernel-chosen ports.
#include "hb/link.hpp"
#include "test_util.hpp"

#include <array>
#include <gtest/gtest.h>
#include <sys/socket.h>

namespace hs::hb {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

// Asks the kernel for a free port of the given protocol on 127.0.0.1.
template <typename Proto> std::uint16_t freePort(asio::io_context& io) {
    typename Proto::socket s(io);
    s.open(Proto::v4());
    s.bind({asio::ip::make_address("127.0.0.1"), 0});
    return s.local_endpoint().port();
}

// Records what a link delivers and answers as the daemon does: authentic means it decodes with
// the test key.
struct Received {
    std::vector<Bytes> frames; // everything delivered, authentic or not
    std::vector<Bytes> authentic;
    std::vector<TimePoint> times;
    std::vector<std::string> errors;
    Link::RxHandler rx() {
        return [this](std::span<const std::uint8_t> f, TimePoint t) {
            frames.emplace_back(f.begin(), f.end());
            times.push_back(t);
            Frame decoded;
            const bool ok = decode(f, test::testKey(), decoded) == DecodeError::Ok;
            if (ok)
                authentic.emplace_back(f.begin(), f.end());
            return ok;
        };
    }
    Link::ErrorHandler err() {
        return [this](const std::error_code&, const std::string& what) { errors.push_back(what); };
    }
};

LinkConfig netConfig(PathType type, std::uint16_t local, std::uint16_t peer) {
    LinkConfig c;
    c.name = type == PathType::Udp ? "net0" : "tcp0";
    c.type = type;
    c.localAddress = "127.0.0.1";
    c.localPort = local;
    c.peerAddress = "127.0.0.1";
    c.peerPort = peer;
    c.reopenInterval = 50ms;
    return c;
}

Bytes frame(std::uint64_t seq, std::size_t payload = 8) {
    return encode(test::sampleFrame(seq, payload), test::testKey());
}

// Well formed (CRC and length right on a stream) but signed with another key.
Bytes forged(std::uint64_t seq) {
    const Key other(std::vector<std::uint8_t>(32, 0x5A));
    return encode(test::sampleFrame(seq, 8), other);
}

Bytes wrapped(const Bytes& f) {
    Bytes out;
    wrapStream(f, out);
    return out;
}

// A client socket whose source address is `from` (any 127/8 address works on loopback).
asio::ip::tcp::socket connectFrom(asio::io_context& io, const std::string& from,
                                  std::uint16_t port) {
    asio::ip::tcp::socket s(io);
    s.open(asio::ip::tcp::v4());
    s.bind({asio::ip::make_address(from), 0});
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    return s;
}

// True once the other end closed `s` (read reports end of file or a reset); never blocks.
bool closedByPeer(asio::ip::tcp::socket& s) {
    s.non_blocking(true);
    std::array<std::uint8_t, 256> buf{};
    for (;;) {
        boost::system::error_code ec;
        s.read_some(asio::buffer(buf), ec);
        if (ec == asio::error::would_block)
            return false;
        if (ec)
            return true; // eof, connection reset
    }
}

TEST(UdpLink, LoopbackPairExchangesFrames) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::udp>(io);
    const auto pb = freePort<asio::ip::udp>(io);
    auto a = makeLink(io, netConfig(PathType::Udp, pa, pb));
    auto b = makeLink(io, netConfig(PathType::Udp, pb, pa));
    Received ra, rb;
    a->start(ra.rx(), ra.err());
    b->start(rb.rx(), rb.err());
    EXPECT_TRUE(a->connected());
    EXPECT_EQ(a->endpoint(), "127.0.0.1:" + std::to_string(pb));

    const auto before = Clock::now();
    a->send(frame(1));
    b->send(frame(2, kMaxPayload));
    ASSERT_TRUE(test::runUntil(io, [&] { return ra.frames.size() == 1 && rb.frames.size() == 1; }));
    EXPECT_EQ(rb.frames[0], frame(1));
    EXPECT_EQ(ra.frames[0], frame(2, kMaxPayload));
    EXPECT_GE(rb.times[0], before);
    EXPECT_LE(rb.times[0], Clock::now());
    EXPECT_TRUE(ra.errors.empty());

    for (std::uint64_t s = 10; s < 20; ++s) {
        a->send(frame(s));
        ASSERT_TRUE(test::runUntil(io, [&] { return rb.frames.size() == s - 8; }));
        EXPECT_EQ(rb.frames.back(), frame(s));
    }
}

TEST(UdpLink, SendNeverBlocksAndQueueIsBounded) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::udp>(io);
    const auto pb = freePort<asio::ip::udp>(io);
    auto cfg = netConfig(PathType::Udp, pa, pb); // nobody listens on pb
    cfg.maxQueuedFrames = 2;
    auto a = makeLink(io, cfg);
    Received ra;
    a->start(ra.rx(), ra.err());
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint64_t s = 1; s <= 10000; ++s)
        a->send(frame(s));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    // One frame went into flight at once, the queue holds 2: the rest were dropped (oldest first).
    EXPECT_EQ(a->stats().dropped, 10000u - 1 - 2);
    test::runFor(io, 50ms);
}

TEST(UdpLink, BindFailureIsReportedOnceAndRetried) {
    asio::io_context io;
    asio::ip::udp::socket holder(io);
    holder.open(asio::ip::udp::v4());
    holder.bind({asio::ip::make_address("127.0.0.1"), 0});
    const auto taken = holder.local_endpoint().port();
    auto a = makeLink(io, netConfig(PathType::Udp, taken, freePort<asio::ip::udp>(io)));
    Received ra;
    a->start(ra.rx(), ra.err());
    test::runFor(io, 300ms); // several retries
    ASSERT_EQ(ra.errors.size(), 1u);
    EXPECT_NE(ra.errors[0].find("127.0.0.1:" + std::to_string(taken)), std::string::npos)
        << ra.errors[0];
    EXPECT_NE(ra.errors[0].find("in use"), std::string::npos) << ra.errors[0];
    EXPECT_FALSE(a->connected());
    holder.close();
    ASSERT_TRUE(test::runUntil(io, [&] { return a->connected(); }));
}

TEST(UdpLink, DatagramsFromAnyOtherSourceAreCountedAndNotDelivered) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::udp>(io);
    const auto pb = freePort<asio::ip::udp>(io);
    auto a = makeLink(io, netConfig(PathType::Udp, pa, pb));
    Received ra;
    a->start(ra.rx(), ra.err());
    const asio::ip::udp::endpoint to(asio::ip::make_address("127.0.0.1"), pa);
    auto sendFrom = [&](const std::string& addr, std::uint16_t port, const Bytes& f) {
        asio::ip::udp::socket s(io);
        s.open(asio::ip::udp::v4());
        s.bind({asio::ip::make_address(addr), port});
        s.send_to(asio::buffer(f), to);
    };
    sendFrom("127.0.0.2", pb, frame(1)); // right port, wrong address
    sendFrom("127.0.0.1", 0, frame(2));  // right address, wrong port
    sendFrom("127.0.0.3", 0, frame(3));
    ASSERT_TRUE(test::runUntil(io, [&] { return a->stats().foreign == 3; }));
    sendFrom("127.0.0.1", pb, frame(4)); // the configured peer endpoint
    ASSERT_TRUE(test::runUntil(io, [&] { return ra.frames.size() == 1; }));
    test::runFor(io, 20ms);
    ASSERT_EQ(ra.frames.size(), 1u);
    EXPECT_EQ(ra.frames[0], frame(4));
    EXPECT_EQ(a->stats().foreign, 3u);
    EXPECT_TRUE(ra.errors.empty());
}

TEST(UdpLink, NoOtherSocketCanBindThePort) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::udp>(io);
    auto a = makeLink(io, netConfig(PathType::Udp, pa, freePort<asio::ip::udp>(io)));
    Received ra;
    a->start(ra.rx(), ra.err());
    ASSERT_TRUE(a->connected());
    const asio::ip::udp::endpoint ep(asio::ip::make_address("127.0.0.1"), pa);
    // What a local process would try: SO_REUSEADDR, then SO_REUSEPORT.
    asio::ip::udp::socket thief(io);
    thief.open(asio::ip::udp::v4());
    thief.set_option(asio::ip::udp::socket::reuse_address(true));
    boost::system::error_code ec;
    thief.bind(ep, ec);
    EXPECT_EQ(ec, asio::error::address_in_use) << ec.message();
    asio::ip::udp::socket thief2(io);
    thief2.open(asio::ip::udp::v4());
    const int one = 1;
    ASSERT_EQ(::setsockopt(thief2.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
    thief2.bind(ep, ec);
    EXPECT_EQ(ec, asio::error::address_in_use) << ec.message();
}

TEST(UdpLink, DestroyWithPendingOperationsIsSafe) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::udp>(io);
    auto a = makeLink(io, netConfig(PathType::Udp, pa, freePort<asio::ip::udp>(io)));
    int calls = 0;
    a->start(
        [&](std::span<const std::uint8_t>, TimePoint) {
            ++calls;
            return true;
        },
        nullptr);
    a->send(frame(1));
    a->stop();
    a->send(frame(2)); // ignored after stop
    a.reset();
    test::runFor(io, 20ms);
    EXPECT_EQ(calls, 0);
}

TEST(UdpLink, StopInsideReceiveHandler) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::udp>(io);
    const auto pb = freePort<asio::ip::udp>(io);
    auto a = makeLink(io, netConfig(PathType::Udp, pa, pb));
    auto b = makeLink(io, netConfig(PathType::Udp, pb, pa));
    int calls = 0;
    Link* bp = b.get();
    b->start(
        [&calls, bp](std::span<const std::uint8_t>, TimePoint) {
            ++calls;
            bp->stop();
            return true;
        },
        nullptr);
    a->start(nullptr, nullptr);
    a->send(frame(1));
    ASSERT_TRUE(test::runUntil(io, [&] { return calls == 1; }));
    a->send(frame(2));
    test::runFor(io, 50ms);
    EXPECT_EQ(calls, 1);
}

// Steady state (docs/performance.md): with wake-on-receive off an arriving datagram wakes nobody
// and waits until drain(), which hands it up with the kernel's arrival time, not the time of the
// read; turned back on, the link hands up what waited and every frame as it arrives.
TEST(UdpLink, WithoutWakeOnReceiveFramesWaitForTheDrainAndKeepTheirArrivalTime) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::udp>(io);
    const auto pb = freePort<asio::ip::udp>(io);
    auto a = makeLink(io, netConfig(PathType::Udp, pa, pb));
    auto b = makeLink(io, netConfig(PathType::Udp, pb, pa));
    Received ra, rb;
    a->start(ra.rx(), ra.err());
    b->start(rb.rx(), rb.err());
    b->setWakeOnReceive(false);

    const auto before = Clock::now();
    a->send(frame(1));
    a->send(frame(2));
    test::runFor(io, 300ms);
    EXPECT_TRUE(rb.frames.empty()) << "delivered without a drain";
    const auto drainedAt = Clock::now();
    b->drain();
    ASSERT_EQ(rb.frames.size(), 2u);
    EXPECT_EQ(rb.frames[0], frame(1));
    EXPECT_EQ(rb.frames[1], frame(2));
    for (const auto t : rb.times) {
        EXPECT_GE(t, before);
        EXPECT_LT(t, drainedAt - 150ms) << "credited with the read, not the arrival";
    }
    b->drain(); // nothing more: nothing delivered twice
    EXPECT_EQ(rb.frames.size(), 2u);

    a->send(frame(3));
    test::runFor(io, 50ms);
    EXPECT_EQ(rb.frames.size(), 2u);
    b->setWakeOnReceive(true); // what waited comes up at once
    ASSERT_EQ(rb.frames.size(), 3u);
    EXPECT_EQ(rb.frames[2], frame(3));
    a->send(frame(4));
    ASSERT_TRUE(test::runUntil(io, [&] { return rb.frames.size() == 4; }));
    EXPECT_EQ(rb.frames[3], frame(4));
    EXPECT_TRUE(rb.errors.empty());
}

// The daemon turns wake-on-receive back on from inside the handler of a drained frame (the peer
// started a handover): the frames of the same batch still come up once each, in order.
TEST(UdpLink, WakeOnReceiveTurnedOnInsideADrainDeliversTheBatchOnce) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::udp>(io);
    const auto pb = freePort<asio::ip::udp>(io);
    auto a = makeLink(io, netConfig(PathType::Udp, pa, pb));
    auto b = makeLink(io, netConfig(PathType::Udp, pb, pa));
    a->start(nullptr, nullptr);
    std::vector<Bytes> got;
    Link* bp = b.get();
    b->start(
        [&got, bp](std::span<const std::uint8_t> f, TimePoint) {
            got.emplace_back(f.begin(), f.end());
            bp->setWakeOnReceive(true);
            return true;
        },
        nullptr);
    b->setWakeOnReceive(false);
    for (std::uint64_t s = 1; s <= 5; ++s) {
        a->send(frame(s));
        test::runFor(io, 5ms); // one in flight at a time
    }
    test::runFor(io, 50ms);
    ASSERT_TRUE(got.empty());
    b->drain();
    test::runFor(io, 50ms);
    ASSERT_EQ(got.size(), 5u);
    for (std::uint64_t s = 1; s <= 5; ++s) {
        EXPECT_EQ(got[s - 1], frame(s));
    }
}

TEST(TcpLink, PairExchangesFramesAndReconnectsAfterRestart) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::tcp>(io);
    const auto pb = freePort<asio::ip::tcp>(io);
    auto a = makeLink(io, netConfig(PathType::Tcp, pa, pb));
    auto b = makeLink(io, netConfig(PathType::Tcp, pb, pa));
    Received ra, rb;
    a->start(ra.rx(), ra.err());
    b->start(rb.rx(), rb.err());
    ASSERT_TRUE(test::runUntil(io, [&] { return a->connected() && b->connected(); }));

    a->send(frame(1));
    b->send(frame(2, kMaxPayload));
    ASSERT_TRUE(test::runUntil(io, [&] { return ra.frames.size() == 1 && rb.frames.size() == 1; }));
    EXPECT_EQ(rb.frames[0], frame(1));
    EXPECT_EQ(ra.frames[0], frame(2, kMaxPayload));

    // Restart b: a notices the loss, reports it once, and reconnects by itself.
    const auto errorsBefore = ra.errors.size(); // a may have reported b not listening yet
    b.reset();
    ASSERT_TRUE(test::runUntil(io, [&] { return !a->connected(); }));
    test::runFor(io, 300ms); // a retries connecting several times meanwhile
    EXPECT_FALSE(a->connected());
    const auto errorsWhileDown = ra.errors.size() - errorsBefore;
    EXPECT_GE(errorsWhileDown, 1u);
    EXPECT_LE(errorsWhileDown, 2u); // "lost" and "cannot connect", not one per retry
    for (const auto& e : ra.errors)
        EXPECT_NE(e.find("127.0.0.1:" + std::to_string(pb)), std::string::npos) << e;

    Received rb2;
    b = makeLink(io, netConfig(PathType::Tcp, pb, pa));
    b->start(rb2.rx(), rb2.err());
    ASSERT_TRUE(test::runUntil(io, [&] { return a->connected() && b->connected(); }));
    EXPECT_GE(a->stats().reopens, 1u);
    a->send(frame(3));
    b->send(frame(4));
    ASSERT_TRUE(
        test::runUntil(io, [&] { return rb2.frames.size() == 1 && ra.frames.size() == 2; }));
    EXPECT_EQ(rb2.frames[0], frame(3));
    EXPECT_EQ(ra.frames[1], frame(4));
}

TEST(TcpLink, SendWhileDisconnectedIsBoundedAndFlushedOnConnect) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::tcp>(io);
    const auto pb = freePort<asio::ip::tcp>(io);
    auto a = makeLink(io, netConfig(PathType::Tcp, pa, pb));
    Received ra;
    a->start(ra.rx(), ra.err());
    test::runFor(io, 100ms);
    EXPECT_FALSE(a->connected());
    for (std::uint64_t s = 1; s <= 5; ++s)
        a->send(frame(s));
    EXPECT_EQ(a->stats().dropped, 3u);
    auto b = makeLink(io, netConfig(PathType::Tcp, pb, pa));
    Received rb;
    b->start(rb.rx(), rb.err());
    ASSERT_TRUE(test::runUntil(io, [&] { return rb.frames.size() == 2; }));
    EXPECT_EQ(rb.frames[0], frame(4)); // the newest two
    EXPECT_EQ(rb.frames[1], frame(5));
}

// A link alone, its inbound side fed by hand from test sockets; the peer address is 127.0.0.1.
struct TcpInbound {
    explicit TcpInbound(LinkConfig (*tweak)(LinkConfig) = nullptr) {
        port = freePort<asio::ip::tcp>(io);
        auto cfg = netConfig(PathType::Tcp, port, freePort<asio::ip::tcp>(io));
        if (tweak)
            cfg = tweak(cfg);
        link = makeLink(io, cfg);
        link->start(r.rx(), r.err());
    }
    asio::ip::tcp::socket connect(const std::string& from = "127.0.0.1") {
        return connectFrom(io, from, port);
    }
    asio::io_context io;
    std::uint16_t port = 0;
    Received r;
    std::unique_ptr<Link> link;
};

TEST(TcpLink, FramingErrorClosesTheConnection) {
    TcpInbound t;
    auto s = t.connect();
    asio::write(s, asio::buffer(wrapped(frame(1))));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return t.r.frames.size() == 1; }));
    Bytes bad = wrapped(frame(2));
    bad.back() ^= 0x01; // CRC
    const Bytes good = wrapped(frame(3));
    bad.insert(bad.end(), good.begin(), good.end());
    asio::write(s, asio::buffer(bad));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return closedByPeer(s); }));
    EXPECT_EQ(t.link->stats().streamCrcErrors, 1u);
    ASSERT_EQ(t.r.frames.size(), 1u); // nothing after the error was believed
    EXPECT_EQ(t.r.frames[0], frame(1));

    // Bytes that are no frame at all close it too; the next connection starts afresh.
    auto s2 = t.connect();
    Bytes stream{0x01, 0x02, 0xA5, 0x00};
    const Bytes f4 = wrapped(frame(4));
    stream.insert(stream.end(), f4.begin(), f4.end());
    asio::write(s2, asio::buffer(stream));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return closedByPeer(s2); }));
    EXPECT_GE(t.link->stats().streamGarbage, 4u);
    EXPECT_EQ(t.r.frames.size(), 1u);
    auto s3 = t.connect();
    asio::write(s3, asio::buffer(wrapped(frame(5))));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return t.r.frames.size() == 2; }));
    EXPECT_EQ(t.r.frames[1], frame(5));
}

TEST(TcpLink, ConnectionsFromOtherAddressesAreRefused) {
    TcpInbound t;
    auto foreign = t.connect("127.0.0.2");
    boost::system::error_code ignored;
    asio::write(foreign, asio::buffer(wrapped(frame(1))), ignored);
    ASSERT_TRUE(test::runUntil(t.io, [&] { return closedByPeer(foreign); }));
    EXPECT_EQ(t.link->stats().foreign, 1u);
    test::runFor(t.io, 20ms);
    EXPECT_TRUE(t.r.frames.empty()); // not a byte was read from it
}

TEST(TcpLink, ForeignConnectStormDoesNotEvictThePeer) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::tcp>(io);
    const auto pb = freePort<asio::ip::tcp>(io);
    auto a = makeLink(io, netConfig(PathType::Tcp, pa, pb));
    auto b = makeLink(io, netConfig(PathType::Tcp, pb, pa));
    Received ra, rb;
    a->start(ra.rx(), ra.err());
    b->start(rb.rx(), rb.err());
    ASSERT_TRUE(test::runUntil(io, [&] { return b->connected(); }));
    b->send(frame(1));
    ASSERT_TRUE(test::runUntil(io, [&] { return ra.authentic.size() == 1; }));
    const auto reopensBefore = b->stats().reopens;

    // Every round: a connection from another host, then a heartbeat from the peer, which must
    // arrive on the connection already in use.
    constexpr std::uint64_t kRounds = 50;
    std::vector<asio::ip::tcp::socket> attackers;
    for (std::uint64_t i = 0; i < kRounds; ++i) {
        attackers.push_back(connectFrom(io, "127.0.0.2", pa));
        boost::system::error_code ignored;
        asio::write(attackers.back(), asio::buffer(wrapped(forged(i))), ignored);
        test::runUntil(
            io, [&] { return a->stats().foreign == i + 1; }, 200ms); // a saw it
        b->send(frame(100 + i));
        ASSERT_TRUE(test::runUntil(
            io, [&] { return ra.authentic.size() == i + 2; }, 2s))
            << "heartbeat lost in round " << i;
        EXPECT_EQ(ra.authentic.back(), frame(100 + i));
    }
    EXPECT_EQ(a->stats().foreign, kRounds);
    EXPECT_EQ(ra.frames.size(), kRounds + 1); // the forged frames were never read
    EXPECT_EQ(b->stats().reopens, reopensBefore);
    EXPECT_TRUE(b->connected());
}

TEST(TcpLink, NewConnectionReplacesTheCurrentOneOnlyAfterAnAuthenticFrame) {
    TcpInbound t;
    auto older = t.connect();
    asio::write(older, asio::buffer(wrapped(frame(1))));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return t.r.authentic.size() == 1; }));

    // From the peer's address, but silent, then only forged frames: the older one stays in use.
    auto newer = t.connect();
    test::runFor(t.io, 30ms);
    asio::write(older, asio::buffer(wrapped(frame(2))));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return t.r.authentic.size() == 2; }));
    asio::write(newer, asio::buffer(wrapped(forged(3))));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return t.r.frames.size() == 3; }));
    asio::write(older, asio::buffer(wrapped(frame(4))));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return t.r.authentic.size() == 3; }));
    EXPECT_EQ(t.r.authentic[2], frame(4));
    EXPECT_FALSE(closedByPeer(older));

    // An authentic frame on the newer connection: it takes over, the older one is closed.
    asio::write(newer, asio::buffer(wrapped(frame(5))));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return closedByPeer(older); }));
    ASSERT_EQ(t.r.authentic.size(), 4u);
    EXPECT_EQ(t.r.authentic[3], frame(5));
    asio::write(newer, asio::buffer(wrapped(frame(6))));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return t.r.authentic.size() == 5; }));
    EXPECT_FALSE(closedByPeer(newer));
}

TEST(TcpLink, IdleInboundConnectionsAreClosed) {
    TcpInbound t([](LinkConfig c) {
        c.idleTimeout = 200ms;
        return c;
    });
    auto silent = t.connect();
    auto talker = t.connect();
    asio::write(talker, asio::buffer(wrapped(frame(1))));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return t.r.authentic.size() == 1; }));
    // Neither sends anything more (the talker only forged frames): both are closed.
    asio::write(talker, asio::buffer(wrapped(forged(2))));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return closedByPeer(silent); }));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return closedByPeer(talker); }));
    EXPECT_EQ(t.r.frames.size(), 2u);
}

TEST(TcpLink, PendingConnectionsAreBounded) {
    TcpInbound t([](LinkConfig c) {
        c.maxPendingInbound = 2;
        return c;
    });
    auto first = t.connect();
    auto second = t.connect();
    test::runFor(t.io, 30ms);
    auto third = t.connect();
    ASSERT_TRUE(test::runUntil(t.io, [&] { return closedByPeer(first); }));
    test::runFor(t.io, 30ms);
    EXPECT_FALSE(closedByPeer(second));
    EXPECT_FALSE(closedByPeer(third));
    asio::write(third, asio::buffer(wrapped(frame(1))));
    ASSERT_TRUE(test::runUntil(t.io, [&] { return t.r.authentic.size() == 1; }));
}

} // namespace
} // namespace hs::hb

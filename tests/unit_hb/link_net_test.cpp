// UDP and TCP links over loopback with kernel-chosen ports.
#include "hb/link.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

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

struct Received {
    std::vector<Bytes> frames;
    std::vector<TimePoint> times;
    std::vector<std::string> errors;
    Link::RxHandler rx() {
        return [this](std::span<const std::uint8_t> f, TimePoint t) {
            frames.emplace_back(f.begin(), f.end());
            times.push_back(t);
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

TEST(UdpLink, DestroyWithPendingOperationsIsSafe) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::udp>(io);
    auto a = makeLink(io, netConfig(PathType::Udp, pa, freePort<asio::ip::udp>(io)));
    int calls = 0;
    a->start([&](std::span<const std::uint8_t>, TimePoint) { ++calls; }, nullptr);
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
        },
        nullptr);
    a->start(nullptr, nullptr);
    a->send(frame(1));
    ASSERT_TRUE(test::runUntil(io, [&] { return calls == 1; }));
    a->send(frame(2));
    test::runFor(io, 50ms);
    EXPECT_EQ(calls, 1);
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

TEST(TcpLink, GarbageOnInboundConnectionIsSkipped) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::tcp>(io);
    auto a = makeLink(io, netConfig(PathType::Tcp, pa, freePort<asio::ip::tcp>(io)));
    Received ra;
    a->start(ra.rx(), ra.err());
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), pa});
    Bytes stream{0x01, 0x02, 0xA5, 0x00};
    wrapStream(frame(9), stream);
    asio::write(s, asio::buffer(stream));
    ASSERT_TRUE(test::runUntil(io, [&] { return ra.frames.size() == 1; }));
    EXPECT_EQ(ra.frames[0], frame(9));
    EXPECT_EQ(a->stats().streamGarbage, 4u);
}

TEST(TcpLink, OnlyTheNewestInboundConnectionIsRead) {
    asio::io_context io;
    const auto pa = freePort<asio::ip::tcp>(io);
    auto a = makeLink(io, netConfig(PathType::Tcp, pa, freePort<asio::ip::tcp>(io)));
    Received ra;
    a->start(ra.rx(), ra.err());
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), pa);
    asio::ip::tcp::socket older(io), newer(io);
    older.connect(ep);
    Bytes w1;
    wrapStream(frame(1), w1);
    asio::write(older, asio::buffer(w1));
    ASSERT_TRUE(test::runUntil(io, [&] { return ra.frames.size() == 1; }));
    newer.connect(ep);
    test::runFor(io, 50ms); // accepted: the older connection is closed by a
    Bytes w2, w3;
    wrapStream(frame(2), w2);
    wrapStream(frame(3), w3);
    boost::system::error_code ignored;
    asio::write(older, asio::buffer(w2), ignored);
    asio::write(newer, asio::buffer(w3));
    ASSERT_TRUE(test::runUntil(io, [&] { return ra.frames.size() >= 2; }));
    test::runFor(io, 50ms);
    ASSERT_EQ(ra.frames.size(), 2u);
    EXPECT_EQ(ra.frames[1], frame(3));
}

} // namespace
} // namespace hs::hb

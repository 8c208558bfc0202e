// Serial link over a REAL socat pty pair (termios path), plus the libserialport path's errors and
// enumeration. Cuts the "cable" both ways: SIGSTOP socat, and killing and restarting it.
#include "hb/link.hpp"
#include "hb/serial_ports.hpp"
#include "test_util.hpp"

#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <unistd.h>

namespace hs::hb {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

Bytes frame(std::uint64_t seq, std::size_t payload = 8) {
    return encode(test::sampleFrame(seq, payload), test::testKey());
}

LinkConfig serialConfig(const std::string& device) {
    LinkConfig c;
    c.name = "serial0";
    c.type = PathType::Serial;
    c.device = device;
    c.baud = 115200;
    c.reopenInterval = 50ms;
    return c;
}

struct Received {
    std::vector<Bytes> frames;
    std::vector<std::string> errors;
    Link::RxHandler rx() {
        return [this](std::span<const std::uint8_t> f, TimePoint) {
            frames.emplace_back(f.begin(), f.end());
            return true;
        };
    }
    Link::ErrorHandler err() {
        return [this](const std::error_code&, const std::string& what) { errors.push_back(what); };
    }
};

class SerialPty : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(socat_.start()) << "socat did not create " << socat_.a();
        a_ = makeLink(io_, serialConfig(socat_.a()));
        b_ = makeLink(io_, serialConfig(socat_.b()));
        a_->start(ra_.rx(), ra_.err());
        b_->start(rb_.rx(), rb_.err());
        ASSERT_TRUE(a_->connected());
        ASSERT_TRUE(b_->connected());
    }

    // Sends seq from a and waits for it at b.
    bool deliverAtoB(std::uint64_t seq) {
        const auto want = frame(seq);
        a_->send(want);
        return test::runUntil(
            io_, [&] { return !rb_.frames.empty() && rb_.frames.back() == want; }, 3000ms);
    }

    test::TempDir dir_;
    test::SocatPair socat_{dir_.path()};
    asio::io_context io_;
    std::unique_ptr<Link> a_, b_;
    Received ra_, rb_;
};

TEST_F(SerialPty, FramesFlowBothWays) {
    EXPECT_EQ(a_->endpoint(), socat_.a() + "@115200");
    for (std::uint64_t s = 1; s <= 20; ++s) {
        a_->send(frame(s, s * 10));
        b_->send(frame(100 + s));
        ASSERT_TRUE(
            test::runUntil(io_, [&] { return rb_.frames.size() == s && ra_.frames.size() == s; }));
        EXPECT_EQ(rb_.frames.back(), frame(s, s * 10));
        EXPECT_EQ(ra_.frames.back(), frame(100 + s));
    }
    EXPECT_TRUE(ra_.errors.empty());
    EXPECT_EQ(b_->stats().streamGarbage, 0u);
}

TEST_F(SerialPty, RandomGarbageIsSkipped) {
    // A third writer on ttyA injects line noise that b must skip.
    const int noise = ::open(socat_.a().c_str(), O_WRONLY | O_NOCTTY);
    ASSERT_GE(noise, 0);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255);
    std::size_t garbage = 0;
    for (std::uint64_t s = 1; s <= 30; ++s) {
        Bytes junk(static_cast<std::size_t>(byte(rng)) + 1);
        for (auto& j : junk)
            j = static_cast<std::uint8_t>(byte(rng));
        ASSERT_EQ(::write(noise, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
        garbage += junk.size();
        a_->send(frame(s));
        test::runUntil(
            io_, [&] { return !rb_.frames.empty() && rb_.frames.back() == frame(s); }, 200ms);
    }
    ::close(noise);
    // Noise that happens to look like a long frame header can swallow a frame or two; everything
    // delivered must be a genuine frame and almost all must get through.
    for (const auto& f : rb_.frames) {
        Frame out;
        EXPECT_EQ(decode(f, test::testKey(), out), DecodeError::Ok);
    }
    EXPECT_GE(rb_.frames.size(), 25u);
    EXPECT_GE(b_->stats().streamGarbage, garbage); // every noise byte was skipped
    EXPECT_TRUE(deliverAtoB(1000));
}

TEST_F(SerialPty, ReopensByPathAfterSocatRestart) {
    ASSERT_TRUE(deliverAtoB(1));
    socat_.kill(SIGTERM); // the ptys hang up; the links vanish
    ASSERT_TRUE(test::runUntil(io_, [&] { return !a_->connected() && !b_->connected(); }));
    test::runFor(io_, 300ms); // several failed reopen attempts (dangling link)
    ASSERT_FALSE(ra_.errors.empty());
    EXPECT_NE(ra_.errors[0].find(socat_.a()), std::string::npos) << ra_.errors[0];
    EXPECT_LE(ra_.errors.size(), 2u) << "one report per state change, not per retry";
    for (const auto& e : ra_.errors)
        EXPECT_NE(e.find(socat_.a()), std::string::npos) << e;

    ASSERT_TRUE(socat_.start()); // new ptys behind the same links
    ASSERT_TRUE(test::runUntil(io_, [&] { return a_->connected() && b_->connected(); }));
    EXPECT_GE(a_->stats().reopens, 1u);
    EXPECT_TRUE(deliverAtoB(2));
    b_->send(frame(3));
    ASSERT_TRUE(test::runUntil(io_, [&] { return !ra_.frames.empty(); }));
    EXPECT_EQ(ra_.frames.back(), frame(3));
}

TEST_F(SerialPty, StalledLineNeverBlocksSends) {
    ASSERT_TRUE(deliverAtoB(1));
    socat_.pause();
    // Far more than the pty buffers hold: writes back up, the link must drop instead.
    const auto big = frame(2, kMaxPayload);
    asio::steady_timer tick(io_);
    int ticks = 0;
    std::function<void()> arm = [&] {
        tick.expires_after(5ms);
        tick.async_wait([&](const boost::system::error_code& ec) {
            if (!ec) {
                ++ticks;
                arm();
            }
        });
    };
    arm();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 2000; ++i) {
        a_->send(big);
        if (i % 50 == 0)
            io_.poll();
    }
    test::runFor(io_, 200ms);
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    tick.cancel();
    io_.poll();
    EXPECT_LT(elapsed, 1500ms);
    EXPECT_GE(ticks, 10) << "the io_context stalled";
    EXPECT_GT(a_->stats().dropped, 1000u);
    EXPECT_TRUE(a_->connected());

    socat_.resume();
    // The burst of stale frames arrives, then fresh ones flow again.
    EXPECT_TRUE(deliverAtoB(3));
}

TEST(SerialLink, MissingDeviceErrorIsClearAndRetried) {
    asio::io_context io;
    test::TempDir dir;
    const std::string dev = dir.path() + "/ttyNOPE";
    auto link = makeLink(io, serialConfig(dev));
    Received r;
    link->start(r.rx(), r.err());
    test::runFor(io, 250ms);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find(dev), std::string::npos) << r.errors[0];
    EXPECT_NE(r.errors[0].find("No such file or directory"), std::string::npos) << r.errors[0];
    EXPECT_FALSE(link->connected());
    EXPECT_EQ(link->endpoint(), dev + "@115200");
}

TEST(SerialLink, NotATerminalIsRefused) {
    asio::io_context io;
    test::TempDir dir;
    const std::string dev = dir.path() + "/plainfile";
    { std::ofstream(dev) << "x"; }
    auto link = makeLink(io, serialConfig(dev));
    Received r;
    link->start(r.rx(), r.err());
    test::runFor(io, 20ms);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("not a serial device"), std::string::npos) << r.errors[0];
    EXPECT_FALSE(link->connected());
}

TEST(SerialLink, UnsupportedBaudIsRefused) {
    asio::io_context io;
    auto cfg = serialConfig("/dev/null");
    cfg.baud = 12345;
    auto link = makeLink(io, cfg);
    Received r;
    link->start(r.rx(), r.err());
    test::runFor(io, 20ms);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("12345"), std::string::npos) << r.errors[0];
}

TEST(SerialPorts, EnumerationSucceeds) {
    std::string error;
    const auto ports = listSerialPorts(error);
    EXPECT_TRUE(error.empty()) << error;
    for (const auto& p : ports) {
        EXPECT_FALSE(p.name.empty());
        EXPECT_TRUE(p.transport == "native" || p.transport == "usb" || p.transport == "bluetooth")
            << p.transport;
    }
}

TEST(SerialPorts, ErrorCategory) {
    EXPECT_STREQ(serialPortCategory().name(), "libserialport");
    EXPECT_EQ(std::error_code(-4, serialPortCategory()).message(),
              "not supported by this device or platform");
}

} // namespace
} // namespace hs::hb

// StreamDeframer: resynchronisation after garbage, splits at every byte, CRC and length errors.
#include "hb/frame.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>
#include <random>

namespace hs::hb {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes wrapped(std::uint64_t seq, std::size_t payload = 4) {
    Bytes out;
    wrapStream(encode(test::sampleFrame(seq, payload), test::testKey()), out);
    return out;
}

Bytes frameOf(std::uint64_t seq, std::size_t payload = 4) {
    return encode(test::sampleFrame(seq, payload), test::testKey());
}

struct Collector {
    std::vector<Bytes> frames;
    StreamDeframer deframer{
        [this](std::span<const std::uint8_t> f) { frames.emplace_back(f.begin(), f.end()); }};
    void feed(const Bytes& b) { deframer.feed(b); }
};

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

TEST(StreamDeframer, WrapLayout) {
    const Bytes f = frameOf(1);
    const Bytes w = wrapped(1);
    ASSERT_EQ(w.size(), f.size() + kStreamOverhead);
    EXPECT_EQ(w[0], 0xA5);
    EXPECT_EQ(w[1], 0x5A);
    EXPECT_EQ((std::size_t{w[2]} << 8) | w[3], f.size());
    const std::uint32_t crc = crc32c(f);
    EXPECT_EQ(w[w.size() - 4], crc >> 24);
    EXPECT_EQ(w[w.size() - 1], crc & 0xFF);
}

TEST(StreamDeframer, FramesBackToBackInOneFeed) {
    Collector c;
    c.feed(cat({wrapped(1), wrapped(2, 0), wrapped(3, kMaxPayload)}));
    ASSERT_EQ(c.frames.size(), 3u);
    EXPECT_EQ(c.frames[0], frameOf(1));
    EXPECT_EQ(c.frames[1], frameOf(2, 0));
    EXPECT_EQ(c.frames[2], frameOf(3, kMaxPayload));
    EXPECT_EQ(c.deframer.garbageBytes(), 0u);
}

TEST(StreamDeframer, GarbageBeforeBetweenAndAfter) {
    const Bytes junk{0x00, 0x11, 0x5A, 0xFF, 0x42}; // no 0xA5
    Collector c;
    c.feed(cat({junk, wrapped(1), junk, junk, wrapped(2), junk}));
    ASSERT_EQ(c.frames.size(), 2u);
    EXPECT_EQ(c.frames[0], frameOf(1));
    EXPECT_EQ(c.frames[1], frameOf(2));
    EXPECT_EQ(c.deframer.garbageBytes(), 4 * junk.size());
}

TEST(StreamDeframer, LoneSyncBytesInGarbage) {
    Collector c;
    c.feed(cat({Bytes{0xA5, 0xA5, 0x00, 0xA5}, wrapped(1), Bytes{0xA5}}));
    c.feed(wrapped(2)); // the dangling 0xA5 above is not followed by 0x5A
    ASSERT_EQ(c.frames.size(), 2u);
    EXPECT_EQ(c.frames[1], frameOf(2));
}

TEST(StreamDeframer, SplitAtEveryByteBoundary) {
    const Bytes stream = cat({Bytes{0x01, 0xA5}, wrapped(1, 10), wrapped(2, 0)});
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        Collector c;
        c.feed(Bytes(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(cut)));
        c.feed(Bytes(stream.begin() + static_cast<std::ptrdiff_t>(cut), stream.end()));
        ASSERT_EQ(c.frames.size(), 2u) << "cut at " << cut;
        EXPECT_EQ(c.frames[0], frameOf(1, 10));
        EXPECT_EQ(c.frames[1], frameOf(2, 0));
    }
    Collector byByte;
    for (std::uint8_t b : stream)
        byByte.feed(Bytes{b});
    EXPECT_EQ(byByte.frames.size(), 2u);
}

TEST(StreamDeframer, CrcErrorSkipsFrameAndResyncs) {
    for (std::size_t pos : {std::size_t{4}, std::size_t{30}, std::size_t{70}}) {
        Bytes bad = wrapped(1);
        bad[pos] ^= 0x40; // body byte
        Bytes badCrc = wrapped(2);
        badCrc.back() ^= 0x01;
        Collector c;
        c.feed(cat({bad, badCrc, wrapped(3)}));
        ASSERT_EQ(c.frames.size(), 1u);
        EXPECT_EQ(c.frames[0], frameOf(3));
        EXPECT_EQ(c.deframer.crcErrors(), 2u);
        EXPECT_GT(c.deframer.garbageBytes(), 0u);
    }
}

TEST(StreamDeframer, BogusLengthsAreCountedAndSkipped) {
    const std::size_t tooSmall = kHeaderSize + kTagSize - 1;
    const std::size_t tooBig = kMaxFrame + 1;
    Collector c;
    c.feed(cat({Bytes{0xA5, 0x5A, 0x00, 0x00},
                Bytes{0xA5, 0x5A, 0x00, static_cast<std::uint8_t>(tooSmall)},
                Bytes{0xA5, 0x5A, static_cast<std::uint8_t>(tooBig >> 8),
                      static_cast<std::uint8_t>(tooBig & 0xFF)},
                Bytes{0xA5, 0x5A, 0xFF, 0xFF}, wrapped(1)}));
    ASSERT_EQ(c.frames.size(), 1u);
    EXPECT_EQ(c.frames[0], frameOf(1));
    EXPECT_EQ(c.deframer.badLengths(), 4u);
    EXPECT_EQ(c.deframer.garbageBytes(), 16u);
}

TEST(StreamDeframer, TruncatedFrameInsideGarbageDoesNotSwallowTheNext) {
    Bytes cut = wrapped(1, 200);
    cut.resize(cut.size() / 2); // its length claims more than is there
    Collector c;
    c.feed(cat({cut, wrapped(2), wrapped(3)}));
    ASSERT_GE(c.frames.size(), 2u);
    EXPECT_EQ(c.frames[c.frames.size() - 2], frameOf(2));
    EXPECT_EQ(c.frames.back(), frameOf(3));
    EXPECT_EQ(c.deframer.crcErrors(), 1u);
}

TEST(StreamDeframer, RandomGarbageNeverYieldsForgedFramesAndFramesSurvive) {
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> len(0, 300);
    Collector c;
    Bytes stream;
    std::vector<Bytes> sent;
    for (std::uint64_t seq = 1; seq <= 200; ++seq) {
        const int n = len(rng);
        for (int i = 0; i < n; ++i)
            stream.push_back(static_cast<std::uint8_t>(byte(rng)));
        const Bytes w = wrapped(seq, seq % 50);
        stream.insert(stream.end(), w.begin(), w.end());
        sent.push_back(frameOf(seq, seq % 50));
    }
    // Feed in random chunk sizes.
    std::size_t off = 0;
    while (off < stream.size()) {
        const std::size_t n = std::min<std::size_t>(stream.size() - off, 1 + byte(rng) * 8);
        c.deframer.feed(std::span(stream).subspan(off, n));
        off += n;
    }
    // Everything delivered is a real frame, in order; a random length may swallow a few frames.
    std::size_t next = 0;
    for (const auto& f : c.frames) {
        while (next < sent.size() && sent[next] != f)
            ++next;
        ASSERT_LT(next, sent.size()) << "delivered a frame that was never sent";
        ++next;
    }
    EXPECT_GE(c.frames.size(), 190u);
    EXPECT_GT(c.deframer.garbageBytes(), 0u);
}

TEST(StreamDeframer, EndlessSyncsStayBoundedAndRecover) {
    Collector c;
    Bytes flood;
    for (int i = 0; i < 5000; ++i) {
        flood.push_back(0xA5);
        flood.push_back(0x5A);
        flood.push_back(0x04); // plausible length 0x0400, never completed by a valid CRC
        flood.push_back(0x00);
    }
    c.feed(flood);
    EXPECT_TRUE(c.frames.empty());
    c.feed(Bytes(kMaxFrame + kStreamOverhead, 0x00)); // flush any pending candidate
    c.feed(wrapped(7));
    ASSERT_EQ(c.frames.size(), 1u);
    EXPECT_EQ(c.frames[0], frameOf(7));
}

TEST(StreamDeframer, ResetFromHandlerIsSafe) {
    int calls = 0;
    StreamDeframer* self = nullptr;
    StreamDeframer d([&](std::span<const std::uint8_t>) {
        ++calls;
        self->reset();
    });
    self = &d;
    d.feed(cat({wrapped(1), wrapped(2)}));
    EXPECT_EQ(calls, 1); // reset dropped the rest of what was buffered
    d.feed(wrapped(3));
    EXPECT_EQ(calls, 2);
}

} // namespace
} // namespace hs::hb

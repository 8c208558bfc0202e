#include "hb/path_monitor.hpp"

#include <gtest/gtest.h>

using namespace hs;
using namespace std::chrono_literals;

namespace {
hb::PathMonitor makeMonitor(std::uint32_t n = 3, std::uint32_t k = 3) {
    return hb::PathMonitor({10ms, n, k});
}
const TimePoint t0 = TimePoint{} + 1h;
} // namespace

TEST(PathMonitor, StartsInInitAndComesUpAfterKFrames) {
    auto m = makeMonitor(3, 3);
    EXPECT_EQ(m.state(), PathState::Init);
    EXPECT_FALSE(m.onFrame(t0, 10ms));
    EXPECT_FALSE(m.onFrame(t0 + 10ms, 10ms));
    EXPECT_TRUE(m.hearing());
    EXPECT_FALSE(m.up());
    EXPECT_TRUE(m.onFrame(t0 + 20ms, 10ms));
    EXPECT_EQ(m.state(), PathState::Up);
}

TEST(PathMonitor, GoesDownExactlyAfterNIntervals) {
    auto m = makeMonitor(3, 1);
    m.onFrame(t0, 10ms);
    ASSERT_TRUE(m.up());
    ASSERT_TRUE(m.deadline());
    EXPECT_EQ(*m.deadline(), t0 + 30ms);
    EXPECT_FALSE(m.onTimer(t0 + 29ms));
    EXPECT_TRUE(m.up());
    EXPECT_TRUE(m.onTimer(t0 + 30ms));
    EXPECT_EQ(m.state(), PathState::Down);
    EXPECT_EQ(m.diag(), PathDiag::DetectTimeExpired);
    EXPECT_FALSE(m.hearing());
}

TEST(PathMonitor, UsesTheLargerOfOurAndThePeersInterval) {
    auto m = makeMonitor(3, 1);
    m.onFrame(t0, 50ms);
    EXPECT_EQ(m.detectionTime(), 150ms);
    EXPECT_FALSE(m.onTimer(t0 + 100ms));
    EXPECT_TRUE(m.onTimer(t0 + 150ms));
}

TEST(PathMonitor, RecoveryRunBrokenBySilenceStartsAgain) {
    auto m = makeMonitor(3, 3);
    m.onFrame(t0, 10ms);
    m.onFrame(t0 + 10ms, 10ms);
    // silence longer than the detection time
    EXPECT_FALSE(m.onTimer(t0 + 40ms));
    EXPECT_FALSE(m.hearing());
    EXPECT_FALSE(m.onFrame(t0 + 100ms, 10ms));
    EXPECT_FALSE(m.onFrame(t0 + 110ms, 10ms));
    EXPECT_TRUE(m.onFrame(t0 + 120ms, 10ms));
}

TEST(PathMonitor, CountsMissedIntervals) {
    auto m = makeMonitor(10, 1);
    m.onFrame(t0, 10ms);
    m.onTimer(t0 + 14ms);
    EXPECT_EQ(m.missed(), 0u) << "half an interval of slack for jitter";
    m.onTimer(t0 + 35ms);
    EXPECT_EQ(m.missed(), 3u) << "a silence still going on counts, once each miss is certain";
    m.onFrame(t0 + 50ms, 10ms); // boundaries 10..40 passed without a frame
    EXPECT_EQ(m.missed(), 4u);
    m.onTimer(t0 + 55ms);
    EXPECT_EQ(m.missed(), 4u);
}

// A 10 ms x 3 path that goes down has missed at least 3 intervals, and the count never drops,
// not even when a frame held in a buffer arrives late and is credited with its send time.
TEST(PathMonitor, MissedNeverDecreasesAndCoversADown) {
    auto m = makeMonitor(3, 1);
    m.onFrame(t0, 10ms);
    ASSERT_TRUE(m.up());
    std::uint64_t last = 0;
    bool wentDown = false;
    for (auto t = t0 + 1ms; t <= t0 + 45ms; t += 1ms) {
        if (m.onTimer(t)) {
            wentDown = true;
            EXPECT_GE(m.missed(), 3u) << "down after 3 silent intervals";
        }
        EXPECT_GE(m.missed(), last);
        last = m.missed();
    }
    ASSERT_TRUE(wentDown);
    m.onFrame(t0 + 28ms, 10ms); // sent at +28 ms, read at +45 ms: credited with its send time
    EXPECT_GE(m.missed(), last);
    last = m.missed();
    for (auto t = t0 + 46ms; t <= t0 + 80ms; t += 1ms) {
        m.onTimer(t);
        EXPECT_GE(m.missed(), last);
        last = m.missed();
    }
    m.onFrame(t0 + 81ms, 10ms);
    EXPECT_GE(m.missed(), last);
}

TEST(PathMonitor, LateFramesDoNotCountAMissTwice) {
    auto m = makeMonitor(10, 1);
    m.onFrame(t0, 10ms);
    m.onTimer(t0 + 46ms); // boundaries +10, +20, +30, +40 certain
    EXPECT_EQ(m.missed(), 4u);
    m.onFrame(t0 + 12ms, 10ms); // a late frame, sent at +12 ms
    EXPECT_EQ(m.missed(), 4u) << "never taken back";
    m.onTimer(t0 + 47ms);
    EXPECT_EQ(m.missed(), 5u) << "+22 and +32 were counted already (as +20 and +30); +42 is new";
}

TEST(PathMonitor, GraceRestartsTheWindowAfterALocalStall) {
    auto m = makeMonitor(3, 1);
    m.onFrame(t0, 10ms);
    m.grace(t0 + 500ms);
    EXPECT_FALSE(m.onTimer(t0 + 510ms));
    EXPECT_TRUE(m.up());
    EXPECT_TRUE(m.onTimer(t0 + 530ms));
}

TEST(PathMonitor, ForceDownWhenThePeerLeaves) {
    auto m = makeMonitor(3, 1);
    m.onFrame(t0, 10ms);
    EXPECT_TRUE(m.forceDown(t0 + 1ms, PathDiag::NeighborSignaledDown));
    EXPECT_EQ(m.state(), PathState::Down);
    EXPECT_EQ(m.diag(), PathDiag::NeighborSignaledDown);
}

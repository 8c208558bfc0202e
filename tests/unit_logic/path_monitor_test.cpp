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
    EXPECT_EQ(m.missedAt(t0 + 35ms), 2u) << "a silence still going on counts too";
    m.onFrame(t0 + 50ms, 10ms); // 4 intervals without a frame
    EXPECT_EQ(m.missed(), 4u);
    EXPECT_EQ(m.missedAt(t0 + 55ms), 4u);
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

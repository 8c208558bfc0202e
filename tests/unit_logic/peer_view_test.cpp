// hb::PeerView on a virtual clock: replay window, adoption of a peer incarnation, freshness,
// RTT, authentication streak, the latest news of the peer and its liveness over the paths.
#include "hb/peer_view.hpp"

#include <gtest/gtest.h>

using namespace hs;
using namespace hs::hb;
using namespace std::chrono_literals;

namespace {
const TimePoint t0 = TimePoint{} + 1h;
using V = PeerView::Verdict;

std::uint64_t ns(TimePoint t) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count());
}

// Two paths, 10 ms, N = 3, K = 2: detection 30 ms.
PeerView makeView(std::size_t paths = 2, std::uint32_t storedIncarnation = 0) {
    PeerViewConfig c;
    for (std::size_t i = 0; i < paths; ++i) {
        c.paths.push_back({10ms, 3, 2});
    }
    c.detection = 30ms;
    c.storedIncarnation = storedIncarnation;
    PeerView v(c);
    v.start(t0);
    return v;
}

// A frame of peer incarnation `inc`, sequence `seq`, sent at `sent` (one clock for both nodes in
// these tests), echoing our send time `echo` (0: none).
Frame frame(std::uint32_t inc, std::uint64_t seq, TimePoint sent, TimePoint echo = {},
            Role role = Role::Standby) {
    Frame f;
    f.role = role;
    f.nodeId = 2;
    f.slot = 1;
    f.incarnation = inc;
    f.seq = seq;
    f.epoch = 3;
    f.flags = flag::Fit;
    f.sendTimeNs = ns(sent);
    f.echoTimeNs = echo == TimePoint{} ? 0 : ns(echo);
    f.intervalUs = 10'000;
    return f;
}
} // namespace

TEST(PeerView, NewIncarnationAdoptedOnlyWithAnEchoOfOurs) {
    auto v = makeView();
    // Not echoing us: may be a recording. Not adopted, but echoed back as a challenge.
    auto r = v.receive(t0 + 1ms, 0, frame(7, 1, t0 + 1ms), false);
    EXPECT_EQ(r.verdict, V::Replayed);
    EXPECT_TRUE(r.answer);
    EXPECT_EQ(v.echoTimeNs(0), ns(t0 + 1ms));
    EXPECT_FALSE(v.incarnation());
    // Echoing one of our send times: adopted, trusted, and worth persisting.
    r = v.receive(t0 + 3ms, 0, frame(7, 2, t0 + 3ms, t0 + 2ms), true);
    EXPECT_EQ(r.verdict, V::Trusted);
    ASSERT_TRUE(r.persistIncarnation);
    EXPECT_EQ(*r.persistIncarnation, 7u);
    EXPECT_EQ(v.incarnation(), 7u);
    EXPECT_EQ(r.info.role, Role::Standby);
    EXPECT_EQ(r.info.epoch, 3u);
    EXPECT_TRUE(r.info.fit);
    EXPECT_TRUE(r.roleChanged);
}

TEST(PeerView, ReplayedSequenceNumbersAreRefused) {
    auto v = makeView();
    ASSERT_EQ(v.receive(t0 + 1ms, 0, frame(7, 5, t0 + 1ms, t0), true).verdict, V::Trusted);
    EXPECT_EQ(v.receive(t0 + 2ms, 0, frame(7, 5, t0 + 2ms), false).verdict, V::Replayed);
    EXPECT_EQ(v.receive(t0 + 2ms, 0, frame(7, 4, t0 + 2ms), false).verdict, V::Replayed);
    EXPECT_EQ(v.receive(t0 + 3ms, 0, frame(7, 6, t0 + 3ms), false).verdict, V::Trusted);
    // The replay window is per path: path 1 has seen nothing of incarnation 7 yet, and nothing
    // on it echoed us, so its frames prove the path alive but change no role.
    auto r = v.receive(t0 + 4ms, 1, frame(7, 1, t0 + 4ms), false);
    EXPECT_EQ(r.verdict, V::Unverified);
    EXPECT_TRUE(r.answer);
}

TEST(PeerView, AStoredIncarnationIsNotPersistedAgain) {
    auto v = makeView(1, 7);
    auto r = v.receive(t0 + 1ms, 0, frame(7, 1, t0 + 1ms, t0), true);
    EXPECT_EQ(r.verdict, V::Trusted);
    EXPECT_FALSE(r.persistIncarnation);
    // A lower one than stored is only adopted after a detection time of silence of the known one.
    auto w = makeView(1, 7);
    EXPECT_EQ(w.receive(t0 + 1ms, 0, frame(6, 1, t0 + 1ms, t0), true).verdict, V::Replayed);
    EXPECT_EQ(w.receive(t0 + 10ms, 0, frame(6, 2, t0 + 10ms, t0 + 5ms), true).verdict, V::Replayed);
    auto r2 = w.receive(t0 + 40ms, 0, frame(6, 3, t0 + 40ms, t0 + 35ms), true);
    EXPECT_EQ(r2.verdict, V::Trusted);
    ASSERT_TRUE(r2.persistIncarnation);
    EXPECT_EQ(*r2.persistIncarnation, 6u);
}

TEST(PeerView, FramesBufferedLongerThanTheDetectionTimeAreStale) {
    auto v = makeView();
    TimePoint now = t0;
    std::uint64_t seq = 0;
    for (int i = 0; i < 5; ++i) {
        now += 10ms;
        ASSERT_NE(v.receive(now, 0, frame(7, ++seq, now - 1ms, t0), true).verdict, V::Stale);
    }
    // Sent 100 ms before it arrived (the usual offset is 1 ms): stale, on this path and on the
    // other one, which borrows this path's view of the peer's clock.
    now += 10ms;
    EXPECT_EQ(v.receive(now, 0, frame(7, ++seq, now - 100ms), false).verdict, V::Stale);
    EXPECT_EQ(v.receive(now, 1, frame(7, 1, now - 100ms), false).verdict, V::Stale);
    // 5 ms late is within the detection time: accepted, credited with when it was sent.
    now += 10ms;
    auto r = v.receive(now, 0, frame(7, ++seq, now - 6ms), false);
    EXPECT_EQ(r.verdict, V::Trusted);
    EXPECT_EQ(r.sentAt, now - 5ms);
}

TEST(PeerView, RoundTripTimeFromTheEchoMinusTheHoldTime) {
    auto v = makeView();
    Frame f = frame(7, 1, t0 + 10ms, t0 + 2ms);
    f.echoHoldUs = 3000;
    ASSERT_EQ(v.receive(t0 + 10ms, 0, f, true).verdict, V::Trusted);
    EXPECT_EQ(v.rttUs(0), 5000u); // 8 ms since our frame left, 3 ms of it held by the peer
    EXPECT_EQ(v.rttUs(1), 0u);
    EXPECT_EQ(v.echoTimeNs(0), ns(t0 + 10ms));
    EXPECT_EQ(v.echoReceivedAt(0), t0 + 10ms);
}

TEST(PeerView, AuthenticationStreakResetsOnAGoodFrameAndTheAlarmIsRateLimited) {
    auto v = makeView();
    EXPECT_EQ(v.onAuthFailure(0), 1u);
    EXPECT_EQ(v.onAuthFailure(0), 2u);
    EXPECT_EQ(v.onAuthFailure(1), 1u);
    EXPECT_EQ(v.monitor(0).diag(), PathDiag::AuthFailure);
    ASSERT_EQ(v.receive(t0 + 1ms, 0, frame(7, 1, t0 + 1ms, t0), true).verdict, V::Trusted);
    EXPECT_EQ(v.onAuthFailure(0), 1u);
    EXPECT_EQ(v.onAuthFailure(1), 2u);
    EXPECT_TRUE(v.authAlarmDue(t0, 0));
    EXPECT_FALSE(v.authAlarmDue(t0 + 9s, 0));
    EXPECT_TRUE(v.authAlarmDue(t0 + 9s, 1));
    EXPECT_TRUE(v.authAlarmDue(t0 + 10s, 0));
}

TEST(PeerView, OnlyTheNewestNewsOfThePeerCounts) {
    auto v = makeView();
    Frame newer = frame(7, 1, t0 + 5ms, t0, Role::Active);
    Frame older = frame(7, 1, t0 + 4ms, t0, Role::Standby);
    auto a = v.receive(t0 + 6ms, 0, newer, true);
    ASSERT_EQ(a.verdict, V::Trusted);
    EXPECT_TRUE(v.takeNews(newer, a.info));
    auto b = v.receive(t0 + 7ms, 1, older, true); // overtaken on the slower path
    ASSERT_EQ(b.verdict, V::Trusted);
    EXPECT_FALSE(v.takeNews(older, b.info));
    ASSERT_TRUE(v.peer());
    EXPECT_EQ(v.peer()->role, Role::Active);
}

TEST(PeerView, AliveWhileAnyPathHearsThePeerRedundantWhileAllAreUp) {
    auto v = makeView();
    EXPECT_FALSE(v.alive());
    EXPECT_EQ(v.redundancy(), Redundancy::NotRedundant);
    // Path 0 comes up after K = 2 frames: alive, degraded (one path of two).
    EXPECT_FALSE(v.pathHeard(0, t0 + 10ms, 10ms));
    auto l = v.refresh();
    EXPECT_TRUE(l.heard) << "hearing the peer, though the path is not up yet";
    EXPECT_FALSE(l.recovered) << "the first contact is no recovery";
    EXPECT_TRUE(v.pathHeard(0, t0 + 20ms, 10ms));
    l = v.refresh();
    EXPECT_EQ(l.redundancy, Redundancy::Degraded);
    EXPECT_TRUE(l.redundancyChanged);
    EXPECT_FALSE(l.redundancyDegraded) << "never was redundant";
    v.pathHeard(1, t0 + 20ms, 10ms);
    EXPECT_TRUE(v.pathHeard(1, t0 + 30ms, 10ms));
    l = v.refresh();
    EXPECT_EQ(v.redundancy(), Redundancy::Redundant);
    EXPECT_FALSE(l.redundancyRestored) << "the first time is no restoration";
    // Path 1 goes silent: degraded, still alive.
    v.pathHeard(0, t0 + 60ms, 10ms);
    ASSERT_TRUE(v.deadline());
    EXPECT_TRUE(v.pathTimer(t0 + 61ms, 1));
    EXPECT_FALSE(v.pathTimer(t0 + 61ms, 0));
    l = v.refresh();
    EXPECT_TRUE(v.alive());
    EXPECT_TRUE(l.redundancyDegraded);
    // Path 0 too: the peer is lost.
    EXPECT_TRUE(v.pathTimer(t0 + 91ms, 0));
    l = v.refresh();
    EXPECT_TRUE(l.lost);
    EXPECT_FALSE(v.alive());
    EXPECT_EQ(l.redundancy, Redundancy::NotRedundant);
    // Heard again: recovered; both paths up again: restored.
    v.pathHeard(0, t0 + 100ms, 10ms);
    v.pathHeard(1, t0 + 100ms, 10ms);
    l = v.refresh();
    EXPECT_TRUE(l.heard);
    EXPECT_TRUE(l.recovered);
    v.pathHeard(0, t0 + 110ms, 10ms);
    v.pathHeard(1, t0 + 110ms, 10ms);
    l = v.refresh();
    EXPECT_TRUE(l.redundancyRestored);
}

TEST(PeerView, TheLeavingPeerTakesEveryPathDownAtOnce) {
    auto v = makeView();
    for (std::size_t p = 0; p < 2; ++p) {
        v.pathHeard(p, t0 + 10ms, 10ms);
        v.pathHeard(p, t0 + 20ms, 10ms);
    }
    v.refresh();
    ASSERT_EQ(v.redundancy(), Redundancy::Redundant);
    EXPECT_TRUE(v.forceDown(t0 + 21ms, 0, PathDiag::NeighborSignaledDown));
    EXPECT_TRUE(v.forceDown(t0 + 21ms, 1, PathDiag::NeighborSignaledDown));
    EXPECT_TRUE(v.refresh().lost);
    EXPECT_EQ(v.monitor(1).diag(), PathDiag::NeighborSignaledDown);
}

TEST(PeerView, AStallRestartsEveryDetectionWindow) {
    auto v = makeView();
    v.pathHeard(0, t0 + 10ms, 10ms);
    v.pathHeard(0, t0 + 20ms, 10ms);
    v.grace(t0 + 500ms);
    EXPECT_FALSE(v.pathTimer(t0 + 501ms, 0)) << "not the peer's fault";
    EXPECT_TRUE(v.pathTimer(t0 + 531ms, 0));
}

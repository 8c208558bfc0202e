#include "core/role_fsm.hpp"

#include <algorithm>
#include <gtest/gtest.h>

using namespace hs;
using namespace std::chrono_literals;

namespace {
const TimePoint t0 = TimePoint{} + 1h;

RoleFsm makeFsm(std::uint8_t slot, bool preempt = false) {
    RoleFsmConfig c;
    c.nodeId = slot + 1u;
    c.slot = slot;
    c.initDead = 1s;
    c.detection = 30ms;
    c.interval = 10ms;
    c.preempt = preempt;
    c.preemptDelay = 100ms;
    return RoleFsm(c);
}

PeerInfo peer(Role r, std::uint64_t epoch, std::uint8_t slot, bool fit = true) {
    PeerInfo p;
    p.role = r;
    p.epoch = epoch;
    p.slot = slot;
    p.nodeId = slot + 1u;
    p.fit = fit;
    return p;
}

bool has(const std::vector<FsmAction>& a, FsmActionType t) {
    return std::any_of(a.begin(), a.end(), [t](const FsmAction& x) { return x.type == t; });
}

// Completes a pending takeover the way the daemon does once the epoch is on disk.
void persist(RoleFsm& f, TimePoint now) {
    for (const auto& a : f.takeActions()) {
        if (a.type == FsmActionType::PersistEpoch) {
            f.onEpochPersisted(now, a.epoch);
        }
    }
}
} // namespace

TEST(RoleFsm, AloneBecomesActiveAfterInitDeadWithRaisedEpoch) {
    auto f = makeFsm(1);
    f.start(t0, 7);
    f.onTimer(t0 + 999ms);
    EXPECT_EQ(f.role(), Role::Init);
    f.onTimer(t0 + 1s);
    auto acts = f.takeActions();
    ASSERT_TRUE(has(acts, FsmActionType::PersistEpoch));
    EXPECT_FALSE(f.drivesChassis()) << "must not act before the epoch is durable";
    f.onEpochPersisted(t0 + 1s, 8);
    EXPECT_EQ(f.role(), Role::Active);
    EXPECT_EQ(f.epoch(), 8u);
    EXPECT_TRUE(f.drivesChassis());
}

TEST(RoleFsm, PreferredSlotWinsWhenBothStart) {
    auto a = makeFsm(0);
    auto b = makeFsm(1);
    a.start(t0, 0);
    b.start(t0, 0);
    a.onPeerFrame(t0 + 1ms, peer(Role::Init, 0, 1));
    b.onPeerFrame(t0 + 1ms, peer(Role::Init, 0, 0));
    persist(a, t0 + 2ms);
    persist(b, t0 + 2ms);
    EXPECT_EQ(a.role(), Role::Active);
    EXPECT_EQ(b.role(), Role::Init);
    b.onPeerFrame(t0 + 3ms, peer(Role::Active, 1, 0));
    EXPECT_EQ(b.role(), Role::Standby);
    EXPECT_EQ(b.epoch(), 1u);
}

TEST(RoleFsm, StandbyTakesOverOnlyWhenPeerLost) {
    auto b = makeFsm(1);
    b.start(t0, 0);
    b.onPeerFrame(t0, peer(Role::Active, 4, 0));
    ASSERT_EQ(b.role(), Role::Standby);
    b.takeActions();
    b.onTimer(t0 + 5s);
    EXPECT_EQ(b.role(), Role::Standby);
    b.onPeerLost(t0 + 5s);
    persist(b, t0 + 5s);
    EXPECT_EQ(b.role(), Role::Active);
    EXPECT_EQ(b.epoch(), 5u);
}

TEST(RoleFsm, HigherEpochKeepsActiveAfterHeal) {
    auto a = makeFsm(0);
    a.start(t0, 0);
    a.onTimer(t0 + 1s);
    persist(a, t0 + 1s);
    ASSERT_EQ(a.epoch(), 1u);
    a.onPeerFrame(t0 + 2s, peer(Role::Active, 2, 1));
    EXPECT_EQ(a.role(), Role::Standby);
    EXPECT_TRUE(has(a.takeActions(), FsmActionType::SplitBrainResolved));
}

TEST(RoleFsm, EqualEpochsTieBrokenBySlot) {
    auto a = makeFsm(0);
    a.start(t0, 4);
    a.onTimer(t0 + 1s);
    persist(a, t0 + 1s); // epoch 5
    a.onPeerFrame(t0 + 2s, peer(Role::Active, 5, 1));
    EXPECT_EQ(a.role(), Role::Active) << "slot 0 wins a tie";
    auto b = makeFsm(1);
    b.start(t0, 4);
    b.onTimer(t0 + 1s);
    persist(b, t0 + 1s);
    b.onPeerFrame(t0 + 2s, peer(Role::Active, 5, 0));
    EXPECT_EQ(b.role(), Role::Standby);
}

TEST(RoleFsm, StallMakesActiveUnconfirmedUntilPeerHeard) {
    auto a = makeFsm(0);
    a.start(t0, 0);
    a.onTimer(t0 + 1s);
    persist(a, t0 + 1s);
    a.onStall(t0 + 5s);
    EXPECT_EQ(a.role(), Role::Active);
    EXPECT_TRUE(a.unconfirmed());
    EXPECT_FALSE(a.drivesChassis());
    a.onPeerFrame(t0 + 5s + 1ms, peer(Role::Standby, 1, 1));
    EXPECT_FALSE(a.unconfirmed());
    EXPECT_TRUE(a.drivesChassis());
}

TEST(RoleFsm, StalledActiveStandsDownToNewerTerm) {
    auto a = makeFsm(0);
    a.start(t0, 0);
    a.onTimer(t0 + 1s);
    persist(a, t0 + 1s);
    a.onStall(t0 + 5s);
    a.onPeerFrame(t0 + 5s + 1ms, peer(Role::Active, 2, 1));
    EXPECT_EQ(a.role(), Role::Standby);
}

TEST(RoleFsm, UnconfirmedConfirmsItselfAfterADetectionTime) {
    auto a = makeFsm(0);
    a.start(t0, 0);
    a.onTimer(t0 + 1s);
    persist(a, t0 + 1s);
    a.onStall(t0 + 5s);
    a.onTimer(t0 + 5s + 29ms);
    EXPECT_TRUE(a.unconfirmed());
    a.onTimer(t0 + 5s + 30ms);
    EXPECT_FALSE(a.unconfirmed());
}

TEST(RoleFsm, GracefulSwitchoverHandsOverWithoutOverlap) {
    auto a = makeFsm(0);
    a.start(t0, 0);
    a.onTimer(t0 + 1s);
    persist(a, t0 + 1s);
    a.onPeerFrame(t0 + 1s, peer(Role::Standby, 1, 1));
    a.takeActions();
    auto r = a.requestSwitchover(t0 + 2s, false);
    ASSERT_EQ(r.status, ControlStatus::Ok) << r.message;
    EXPECT_TRUE(has(a.takeActions(), FsmActionType::SendHandover));
    EXPECT_FALSE(a.drivesChassis()) << "the old active stops commanding at once";
    auto b = makeFsm(1);
    b.start(t0, 1);
    b.onPeerFrame(t0, peer(Role::Active, 1, 0));
    b.onPeerHandover(t0 + 2s, peer(Role::Active, 1, 0), SwitchoverReason::Manual);
    persist(b, t0 + 2s);
    EXPECT_EQ(b.role(), Role::Active);
    a.onPeerFrame(t0 + 2s + 1ms, peer(Role::Active, b.epoch(), 1));
    EXPECT_EQ(a.role(), Role::Standby);
}

TEST(RoleFsm, SwitchoverRefusedWithoutReadyStandby) {
    auto a = makeFsm(0);
    a.start(t0, 0);
    a.onTimer(t0 + 1s);
    persist(a, t0 + 1s);
    EXPECT_EQ(a.requestSwitchover(t0 + 2s, false).status, ControlStatus::Unavailable);
    auto b = makeFsm(1);
    b.start(t0, 0);
    EXPECT_EQ(b.requestSwitchover(t0, false).status, ControlStatus::NotActive);
}

TEST(RoleFsm, HandoverAbortedWhenPeerNeverTakesOver) {
    auto a = makeFsm(0);
    a.start(t0, 0);
    a.onTimer(t0 + 1s);
    persist(a, t0 + 1s);
    a.onPeerFrame(t0 + 1s, peer(Role::Standby, 1, 1));
    ASSERT_EQ(a.requestSwitchover(t0 + 2s, false).status, ControlStatus::Ok);
    ASSERT_TRUE(a.deadline());
    a.onTimer(*a.deadline());
    EXPECT_TRUE(a.drivesChassis());
}

TEST(RoleFsm, UnfitActiveHandsOverToFitStandby) {
    auto a = makeFsm(0);
    a.start(t0, 0);
    a.onTimer(t0 + 1s);
    persist(a, t0 + 1s);
    a.onPeerFrame(t0 + 1s, peer(Role::Standby, 1, 1));
    a.takeActions();
    a.setFit(t0 + 2s, false);
    EXPECT_TRUE(a.handingOver());
}

TEST(RoleFsm, UnfitStandbyNeverTakesOverFromFitPeer) {
    auto b = makeFsm(0);
    b.start(t0, 0);
    b.setFit(t0, false);
    b.onPeerFrame(t0 + 1ms, peer(Role::Init, 0, 1, true));
    auto acts = b.takeActions();
    EXPECT_FALSE(has(acts, FsmActionType::PersistEpoch));
}

TEST(RoleFsm, PreemptionOnlyWhenConfigured) {
    auto b = makeFsm(1, /*preempt=*/true);
    b.start(t0, 0);
    b.onTimer(t0 + 1s);
    persist(b, t0 + 1s);
    b.onPeerFrame(t0 + 2s, peer(Role::Standby, 1, 0));
    b.onTimer(t0 + 2s + 99ms);
    EXPECT_FALSE(b.handingOver());
    b.onTimer(t0 + 2s + 100ms);
    EXPECT_TRUE(b.handingOver());
    auto c = makeFsm(1, /*preempt=*/false);
    c.start(t0, 0);
    c.onTimer(t0 + 1s);
    persist(c, t0 + 1s);
    c.onPeerFrame(t0 + 2s, peer(Role::Standby, 1, 0));
    c.onTimer(t0 + 10s);
    EXPECT_FALSE(c.handingOver());
}

TEST(RoleFsm, EpochNeverGoesBack) {
    auto b = makeFsm(1);
    b.start(t0, 9);
    b.onPeerFrame(t0, peer(Role::Active, 3, 0));
    EXPECT_EQ(b.epoch(), 9u);
}

// One forged (bad-tag) datagram every 60 ms must not keep a lone node in INIT for ever.
TEST(RoleFsm, UnauthenticatedFramesHoldInitOnlyUpToACap) {
    auto f = makeFsm(1);
    f.start(t0, 0);
    bool tookOver = false;
    TimePoint cap = t0 + 1s + 2 * 30ms; // init_dead + 2 detection times
    for (TimePoint t = t0; t <= t0 + 5s && !tookOver; t += 1ms) {
        if ((t - t0) % 60ms == 0ms) {
            f.onUnauthenticatedPeer(t);
        }
        f.onTimer(t);
        if (has(f.takeActions(), FsmActionType::PersistEpoch)) {
            tookOver = true;
            EXPECT_LE(t, cap);
            EXPECT_GE(t, t0 + 1s) << "still holds past init_dead while frames fail";
        }
    }
    EXPECT_TRUE(tookOver);
    ASSERT_TRUE(f.deadline() || tookOver);
}

// A peer heard only through frames that cannot be verified (no proof they were sent after our
// start) holds INIT no longer than the same cap.
TEST(RoleFsm, PeerHeardButNeverVerifiedHoldsInitOnlyUpToACap) {
    auto f = makeFsm(1);
    f.start(t0, 0);
    f.onPeerRecovered(t0 + 10ms);
    f.onTimer(t0 + 1s);
    EXPECT_FALSE(has(f.takeActions(), FsmActionType::PersistEpoch));
    ASSERT_TRUE(f.deadline());
    EXPECT_EQ(*f.deadline(), t0 + 1s + 60ms);
    f.onTimer(t0 + 1s + 60ms);
    EXPECT_TRUE(has(f.takeActions(), FsmActionType::PersistEpoch));
}

TEST(RoleFsm, TakeoverEpochNeverWraps) {
    auto f = makeFsm(1);
    f.start(t0, ~std::uint64_t{0});
    f.onTimer(t0 + 1s);
    for (const auto& a : f.takeActions()) {
        if (a.type == FsmActionType::PersistEpoch) {
            EXPECT_NE(a.epoch, 0u);
        }
    }
}

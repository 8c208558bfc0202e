// The switchover rate guard (core/switchover_guard.hpp) alone and inside RoleFsm, under a fake
// clock: at most N voluntary switchovers in a window, then a hold-down that refuses manual
// switchovers and holds preemption, while a lost active is still replaced.
#include "core/role_fsm.hpp"
#include "core/switchover_guard.hpp"

#include <algorithm>
#include <gtest/gtest.h>

using namespace hs;
using namespace std::chrono_literals;

namespace {
const TimePoint kT0 = TimePoint{} + 1h;
const SwitchoverGuardConfig kGuard{.limit = 3, .window = 600s, .holdDown = 300s};

RoleFsm makeFsm(std::uint8_t slot, SwitchoverGuardConfig g = kGuard) {
    RoleFsmConfig c;
    c.nodeId = slot + 1u;
    c.slot = slot;
    c.initDead = 1s;
    c.detection = 30ms;
    c.interval = 10ms;
    c.preemptDelay = 100ms;
    c.guard = g;
    return RoleFsm(c);
}

PeerInfo peer(const RoleFsm& f) {
    PeerInfo p;
    p.role = f.role();
    p.epoch = f.epoch();
    p.slot = f.config().slot;
    p.nodeId = f.config().nodeId;
    p.fit = true;
    return p;
}

bool has(const std::vector<FsmAction>& a, FsmActionType t) {
    return std::any_of(a.begin(), a.end(), [t](const FsmAction& x) { return x.type == t; });
}

// Runs the actions: an epoch to persist is persisted; returns every action seen.
std::vector<FsmAction> drain(RoleFsm& f, TimePoint now) {
    std::vector<FsmAction> all;
    for (int i = 0; i < 3; ++i) {
        auto acts = f.takeActions();
        for (const auto& a : acts) {
            all.push_back(a);
            if (a.type == FsmActionType::PersistEpoch) {
                f.onEpochPersisted(now, a.epoch);
            }
        }
    }
    return all;
}

struct Pair {
    RoleFsm a = makeFsm(0);
    RoleFsm b = makeFsm(1);
    bool holdA = false, holdB = false; // a SwitchoverHoldDown action was seen

    Pair() {
        a.start(kT0, 0);
        b.start(kT0, 0);
        a.onTimer(kT0 + 1s);
        drain(a, kT0 + 1s);
        b.onPeerFrame(kT0 + 1s, peer(a));
        a.onPeerFrame(kT0 + 1s, peer(b));
        drain(a, kT0 + 1s);
        drain(b, kT0 + 1s);
    }
    void note(RoleFsm& f, TimePoint now) {
        if (has(drain(f, now), FsmActionType::SwitchoverHoldDown)) {
            (&f == &a ? holdA : holdB) = true;
        }
    }
    // A manual switchover from the active one to the other, completed.
    ControlResult switchover(TimePoint now) {
        RoleFsm& from = a.role() == Role::Active ? a : b;
        RoleFsm& to = &from == &a ? b : a;
        ControlResult r = from.requestSwitchover(now, false);
        if (r.status != ControlStatus::Ok) {
            return r;
        }
        note(from, now);
        complete(from, to, now, SwitchoverReason::Manual);
        return r;
    }
    // The standby takes over the handover FROM asked for, and FROM sees it active.
    void complete(RoleFsm& from, RoleFsm& to, TimePoint now, SwitchoverReason reason) {
        to.onPeerHandover(now, peer(from), reason);
        note(to, now);
        from.onPeerFrame(now + 1ms, peer(to));
        note(from, now + 1ms);
        to.onPeerFrame(now + 1ms, peer(from));
        note(to, now + 1ms);
    }
};
} // namespace

TEST(SwitchoverGuard, HoldsDownAtTheLimitWithinTheWindow) {
    SwitchoverGuard g(kGuard);
    EXPECT_FALSE(g.record(kT0));
    EXPECT_FALSE(g.record(kT0 + 100s));
    EXPECT_TRUE(g.allows(kT0 + 200s));
    EXPECT_TRUE(g.record(kT0 + 200s)) << "the third within 600 s starts the hold-down";
    EXPECT_FALSE(g.allows(kT0 + 200s));
    EXPECT_FALSE(g.allows(kT0 + 499s));
    auto s = g.state(kT0 + 400s);
    EXPECT_TRUE(s.holding);
    EXPECT_EQ(s.holdDownLeftMs, 100000);
    EXPECT_EQ(s.holdDowns, 1u);
    std::string why = g.refuse(kT0 + 400s);
    EXPECT_NE(why.find("rate guard"), std::string::npos) << why;
    EXPECT_NE(why.find("100 s"), std::string::npos) << why;
    EXPECT_EQ(g.state(kT0 + 400s).refused, 1u);
    EXPECT_TRUE(g.allows(kT0 + 500s)) << "the hold-down is over";
    EXPECT_EQ(g.state(kT0 + 500s).recent, 0u) << "counting starts afresh after a hold-down";
    EXPECT_FALSE(g.record(kT0 + 500s));
}

TEST(SwitchoverGuard, OldSwitchoversLeaveTheWindow) {
    SwitchoverGuard g(kGuard);
    EXPECT_FALSE(g.record(kT0));
    EXPECT_FALSE(g.record(kT0 + 400s));
    EXPECT_FALSE(g.record(kT0 + 600s)) << "the first left the window: two within it";
    EXPECT_EQ(g.state(kT0 + 600s).recent, 2u);
    EXPECT_TRUE(g.record(kT0 + 700s));
}

TEST(SwitchoverGuard, LimitZeroIsOff) {
    SwitchoverGuard g({.limit = 0});
    for (int i = 0; i < 100; ++i) {
        EXPECT_FALSE(g.record(kT0 + i * 1s));
    }
    EXPECT_TRUE(g.allows(kT0 + 100s));
    EXPECT_TRUE(SwitchoverGuard::voluntary(SwitchoverReason::Manual));
    EXPECT_TRUE(SwitchoverGuard::voluntary(SwitchoverReason::PeerPreempted));
    EXPECT_FALSE(SwitchoverGuard::voluntary(SwitchoverReason::PeerLost));
    EXPECT_FALSE(SwitchoverGuard::voluntary(SwitchoverReason::PeerShutdown));
    EXPECT_FALSE(SwitchoverGuard::voluntary(SwitchoverReason::LocalFault));
    EXPECT_FALSE(SwitchoverGuard::voluntary(SwitchoverReason::PeerFault));
}

TEST(SwitchoverGuardFsm, FourthManualSwitchoverIsRefusedOnEitherNode) {
    Pair p;
    ASSERT_EQ(p.a.role(), Role::Active);
    ASSERT_EQ(p.b.role(), Role::Standby);
    EXPECT_EQ(p.switchover(kT0 + 10s).status, ControlStatus::Ok);
    EXPECT_EQ(p.switchover(kT0 + 20s).status, ControlStatus::Ok);
    EXPECT_FALSE(p.holdA || p.holdB);
    EXPECT_EQ(p.switchover(kT0 + 30s).status, ControlStatus::Ok);
    EXPECT_TRUE(p.holdA) << "both modules count every switchover and hold down together";
    EXPECT_TRUE(p.holdB);
    ASSERT_EQ(p.b.role(), Role::Active);
    ControlResult r = p.switchover(kT0 + 40s);
    EXPECT_EQ(r.status, ControlStatus::Busy);
    EXPECT_NE(r.message.find("rate guard"), std::string::npos) << r.message;
    EXPECT_EQ(p.b.role(), Role::Active) << "nothing happened";
    EXPECT_TRUE(p.b.drivesChassis());
    EXPECT_EQ(p.b.guard().refused(), 1u);
    // The hold-down ends 300 s after the third switchover.
    EXPECT_EQ(p.switchover(kT0 + 30s + 299s).status, ControlStatus::Busy);
    EXPECT_EQ(p.switchover(kT0 + 30s + 300s + 1ms).status, ControlStatus::Ok);
    EXPECT_EQ(p.a.role(), Role::Active);
}

TEST(SwitchoverGuardFsm, LostActiveIsReplacedDuringTheHoldDown) {
    Pair p;
    for (int i = 1; i <= 3; ++i) {
        ASSERT_EQ(p.switchover(kT0 + i * 10s).status, ControlStatus::Ok);
    }
    ASSERT_EQ(p.b.role(), Role::Active);
    ASSERT_FALSE(p.a.guard().allows(kT0 + 40s));
    p.a.onPeerLost(kT0 + 40s);
    drain(p.a, kT0 + 40s);
    EXPECT_EQ(p.a.role(), Role::Active) << "a dead active is always replaced";
    EXPECT_TRUE(p.a.drivesChassis());
}

TEST(SwitchoverGuardFsm, ForcedTakeoverPassesTheHoldDown) {
    Pair p;
    for (int i = 1; i <= 3; ++i) {
        ASSERT_EQ(p.switchover(kT0 + i * 10s).status, ControlStatus::Ok);
    }
    ASSERT_EQ(p.a.role(), Role::Standby);
    ControlResult r = p.a.requestSwitchover(kT0 + 40s, true);
    EXPECT_EQ(r.status, ControlStatus::Ok) << r.message;
    drain(p.a, kT0 + 40s);
    EXPECT_EQ(p.a.role(), Role::Active);
}

TEST(SwitchoverGuardFsm, PreemptionWaitsForTheHoldDownEnd) {
    Pair p;
    for (int i = 1; i <= 3; ++i) {
        ASSERT_EQ(p.switchover(kT0 + i * 10s).status, ControlStatus::Ok);
    }
    ASSERT_EQ(p.b.role(), Role::Active); // slot 1: preemption hands back to slot 0
    p.b.setPreempt(true);
    const TimePoint holdEnd = kT0 + 30s + 300s;
    p.b.onPeerFrame(kT0 + 40s, peer(p.a));
    p.b.onTimer(kT0 + 40s + 200ms);
    EXPECT_FALSE(has(p.b.takeActions(), FsmActionType::SendHandover))
        << "no preemption during the hold-down";
    ASSERT_TRUE(p.b.deadline());
    EXPECT_EQ(*p.b.deadline(), holdEnd) << "the node wakes when the hold-down ends";
    p.b.onTimer(holdEnd);
    EXPECT_FALSE(has(p.b.takeActions(), FsmActionType::SendHandover))
        << "the preemption delay starts at the end of the hold-down";
    p.b.onTimer(holdEnd + 100ms);
    EXPECT_TRUE(has(p.b.takeActions(), FsmActionType::SendHandover));
}

TEST(SwitchoverGuardFsm, PreemptionCountsTowardTheLimit) {
    Pair p;
    ASSERT_EQ(p.switchover(kT0 + 10s).status, ControlStatus::Ok); // a -> b
    p.b.setPreempt(true);
    p.b.onPeerFrame(kT0 + 20s, peer(p.a));
    p.b.onTimer(kT0 + 20s + 100ms);
    ASSERT_TRUE(has(p.b.takeActions(), FsmActionType::SendHandover));
    p.complete(p.b, p.a, kT0 + 20s + 100ms, SwitchoverReason::PeerPreempted); // b -> a
    ASSERT_EQ(p.a.role(), Role::Active);
    EXPECT_FALSE(p.holdA || p.holdB);
    p.b.setPreempt(false);
    ASSERT_EQ(p.switchover(kT0 + 30s).status, ControlStatus::Ok); // a -> b
    EXPECT_TRUE(p.holdA && p.holdB) << "manual, preemption, manual: three in the window";
    EXPECT_EQ(p.switchover(kT0 + 40s).status, ControlStatus::Busy);
}

// Walks RoleFsm's from/to table exhaustively: every allowed pair is driven through the public
// API (the handlers, never enter()) and observed; every other pair is refused by enter().
#include "core/role_fsm.hpp"

#include <functional>
#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace hs;
using namespace std::chrono_literals;

namespace {
const TimePoint t0 = TimePoint{} + 1h;
using S = FsmState;

constexpr std::array<S, kFsmStateCount> kAllStates = {S::Init,
                                                      S::Standby,
                                                      S::TakingOver,
                                                      S::Active,
                                                      S::ActiveUnconfirmed,
                                                      S::HandingOver,
                                                      S::HandingOverUnconfirmed,
                                                      S::Stopped};

RoleFsm makeFsm() {
    RoleFsmConfig c;
    c.nodeId = 1;
    c.slot = 0;
    c.initDead = 1s;
    c.detection = 30ms;
    c.interval = 10ms;
    return RoleFsm(c);
}

PeerInfo peer(Role r, std::uint64_t epoch, bool takingOver = false) {
    PeerInfo p;
    p.role = r;
    p.epoch = epoch;
    p.slot = 1;
    p.nodeId = 2;
    p.takingOver = takingOver;
    return p;
}

// Completes a pending takeover the way NodeCore does once the epoch is on disk.
void persist(RoleFsm& f, TimePoint now) {
    for (const auto& a : f.takeActions()) {
        if (a.type == FsmActionType::PersistEpoch) {
            f.onEpochPersisted(now, a.epoch);
        }
    }
}

// Brings a fresh FSM into `s` through the public API only; returns the time reached.
TimePoint reach(RoleFsm& f, S s) {
    f.start(t0, 0);
    TimePoint now = t0;
    auto activeWithStandbyPeer = [&] {
        now = t0 + 1s;
        f.onTimer(now); // init_dead: Init -> TakingOver
        persist(f, now);
        now += 1ms;
        f.onPeerFrame(now, peer(Role::Standby, f.epoch()));
    };
    switch (s) {
    case S::Init:
        break;
    case S::Standby:
        now += 1ms;
        f.onPeerFrame(now, peer(Role::Active, 1));
        break;
    case S::TakingOver:
        now += 1ms;
        f.onPeerFrame(now, peer(Role::Active, 1));
        now += 1ms;
        f.onPeerLost(now);
        break;
    case S::Active:
        activeWithStandbyPeer();
        break;
    case S::ActiveUnconfirmed:
        activeWithStandbyPeer();
        now += 1s;
        f.onStall(now);
        break;
    case S::HandingOver:
        activeWithStandbyPeer();
        now += 1ms;
        EXPECT_EQ(f.requestSwitchover(now, false).status, ControlStatus::Ok);
        break;
    case S::HandingOverUnconfirmed:
        activeWithStandbyPeer();
        now += 1ms;
        EXPECT_EQ(f.requestSwitchover(now, false).status, ControlStatus::Ok);
        now += 1ms;
        f.onStall(now);
        break;
    case S::Stopped:
        f.shutdown(now);
        break;
    }
    f.takeActions();
    return now;
}

struct Driver {
    S from;
    S to;
    std::function<void(RoleFsm&, TimePoint)> drive;
};

const std::vector<Driver>& drivers() {
    auto shutdown = [](RoleFsm& f, TimePoint now) { f.shutdown(now + 1ms); };
    auto newerTerm = [](RoleFsm& f, TimePoint now) {
        f.onPeerFrame(now + 1ms, peer(Role::Active, f.epoch() + 1));
    };
    static const std::vector<Driver> d = {
        {S::Init, S::Standby,
         [](RoleFsm& f, TimePoint now) { f.onPeerFrame(now + 1ms, peer(Role::Active, 1)); }},
        {S::Init, S::TakingOver, [](RoleFsm& f, TimePoint) { f.onTimer(t0 + 1s); }},
        {S::Init, S::Stopped, shutdown},
        {S::Standby, S::TakingOver, [](RoleFsm& f, TimePoint now) { f.onPeerLost(now + 1ms); }},
        {S::Standby, S::Stopped, shutdown},
        {S::TakingOver, S::Standby, [](RoleFsm& f, TimePoint now) { f.abortTakeover(now); }},
        {S::TakingOver, S::Active,
         [](RoleFsm& f, TimePoint now) {
             // reach() drained the PersistEpoch action: the takeover's epoch is the next one.
             f.onEpochPersisted(now + 1ms, f.epoch() + 1);
         }},
        {S::TakingOver, S::Stopped, shutdown},
        {S::Active, S::ActiveUnconfirmed, [](RoleFsm& f, TimePoint now) { f.onStall(now + 1s); }},
        {S::Active, S::HandingOver,
         [](RoleFsm& f, TimePoint now) {
             EXPECT_EQ(f.requestSwitchover(now + 1ms, false).status, ControlStatus::Ok);
         }},
        {S::Active, S::Standby, newerTerm},
        {S::Active, S::Stopped, shutdown},
        {S::ActiveUnconfirmed, S::Active, [](RoleFsm& f, TimePoint now) { f.onTimer(now + 30ms); }},
        {S::ActiveUnconfirmed, S::HandingOverUnconfirmed,
         [](RoleFsm& f, TimePoint now) { f.setFit(now + 1ms, false); }},
        {S::ActiveUnconfirmed, S::Standby, newerTerm},
        {S::ActiveUnconfirmed, S::Stopped, shutdown},
        {S::HandingOver, S::Active,
         [](RoleFsm& f, TimePoint) {
             ASSERT_TRUE(f.deadline());
             f.onTimer(*f.deadline());
         }},
        {S::HandingOver, S::HandingOverUnconfirmed,
         [](RoleFsm& f, TimePoint now) { f.onStall(now + 1s); }},
        {S::HandingOver, S::Standby, newerTerm},
        {S::HandingOver, S::Stopped, shutdown},
        {S::HandingOverUnconfirmed, S::HandingOver,
         [](RoleFsm& f, TimePoint now) {
             f.onPeerFrame(now + 1ms, peer(Role::Standby, f.epoch()));
         }},
        {S::HandingOverUnconfirmed, S::ActiveUnconfirmed,
         [](RoleFsm& f, TimePoint now) { f.onPeerLost(now + 1ms); }},
        {S::HandingOverUnconfirmed, S::Standby, newerTerm},
        {S::HandingOverUnconfirmed, S::Stopped, shutdown},
    };
    return d;
}

std::string pairName(S from, S to) {
    return std::string(toString(from)) + " -> " + std::string(toString(to));
}
} // namespace

TEST(RoleFsmTable, EveryStateIsReachableThroughTheApi) {
    for (S s : kAllStates) {
        auto f = makeFsm();
        reach(f, s);
        EXPECT_EQ(f.state(), s) << toString(s);
        EXPECT_EQ(f.refusedTransitions(), 0u) << toString(s);
    }
}

TEST(RoleFsmTable, EveryAllowedPairIsDrivenAndObserved) {
    std::size_t allowed = 0;
    for (S from : kAllStates) {
        for (S to : kAllStates) {
            if (!fsmAllows(from, to)) {
                continue;
            }
            ++allowed;
            SCOPED_TRACE(pairName(from, to));
            const Driver* d = nullptr;
            for (const Driver& x : drivers()) {
                if (x.from == from && x.to == to) {
                    d = &x;
                }
            }
            ASSERT_NE(d, nullptr) << "no driver for an allowed transition";
            auto f = makeFsm();
            TimePoint now = reach(f, from);
            ASSERT_EQ(f.state(), from);
            std::uint64_t before = f.transitions();
            d->drive(f, now);
            EXPECT_EQ(f.state(), to);
            ASSERT_TRUE(f.lastTransition());
            EXPECT_EQ(f.lastTransition()->from, from);
            EXPECT_EQ(f.lastTransition()->to, to);
            EXPECT_EQ(f.transitions(), before + 1) << "exactly one transition";
            EXPECT_EQ(f.refusedTransitions(), 0u);
        }
    }
    EXPECT_EQ(allowed, drivers().size()) << "a driver for a pair the table does not allow";
}

TEST(RoleFsmTable, EveryOtherPairIsRefused) {
    std::size_t refused = 0;
    for (S from : kAllStates) {
        for (S to : kAllStates) {
            if (fsmAllows(from, to)) {
                continue;
            }
            SCOPED_TRACE(pairName(from, to));
            auto f = makeFsm();
            reach(f, from);
            ASSERT_EQ(f.state(), from);
            Role role = f.role();
            bool drives = f.drivesChassis();
            std::uint64_t before = f.transitions();
            EXPECT_FALSE(f.enter(to, FsmCause::Arbitration));
            EXPECT_EQ(f.state(), from);
            EXPECT_EQ(f.role(), role);
            EXPECT_EQ(f.drivesChassis(), drives);
            EXPECT_EQ(f.transitions(), before);
            EXPECT_EQ(f.refusedTransitions(), 1u);
            ++refused;
        }
    }
    EXPECT_EQ(refused, kFsmStateCount * kFsmStateCount - drivers().size());
}

TEST(RoleFsmTable, StoppedIsFinalAndNoStateLoopsOntoItself) {
    for (S s : kAllStates) {
        EXPECT_FALSE(fsmAllows(s, s)) << toString(s);
        EXPECT_FALSE(fsmAllows(S::Stopped, s)) << toString(s);
    }
}

// The visible role and the chassis gate are functions of the state (and fitness): what frames,
// the MIB and hsctl show did not change when the flags became states.
TEST(RoleFsmTable, VisibleRoleOfEveryState) {
    struct Row {
        S state;
        Role role;
        bool drives, unconfirmed, handingOver, takingOver;
    };
    const Row rows[] = {
        {S::Init, Role::Init, false, false, false, false},
        {S::Standby, Role::Standby, false, false, false, false},
        {S::TakingOver, Role::Standby, false, false, false, true},
        {S::Active, Role::Active, true, false, false, false},
        {S::ActiveUnconfirmed, Role::Active, false, true, false, false},
        {S::HandingOver, Role::Active, false, false, true, false},
        {S::HandingOverUnconfirmed, Role::Active, false, true, true, false},
        {S::Stopped, Role::Stopped, false, false, false, false},
    };
    for (const Row& r : rows) {
        SCOPED_TRACE(toString(r.state));
        auto f = makeFsm();
        reach(f, r.state);
        ASSERT_EQ(f.state(), r.state);
        EXPECT_EQ(f.role(), r.role);
        EXPECT_EQ(f.drivesChassis(), r.drives);
        EXPECT_EQ(f.unconfirmed(), r.unconfirmed);
        EXPECT_EQ(f.handingOver(), r.handingOver);
        EXPECT_EQ(f.takingOver(), r.takingOver);
    }
}

TEST(RoleFsmTable, EveryStateAndCauseHasAName) {
    for (S s : kAllStates) {
        EXPECT_NE(toString(s), "unknown");
    }
    for (int c = 0; c <= static_cast<int>(FsmCause::Shutdown); ++c) {
        EXPECT_NE(toString(static_cast<FsmCause>(c)), "unknown") << c;
    }
}

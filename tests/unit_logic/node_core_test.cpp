#include "core/node_core.hpp"

#include <algorithm>
#include <gtest/gtest.h>

using namespace hs;
using namespace std::chrono_literals;

namespace {
const TimePoint t0 = TimePoint{} + 1h;

NodeCoreConfig cfg(std::uint32_t id, std::uint8_t slot, std::size_t paths = 2) {
    NodeCoreConfig c;
    c.nodeId = id;
    c.slot = slot;
    c.missThreshold = 3;
    c.recoveryThreshold = 2;
    c.initDead = 200ms;
    for (std::size_t i = 0; i < paths; ++i) {
        c.paths.push_back({"p" + std::to_string(i), PathType::Udp, "", 10ms});
    }
    return c;
}

bool hasEvent(const std::vector<Event>& ev, EventType t) {
    return std::any_of(ev.begin(), ev.end(), [t](const Event& e) { return e.type == t; });
}

// Two nodes joined by perfect, instant paths; `cut[p]` drops path p both ways.
struct Pair {
    NodeCore a{cfg(1, 0), 0, 1};
    NodeCore b{cfg(2, 1), 0, 1};
    TimePoint now = t0;
    bool cut[2] = {false, false};
    std::vector<Event> eventsA, eventsB;

    void flush() {
        for (int round = 0; round < 10; ++round) {
            auto oa = a.takeOutgoing();
            auto ob = b.takeOutgoing();
            for (auto e : a.takePersistRequests()) {
                a.onEpochPersisted(now, e);
            }
            for (auto e : b.takePersistRequests()) {
                b.onEpochPersisted(now, e);
            }
            for (auto& o : oa) {
                if (!cut[o.path]) {
                    b.onFrame(now, o.path, o.frame);
                }
            }
            for (auto& o : ob) {
                if (!cut[o.path]) {
                    a.onFrame(now, o.path, o.frame);
                }
            }
            auto ea = a.takeEvents();
            auto eb = b.takeEvents();
            eventsA.insert(eventsA.end(), ea.begin(), ea.end());
            eventsB.insert(eventsB.end(), eb.begin(), eb.end());
            if (oa.empty() && ob.empty()) {
                break;
            }
        }
    }
    void run(Duration d) {
        TimePoint end = now + d;
        while (true) {
            TimePoint next = std::min(a.nextWakeup(), b.nextWakeup());
            if (next > end) {
                break;
            }
            now = std::max(now, next);
            if (a.nextWakeup() <= now) {
                a.onTimer(now);
            }
            if (b.nextWakeup() <= now) {
                b.onTimer(now);
            }
            flush();
        }
        now = end;
    }
    void start() {
        a.start(now);
        b.start(now);
        flush();
        run(500ms);
    }
};
} // namespace

TEST(NodeCore, PairAgreesOnRoles) {
    Pair p;
    p.start();
    EXPECT_EQ(p.a.role(), Role::Active);
    EXPECT_EQ(p.b.role(), Role::Standby);
    EXPECT_EQ(p.a.redundancy(), Redundancy::Redundant);
    EXPECT_EQ(p.a.epoch(), p.b.epoch());
}

TEST(NodeCore, OnePathCutDegradesButNeverSwitchesOver) {
    Pair p;
    p.start();
    p.cut[0] = true;
    p.run(2s);
    EXPECT_EQ(p.a.role(), Role::Active);
    EXPECT_EQ(p.b.role(), Role::Standby);
    EXPECT_EQ(p.b.redundancy(), Redundancy::Degraded);
    EXPECT_TRUE(hasEvent(p.eventsB, EventType::PathDown));
    EXPECT_TRUE(hasEvent(p.eventsB, EventType::RedundancyDegraded));
    EXPECT_FALSE(hasEvent(p.eventsB, EventType::Switchover));
    p.cut[0] = false;
    p.run(200ms);
    EXPECT_EQ(p.b.redundancy(), Redundancy::Redundant);
    EXPECT_TRUE(hasEvent(p.eventsB, EventType::RedundancyRestored));
}

TEST(NodeCore, AllPathsCutStandbyTakesOverThenHealLeavesOneActive) {
    Pair p;
    p.start();
    p.cut[0] = p.cut[1] = true;
    p.run(50ms);
    EXPECT_EQ(p.b.role(), Role::Active);
    EXPECT_TRUE(hasEvent(p.eventsB, EventType::PeerLost));
    EXPECT_EQ(p.a.role(), Role::Active);
    p.cut[0] = p.cut[1] = false;
    p.run(30ms);
    EXPECT_EQ(p.b.role(), Role::Active) << "higher epoch keeps the role";
    EXPECT_EQ(p.a.role(), Role::Standby);
    EXPECT_TRUE(hasEvent(p.eventsA, EventType::SplitBrainResolved));
}

TEST(NodeCore, ReplayedAndStaleFramesAreCountedAndIgnored) {
    NodeCore n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    hb::Frame f;
    f.nodeId = 2;
    f.slot = 1;
    f.role = Role::Standby;
    f.incarnation = 5;
    f.seq = 10;
    f.sendTimeNs = 1'000'000;
    f.intervalUs = 10000;
    f.flags = hb::flag::Fit;
    n.onFrame(t0, 0, f);
    n.onFrame(t0 + 1ms, 0, f); // same sequence: replay
    f.incarnation = 4;
    f.seq = 11;
    n.onFrame(t0 + 2ms, 0, f); // older incarnation: replay
    f.incarnation = 5;
    f.seq = 12;
    f.sendTimeNs = 1'000'000; // sent at the same time as the first, read 500 ms later
    n.onFrame(t0 + 500ms, 0, f);
    auto s = n.snapshot(t0 + 500ms, 0);
    EXPECT_EQ(s.paths[0].counters.replayed, 2u);
    EXPECT_EQ(s.paths[0].counters.stale, 1u);
    EXPECT_EQ(s.paths[0].counters.framesReceived, 1u);
}

TEST(NodeCore, OwnNodeIdIsRejected) {
    NodeCore n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    hb::Frame f;
    f.nodeId = 1;
    f.seq = 1;
    n.onFrame(t0, 0, f);
    EXPECT_EQ(n.snapshot(t0, 0).paths[0].counters.malformed, 1u);
    EXPECT_FALSE(n.peerAlive());
}

TEST(NodeCore, RepeatedAuthFailuresRaiseAnAlarm) {
    NodeCore n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    for (int i = 0; i < 4; ++i) {
        n.onRejected(t0 + i * 1ms, 0, hb::DecodeError::AuthFailure);
    }
    EXPECT_FALSE(hasEvent(n.takeEvents(), EventType::AuthAlarm));
    n.onRejected(t0 + 5ms, 0, hb::DecodeError::AuthFailure);
    EXPECT_TRUE(hasEvent(n.takeEvents(), EventType::AuthAlarm));
    auto s = n.snapshot(t0 + 5ms, 0);
    EXPECT_EQ(s.paths[0].counters.authFailures, 5u);
    EXPECT_EQ(s.paths[0].diag, PathDiag::AuthFailure);
}

TEST(NodeCore, RttIsMeasuredFromTheEcho) {
    NodeCore n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    auto out = n.takeOutgoing();
    ASSERT_FALSE(out.empty());
    std::uint64_t ourSend = out.back().frame.sendTimeNs;
    // The peer holds our frame 1 ms and echoes it; its reply reaches us 5 ms after we sent ours.
    hb::Frame f;
    f.nodeId = 2;
    f.slot = 1;
    f.role = Role::Standby;
    f.incarnation = 1;
    f.seq = 1;
    f.sendTimeNs = 77'000'000;
    f.echoTimeNs = ourSend;
    f.echoHoldUs = 1000;
    f.intervalUs = 10000;
    f.flags = hb::flag::Fit;
    n.onFrame(t0 + 5ms, 0, f);
    EXPECT_EQ(n.snapshot(t0 + 5ms, 0).paths[0].rttUs, 4000u) << "5 ms minus the 1 ms hold";
    // Our next frame echoes the peer's send time and how long we held it.
    n.onTimer(t0 + 10ms);
    auto next = n.takeOutgoing();
    ASSERT_FALSE(next.empty());
    EXPECT_EQ(next.back().frame.echoTimeNs, 77'000'000u);
    EXPECT_EQ(next.back().frame.echoHoldUs, 5000u);
}

TEST(NodeCore, CleanShutdownOfActiveHandsOverAtOnce) {
    Pair p;
    p.start();
    p.a.shutdown(p.now);
    p.flush();
    EXPECT_EQ(p.b.role(), Role::Active) << "no detection time to wait out";
    EXPECT_EQ(p.a.role(), Role::Stopped);
}

TEST(NodeCore, StalledStandbyDoesNotTakeOver) {
    Pair p;
    p.start();
    // b sleeps for a second (SIGSTOP): a keeps sending, b reads it all late.
    TimePoint resume = p.now + 1s;
    while (p.now < resume) {
        p.now = std::min(p.a.nextWakeup(), resume);
        p.a.onTimer(p.now);
        p.a.takeOutgoing(); // lost in b's socket buffer; stale by the time b reads them
    }
    p.b.onTimer(resume);
    p.flush();
    p.run(100ms);
    EXPECT_EQ(p.b.role(), Role::Standby);
    EXPECT_EQ(p.a.role(), Role::Active);
    EXPECT_EQ(p.b.stalls(), 1u);
}

TEST(NodeCore, KeepsTheNextEpochReservedOnDisk) {
    NodeCore n(cfg(1, 0, 1), 4, 1);
    n.start(t0);
    auto req = n.takePersistRequests();
    ASSERT_EQ(req.size(), 1u);
    EXPECT_EQ(req[0], 5u) << "the next takeover's epoch is written ahead of time";
    n.onEpochPersisted(t0, 5);
    n.onTimer(t0 + 200ms); // init_dead: alone, takes over with epoch 5 at once
    EXPECT_EQ(n.role(), Role::Active);
    EXPECT_EQ(n.epoch(), 5u);
    EXPECT_TRUE(n.drivesChassis()) << "no fsync on the takeover's critical path";
    auto next = n.takePersistRequests();
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0], 6u);
}

TEST(NodeCore, FencingGatesTakeoverOnPeerLoss) {
    auto c = cfg(2, 1, 1);
    c.fencing = true;
    Pair p;
    p.b = NodeCore(c, 0, 1);
    p.start();
    ASSERT_EQ(p.b.role(), Role::Standby);
    p.cut[0] = true;
    p.run(50ms);
    EXPECT_TRUE(p.b.takeFenceRequest());
    EXPECT_FALSE(p.b.drivesChassis()) << "no takeover before the peer is fenced";
    p.b.onFenceResult(p.now, false);
    EXPECT_EQ(p.b.role(), Role::Standby) << "a failed fence aborts the takeover";
    p.run(2100ms);
    EXPECT_TRUE(p.b.takeFenceRequest()) << "and it is retried";
    p.b.onFenceResult(p.now, true);
    p.flush();
    EXPECT_TRUE(p.b.drivesChassis());
}

#include "core/node_core.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <optional>
#include <utility>
#include <variant>

using namespace hs;
using namespace std::chrono_literals;

namespace {
const TimePoint t0 = TimePoint{} + 1h;

using Outgoing = effect::SendFrame;

// A node whose one ordered effect list is sorted by kind, so a test can look at one kind at a
// time without losing the others (and checks that the chassis follows the role).
class Node : public NodeCore {
  public:
    using NodeCore::NodeCore;

    std::vector<Outgoing> takeOutgoing() { return take(sorted().out); }
    std::vector<std::uint64_t> takePersistRequests() { return take(sorted().persist); }
    std::optional<std::uint32_t> takePeerIncarnationWrite() {
        return std::exchange(sorted().peerIncarnation, std::nullopt);
    }
    bool takeFenceRequest() { return std::exchange(sorted().fence, false); }
    bool takeCancelFence() { return std::exchange(sorted().cancelFence, false); }
    std::vector<Event> takeEvents() { return take(sorted().events); }
    // What the DriveChassis effects said last.
    bool driving() { return sorted().driving; }

  private:
    struct Sorted {
        std::vector<Outgoing> out;
        std::vector<std::uint64_t> persist;
        std::optional<std::uint32_t> peerIncarnation;
        bool fence = false;
        bool cancelFence = false;
        std::vector<Event> events;
        bool driving = false;
    };
    template <typename T> static T take(T& v) { return std::exchange(v, T{}); }
    Sorted& sorted() {
        for (Effect& e : takeEffects()) {
            if (auto* f = std::get_if<effect::SendFrame>(&e)) {
                s_.out.push_back(std::move(*f));
            } else if (auto* pe = std::get_if<effect::PersistEpoch>(&e)) {
                s_.persist.push_back(pe->epoch);
            } else if (auto* pi = std::get_if<effect::PersistPeerIncarnation>(&e)) {
                s_.peerIncarnation = pi->incarnation;
            } else if (std::holds_alternative<effect::FencePeer>(e)) {
                s_.fence = true;
            } else if (std::holds_alternative<effect::CancelFence>(e)) {
                s_.cancelFence = true;
            } else if (auto* d = std::get_if<effect::DriveChassis>(&e)) {
                s_.driving = d->on;
            } else if (auto* n = std::get_if<effect::Notify>(&e)) {
                s_.events.push_back(std::move(n->event));
            }
        }
        return s_;
    }
    Sorted s_;
};

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

// A frame of peer node 2 (slot 1, standby) on `path`, echoing `echo` (one of our send times).
hb::Frame peerFrame(std::uint32_t incarnation, std::uint64_t seq, std::uint64_t sendNs,
                    std::uint64_t echo, std::size_t path = 0) {
    hb::Frame f;
    f.nodeId = 2;
    f.slot = 1;
    f.role = Role::Standby;
    f.pathIndex = static_cast<std::uint8_t>(path + 1);
    f.incarnation = incarnation;
    f.seq = seq;
    f.sendTimeNs = sendNs;
    f.echoTimeNs = echo;
    f.intervalUs = 10000;
    f.flags = hb::flag::Fit;
    return f;
}

// The send time of the node's latest frame on `path` (what a live peer echoes).
std::uint64_t lastSent(Node& n, std::size_t path = 0) {
    std::uint64_t t = 0;
    for (const auto& o : n.takeOutgoing()) {
        if (o.path == path) {
            t = o.frame.sendTimeNs;
        }
    }
    return t;
}

std::int64_t toNs(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

bool hasEvent(const std::vector<Event>& ev, EventType t) {
    return std::any_of(ev.begin(), ev.end(), [t](const Event& e) { return e.type == t; });
}

// Two nodes joined by perfect, instant paths; `cut[p]` drops path p both ways.
struct Pair {
    Node a{cfg(1, 0), 0, 1};
    Node b{cfg(2, 1), 0, 1};
    TimePoint now = t0;
    bool cut[2] = {false, false};
    bool diskFailsA = false, diskFailsB = false; // epoch writes fail (ENOSPC, read-only remount)
    std::vector<Event> eventsA, eventsB;

    void flush() {
        for (int round = 0; round < 10; ++round) {
            auto oa = a.takeOutgoing();
            auto ob = b.takeOutgoing();
            for (auto e : a.takePersistRequests()) {
                diskFailsA ? a.onEpochPersistFailed(now, e, "No space left on device")
                           : a.onEpochPersisted(now, e);
            }
            for (auto e : b.takePersistRequests()) {
                diskFailsB ? b.onEpochPersistFailed(now, e, "Read-only file system")
                           : b.onEpochPersisted(now, e);
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
        // The DriveChassis effects follow the role: the daemon drives by them alone.
        EXPECT_EQ(a.driving(), a.drivesChassis());
        EXPECT_EQ(b.driving(), b.drivesChassis());
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
    Node n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    hb::Frame f = peerFrame(5, 10, 1'000'000, lastSent(n));
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
    Node n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    hb::Frame f;
    f.nodeId = 1;
    f.seq = 1;
    n.onFrame(t0, 0, f);
    EXPECT_EQ(n.snapshot(t0, 0).paths[0].counters.malformed, 1u);
    EXPECT_FALSE(n.peerAlive());
}

TEST(NodeCore, RepeatedAuthFailuresRaiseAnAlarm) {
    Node n(cfg(1, 0, 1), 0, 1);
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
    Node n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    auto out = n.takeOutgoing();
    ASSERT_FALSE(out.empty());
    std::uint64_t ourSend = out.back().frame.sendTimeNs;
    // The peer holds our frame 1 ms and echoes it; its reply reaches us 5 ms after we sent ours.
    hb::Frame f = peerFrame(1, 1, 77'000'000, ourSend);
    f.echoHoldUs = 1000;
    n.onFrame(t0 + 5ms, 0, f);
    EXPECT_EQ(n.snapshot(t0 + 5ms, 0).paths[0].rttUs, 4000u) << "5 ms minus the 1 ms hold";
    // Our next frame echoes the peer's send time and how long we held it.
    n.onTimer(t0 + 10ms);
    auto next = n.takeOutgoing();
    ASSERT_FALSE(next.empty());
    EXPECT_EQ(next.back().frame.echoTimeNs, 77'000'000u);
    EXPECT_EQ(next.back().frame.echoHoldUs, 5000u);
}

// A frame that waited in the socket for the next tick is read later than it arrived: the round
// trip and the echo hold count from its arrival, what the node does in answer from the read.
TEST(NodeCore, FrameReadAtTheTickCountsFromItsArrival) {
    Node n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    auto out = n.takeOutgoing();
    ASSERT_FALSE(out.empty());
    hb::Frame f = peerFrame(1, 1, 77'000'000, out.back().frame.sendTimeNs);
    f.echoHoldUs = 1000;
    n.onFrame(t0 + 9ms, 0, f, t0 + 5ms); // arrived at 5 ms, read at 9 ms
    EXPECT_EQ(n.snapshot().paths[0].rttUs, 4000u) << "arrival minus our send minus the hold";
    n.onTimer(t0 + 10ms);
    auto next = n.takeOutgoing();
    ASSERT_FALSE(next.empty());
    EXPECT_EQ(next.back().frame.echoHoldUs, 5000u) << "held since its arrival, not since the read";
    // A read never credits a frame with a time after it was read.
    hb::Frame g = peerFrame(1, 2, 87'000'000, next.back().frame.sendTimeNs);
    n.onFrame(t0 + 12ms, 0, g, t0 + 20ms);
    n.onTimer(t0 + 20ms);
    auto third = n.takeOutgoing();
    ASSERT_FALSE(third.empty());
    EXPECT_EQ(third.back().frame.echoHoldUs, 8000u);
}

TEST(NodeCore, CleanShutdownOfActiveHandsOverAtOnce) {
    Pair p;
    p.start();
    p.a.shutdown(p.now);
    p.flush();
    EXPECT_EQ(p.b.role(), Role::Active) << "no detection time to wait out";
    EXPECT_EQ(p.a.role(), Role::Stopped);
}

// The stop frames go out twice, 5 ms apart, with fresh sequence numbers: when the first copy is
// lost, the second still hands over at once and is not taken for a replay.
TEST(NodeCore, CleanShutdownSendsTheStopFramesTwiceWithFreshSequenceNumbers) {
    Pair p;
    p.start();
    ASSERT_TRUE(p.a.drivesChassis());
    TimePoint stop = p.now;
    p.a.shutdown(stop);
    EXPECT_FALSE(p.a.driving()) << "the chassis is let go";
    auto first = p.a.takeOutgoing(); // lost on the wire
    ASSERT_EQ(first.size(), 2u);
    EXPECT_FALSE(p.a.shutdownDone());
    EXPECT_EQ(p.a.nextWakeup(), stop + 5ms);
    p.a.onTimer(stop + 4ms);
    EXPECT_TRUE(p.a.takeOutgoing().empty());
    p.a.onTimer(stop + 5ms);
    auto second = p.a.takeOutgoing();
    ASSERT_EQ(second.size(), 2u);
    EXPECT_TRUE(p.a.shutdownDone());
    EXPECT_EQ(p.a.nextWakeup(), TimePoint::max()) << "then the node falls silent";
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(second[i].path, first[i].path);
        EXPECT_EQ(second[i].frame.type, hb::FrameType::Handover);
        EXPECT_EQ(second[i].frame.role, Role::Stopped);
        EXPECT_EQ(second[i].frame.payload, first[i].frame.payload);
        EXPECT_GT(second[i].frame.seq, first[i].frame.seq);
    }
    p.now = stop + 5ms;
    auto replayedBefore = p.b.snapshot().paths[0].counters.replayed;
    for (const auto& o : second) {
        p.b.onFrame(p.now, o.path, o.frame);
    }
    p.flush();
    EXPECT_EQ(p.b.role(), Role::Active) << "the second copy alone hands over";
    EXPECT_EQ(p.b.snapshot().paths[0].counters.replayed, replayedBefore);
    p.a.onTimer(stop + 1s);
    EXPECT_TRUE(p.a.takeOutgoing().empty());
}

// A BMC unreachable for 3 s makes the node unfit: the active hands over to a fit standby. A
// shorter outage changes nothing, and a reachable BMC makes it fit again at once.
TEST(NodeCore, BmcUnreachableFor3sMakesTheActiveUnfitAndHandOver) {
    Pair p;
    p.start();
    ASSERT_TRUE(p.a.drivesChassis());
    p.a.setBmcReachable(p.now, false);
    p.flush();
    p.run(2s);
    p.a.setBmcReachable(p.now, true); // a short outage
    p.flush();
    p.run(3s);
    EXPECT_TRUE(p.a.drivesChassis()) << "an outage shorter than 3 s changes nothing";
    EXPECT_TRUE(p.a.snapshot().local.bmcOk);

    TimePoint down = p.now;
    p.a.setBmcReachable(down, false);
    p.flush();
    EXPECT_FALSE(p.a.snapshot().local.bmcOk) << "reported at once";
    p.run(2900ms);
    EXPECT_TRUE(p.a.drivesChassis()) << "not before 3 s";
    EXPECT_EQ(p.b.role(), Role::Standby);
    p.run(200ms); // no further report needed: the core's own timer ends the debounce
    EXPECT_FALSE(p.a.drivesChassis());
    EXPECT_TRUE(p.b.drivesChassis()) << "the fit standby takes over";
    EXPECT_EQ(p.a.role(), Role::Fault);

    p.a.setBmcReachable(p.now, true);
    p.flush();
    p.run(100ms);
    EXPECT_EQ(p.a.role(), Role::Standby) << "fit again at once";
}

// Not unfit within 3 s of the start, even with the BMC unreachable from the first report.
TEST(NodeCore, BmcUnreachableAtStartIsForgivenFor3s) {
    Node n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    n.setBmcReachable(t0 + 1s, false);
    TimePoint now = t0 + 1s;
    while (now < t0 + 3900ms) {
        now = std::max(now, n.nextWakeup());
        n.onTimer(now);
    }
    EXPECT_NE(n.role(), Role::Fault);
    while (now < t0 + 4100ms) {
        now = std::max(now, n.nextWakeup());
        n.onTimer(now);
    }
    EXPECT_EQ(n.role(), Role::Fault);
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
    Node n(cfg(1, 0, 1), 4, 1);
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
    p.b = Node(c, 0, 1);
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

// ---- A failed epoch write (ENOSPC, EIO, read-only remount) ----

TEST(NodeCore, FailedEpochWriteIsRetriedAndTheTakeoverCompletesOnceDurable) {
    Pair p;
    p.diskFailsB = true;
    p.start();
    EXPECT_EQ(p.a.role(), Role::Active);
    EXPECT_EQ(p.b.role(), Role::Fault) << "the next epoch is not durable: unfit";
    EXPECT_TRUE(hasEvent(p.eventsB, EventType::StateDirUnwritable));
    auto s = p.b.snapshot();
    EXPECT_FALSE(s.stateDirWritable);
    EXPECT_EQ(s.stateDirError, "Read-only file system");
    // The active dies: b must not act on an epoch that is not on disk, and keeps trying.
    p.cut[0] = p.cut[1] = true;
    p.run(2s);
    EXPECT_FALSE(p.b.drivesChassis());
    EXPECT_NE(p.b.role(), Role::Active);
    // The disk takes writes again: the retry (at most 5 s apart) makes the epoch durable.
    p.diskFailsB = false;
    p.run(5100ms);
    EXPECT_TRUE(p.b.drivesChassis());
    EXPECT_TRUE(hasEvent(p.eventsB, EventType::StateDirRecovered));
    EXPECT_TRUE(p.b.snapshot().stateDirWritable);
    EXPECT_EQ(p.b.epoch(), p.a.epoch() + 1);
}

TEST(NodeCore, NodeWhoseNextEpochIsNotDurableLeavesTheActiveRoleToAFitPeer) {
    Pair p;
    p.diskFailsA = true; // a is the preferred slot, but cannot reserve its next epoch
    p.start();
    EXPECT_EQ(p.b.role(), Role::Active) << "a fit peer becomes active";
    EXPECT_EQ(p.a.role(), Role::Fault);
    EXPECT_TRUE(hasEvent(p.eventsA, EventType::StateDirUnwritable));
    // The disk recovers: a is fit again, b keeps the role (no preemption).
    p.diskFailsA = false;
    p.run(6s);
    EXPECT_EQ(p.a.role(), Role::Standby);
    EXPECT_EQ(p.b.role(), Role::Active);
    EXPECT_TRUE(hasEvent(p.eventsA, EventType::StateDirRecovered));
}

TEST(NodeCore, EpochWriteRetriesBackOffTo5s) {
    Node n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    TimePoint now = t0;
    std::vector<TimePoint> attempts;
    for (int i = 0; i < 12; ++i) {
        for (auto e : n.takePersistRequests()) {
            attempts.push_back(now);
            n.onEpochPersistFailed(now, e, "No space left on device");
        }
        now = n.nextWakeup();
        while (n.takePersistRequests().empty() && now < t0 + 60s) {
            n.onTimer(now);
            auto req = n.takePersistRequests();
            if (!req.empty()) {
                attempts.push_back(now);
                for (auto e : req) {
                    n.onEpochPersistFailed(now, e, "No space left on device");
                }
            }
            now = n.nextWakeup();
        }
    }
    ASSERT_GE(attempts.size(), 8u) << "the same epoch is requested again";
    EXPECT_LE(attempts[1] - attempts[0], 110ms);
    EXPECT_LE(attempts.back() - attempts[attempts.size() - 2], 5s);
    EXPECT_GE(attempts.back() - attempts[attempts.size() - 2], 4s);
}

// ---- Range checks on authenticated fields ----

TEST(NodeCore, OutOfRangeFieldsAreRefusedAndCounted) {
    Node n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    std::uint64_t echo = lastSent(n);
    std::uint64_t seq = 1;
    auto send = [&](auto tweak) {
        hb::Frame f = peerFrame(1, seq++, 1'000'000, echo);
        tweak(f);
        n.onFrame(t0 + 1ms, 0, f);
    };
    send([](hb::Frame& f) { f.epoch = ~std::uint64_t{0}; });                 // epoch + 1 wraps
    send([](hb::Frame& f) { f.sendTimeNs = std::uint64_t{1} << 63; });       // signed overflow
    send([](hb::Frame& f) { f.sendTimeNs = ~std::uint64_t{0}; });            // negative time
    send([](hb::Frame& f) { f.echoTimeNs = (std::uint64_t{1} << 63) + 5; }); // signed overflow
    send([](hb::Frame& f) { f.intervalUs = 0xffffffff; });                   // 71 min detection
    auto s = n.snapshot();
    EXPECT_EQ(s.paths[0].counters.malformed, 5u);
    EXPECT_EQ(s.paths[0].counters.framesReceived, 0u);
    EXPECT_EQ(n.monitor(0).detectionTime(), 30ms);
    EXPECT_FALSE(n.peer().has_value());
    send([](hb::Frame&) {});
    EXPECT_EQ(n.snapshot().paths[0].counters.framesReceived, 1u) << "sane frames still count";
}

// ---- Frames bound to their path ----

TEST(NodeCore, FrameRelayedFromAnotherPathIsDroppedAndDoesNotAdvanceTheSequence) {
    Node n(cfg(1, 0, 2), 0, 1);
    n.start(t0);
    std::uint64_t echo0 = 0, echo1 = 0;
    for (const auto& o : n.takeOutgoing()) {
        (o.path == 0 ? echo0 : echo1) = o.frame.sendTimeNs;
    }
    // Path 2's frame (sequence 500, a faster path) replayed into path 1.
    n.onFrame(t0 + 1ms, 0, peerFrame(1, 500, 1'000'000, echo1, 1));
    auto s = n.snapshot();
    EXPECT_EQ(s.paths[0].counters.malformed, 1u);
    EXPECT_EQ(s.paths[0].counters.framesReceived, 0u);
    // The genuine path-1 frame with a lower sequence number is not a replay.
    n.onFrame(t0 + 2ms, 0, peerFrame(1, 3, 2'000'000, echo0, 0));
    s = n.snapshot();
    EXPECT_EQ(s.paths[0].counters.framesReceived, 1u);
    EXPECT_EQ(s.paths[0].counters.replayed, 0u);
}

// ---- Missed intervals as an NMS sees them ----

TEST(NodeCore, MissedCounterNeverGoesBackwardsAndCoversADown) {
    Node n(cfg(1, 0, 1), 0, 1);
    n.start(t0);
    // A peer on a 10 ms x 3 path whose clock reads 5 s less than ours.
    auto peerNs = [](TimePoint t) { return static_cast<std::uint64_t>(toNs(t) - 5'000'000'000); };
    TimePoint now = t0;
    std::uint64_t seq = 1;
    std::uint64_t echo = lastSent(n);
    for (; now < t0 + 100ms; now += 10ms) {
        n.onTimer(now);
        if (auto e = lastSent(n)) {
            echo = e;
        }
        n.onFrame(now, 0, peerFrame(1, seq++, peerNs(now), echo));
    }
    ASSERT_EQ(n.monitor(0).state(), PathState::Up);
    TimePoint silence = now - 10ms;
    std::uint64_t last = n.snapshot().paths[0].counters.missed;
    // 45 ms of silence (the path goes down after 30 ms), read every millisecond.
    for (; now <= silence + 45ms; now += 1ms) {
        n.onTimer(now);
        std::uint64_t m = n.snapshot(now, 0).paths[0].counters.missed;
        EXPECT_GE(m, last) << "Counter64 went backwards";
        last = m;
    }
    EXPECT_EQ(n.monitor(0).state(), PathState::Down);
    EXPECT_GE(last, 3u) << "down after 3 silent intervals: at least 3 missed";
    // A frame sent at +35 ms, held in a buffer, read now: credited with its send time.
    n.onFrame(now, 0, peerFrame(1, seq++, peerNs(silence + 35ms), echo));
    for (int i = 0; i < 20; ++i, now += 1ms) {
        n.onTimer(now);
        std::uint64_t m = n.snapshot(now, 0).paths[0].counters.missed;
        EXPECT_GE(m, last) << "Counter64 went backwards after a late frame";
        last = m;
    }
}

// ---- Past events keep their time ----

TEST(NodeCore, PastEventsKeepTheirWallClockTimeBetweenSnapshots) {
    std::int64_t wall = 1'700'000'000'000;
    auto c = cfg(1, 0, 1);
    c.wallClockMs = [&wall] { return wall; };
    Node n(c, 0, 1);
    n.start(t0);
    for (auto e : n.takePersistRequests()) {
        n.onEpochPersisted(t0, e);
    }
    wall += 200;
    n.onTimer(t0 + 200ms); // alone at init_dead: takes over
    ASSERT_EQ(n.role(), Role::Active);
    // Two reads, 1 s and 2 s later; the wall clock drifted 1 ms against the steady one meanwhile.
    auto s1 = n.snapshot(t0 + 1200ms, wall + 1000);
    auto s2 = n.snapshot(t0 + 2200ms, wall + 2001);
    EXPECT_EQ(s1.lastSwitchoverUnixMs, wall);
    EXPECT_EQ(s1.lastSwitchoverUnixMs, s2.lastSwitchoverUnixMs);
    EXPECT_EQ(s1.local.lastChangeUnixMs, s2.local.lastChangeUnixMs);
    ASSERT_EQ(s1.journal.size(), 1u);
    ASSERT_EQ(s2.journal.size(), 1u);
    EXPECT_EQ(s1.journal[0].unixMs, s2.journal[0].unixMs);
    EXPECT_EQ(s1.paths[0].lastChangeUnixMs, s2.paths[0].lastChangeUnixMs);
}

// ---- Replay after a restart ----

// A shutdown handover of the active, recorded on the wire, replayed at the standby after the
// standby restarted: it must not make it take over (and the real active stand down).
TEST(NodeCore, RecordedHandoverDoesNotMakeARestartedNodeTakeOver) {
    Pair p;
    p.start();
    ASSERT_EQ(p.a.role(), Role::Active);
    Node recorder = p.a;
    recorder.shutdown(p.now);
    auto recorded = recorder.takeOutgoing(); // Handover frames, incarnation 1
    ASSERT_FALSE(recorded.empty());
    p.now += 3ms;                             // (a restart takes time)
    p.b = Node(cfg(2, 1), p.b.epoch(), 2, 1); // b restarts
    p.b.start(p.now);
    for (const auto& o : recorded) {
        p.b.onFrame(p.now, o.path, o.frame);
    }
    p.eventsA.clear();
    p.flush();
    p.run(300ms);
    EXPECT_EQ(p.a.role(), Role::Active);
    EXPECT_EQ(p.b.role(), Role::Standby);
    EXPECT_FALSE(hasEvent(p.eventsA, EventType::Switchover)) << "the real active stood down";
}

// The same recording replayed on a path where b has not yet heard the live active since its
// restart (the recorded frame's sequence number is new there): it proves the path, no more.
TEST(NodeCore, RecordedFrameOnANotYetVerifiedPathChangesNoRole) {
    Pair p;
    p.start();
    Node recorder = p.a;
    recorder.shutdown(p.now);
    auto recorded = recorder.takeOutgoing();
    p.now += 25ms; // b restarts: its old incarnation falls silent
    p.b = Node(cfg(2, 1), p.b.epoch(), 2, 1);
    p.cut[1] = true; // the live active reaches b on path 0 only
    p.b.start(p.now);
    p.flush(); // within a round trip: b and a have proven themselves to each other on path 0
    ASSERT_EQ(p.b.role(), Role::Standby);
    // (replayed within the detection time of its recording, so it is not merely stale)
    for (const auto& o : recorded) {
        if (o.path == 1) {
            p.b.onFrame(p.now, o.path, o.frame);
        }
    }
    p.eventsA.clear();
    p.flush();
    p.run(50ms);
    EXPECT_EQ(p.b.role(), Role::Standby);
    EXPECT_EQ(p.a.role(), Role::Active);
    EXPECT_FALSE(hasEvent(p.eventsA, EventType::Switchover));
}

TEST(NodeCore, RestartedPeerRejoinsWithinARoundTrip) {
    Pair p;
    p.start();
    p.a.takePeerIncarnationWrite();
    TimePoint back = p.now + 100ms; // b is down for 100 ms; a keeps sending into the void
    while (p.now < back) {
        p.now = std::min(p.a.nextWakeup(), back);
        p.a.onTimer(p.now);
        p.a.takeOutgoing();
    }
    p.b = Node(cfg(2, 1), p.b.epoch(), 2, 1);
    p.b.start(p.now);
    p.flush(); // b's first frames, a's answers echoing them, b's answers: no interval waited
    EXPECT_EQ(p.b.role(), Role::Standby);
    EXPECT_EQ(p.a.role(), Role::Active);
    ASSERT_TRUE(p.b.peer());
    EXPECT_EQ(p.b.peer()->role, Role::Active);
    EXPECT_EQ(p.a.takePeerIncarnationWrite(), std::optional<std::uint32_t>(2))
        << "the new peer incarnation is persisted";
    EXPECT_FALSE(p.b.takePeerIncarnationWrite()) << "b already had incarnation 1 stored";
}

TEST(NodeCore, AfterARestartOnlyAnAnsweringPeerIsAdopted) {
    Node n(cfg(1, 0, 1), 0, 2, 7); // peer incarnation 7 stored by the previous run
    n.start(t0);
    std::uint64_t echo = lastSent(n);
    n.onFrame(t0 + 1ms, 0, peerFrame(6, 1, 1'000'000, 0));       // older, no proof
    n.onFrame(t0 + 2ms, 0, peerFrame(7, 1, 2'000'000, 0));       // no echo yet
    n.onFrame(t0 + 3ms, 0, peerFrame(7, 2, 3'000'000, 123'456)); // echo of a past incarnation
    auto s = n.snapshot();
    EXPECT_EQ(s.paths[0].counters.replayed, 3u);
    EXPECT_EQ(s.paths[0].counters.framesReceived, 0u);
    EXPECT_FALSE(n.peer());
    n.onFrame(t0 + 4ms, 0, peerFrame(7, 3, 4'000'000, echo)); // answers this incarnation of ours
    EXPECT_EQ(n.snapshot().paths[0].counters.framesReceived, 1u);
    ASSERT_TRUE(n.peer());
    EXPECT_FALSE(n.takePeerIncarnationWrite()) << "unchanged";
}

// The peer module is replaced (or its state wiped): its incarnation starts again at 1. This node
// adopts it without a restart once it answers our frames and the old one stays silent.
TEST(NodeCore, PeerWhoseIncarnationWentBackwardsIsAdopted) {
    Pair p;
    p.a = Node(cfg(1, 0), 0, 50);
    p.start();
    ASSERT_EQ(p.a.role(), Role::Active);
    EXPECT_EQ(p.b.takePeerIncarnationWrite(), std::optional<std::uint32_t>(50));
    p.a = Node(cfg(1, 0), 0, 1); // wiped: incarnation 1, epoch 0
    p.a.start(p.now);
    p.run(1s);
    EXPECT_TRUE(p.b.peerAlive());
    EXPECT_EQ(p.b.redundancy(), Redundancy::Redundant);
    EXPECT_EQ(p.b.role(), Role::Active) << "the old active vanished: b took over";
    EXPECT_EQ(p.a.role(), Role::Standby);
    EXPECT_EQ(p.b.takePeerIncarnationWrite(), std::optional<std::uint32_t>(1));
}

// Replication rides in the frames (docs/replication.md "How it rides"): the heartbeat payload
// reaches the peer; a replication frame is delivered once, a replay of it never.
TEST(NodeCore, ReplicationFramesAndHeartbeatPayloadsReachThePeerOnce) {
    Pair p;
    p.start();
    (void)p.b.takePeerPayloads();
    p.a.setHeartbeatPayload({1, 2, 3});
    p.run(30ms);
    auto hb = p.b.takePeerPayloads();
    ASSERT_FALSE(hb.empty());
    for (const auto& x : hb) {
        EXPECT_EQ(x.type, hb::FrameType::Heartbeat);
        EXPECT_EQ(x.role, Role::Active);
        EXPECT_EQ(x.payload, (std::vector<std::uint8_t>{1, 2, 3}));
    }
    auto f = p.a.replicationFrame(p.now, 0, {9, 8});
    ASSERT_TRUE(f);
    EXPECT_EQ(f->type, hb::FrameType::Replication);
    const auto replayedBefore = p.b.snapshot().paths[0].counters.replayed;
    p.b.onFrame(p.now, 0, *f);
    auto got = p.b.takePeerPayloads();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].type, hb::FrameType::Replication);
    EXPECT_EQ(got[0].payload, (std::vector<std::uint8_t>{9, 8}));
    p.b.onFrame(p.now + 1ms, 0, *f); // the same frame again: a replay, not delivered
    EXPECT_TRUE(p.b.takePeerPayloads().empty());
    EXPECT_EQ(p.b.snapshot().paths[0].counters.replayed, replayedBefore + 1);
    // A replication frame takes the path's next sequence number and keeps the roles as they are.
    p.run(100ms);
    EXPECT_EQ(p.a.role(), Role::Active);
    EXPECT_EQ(p.b.role(), Role::Standby);
}

// On a serial path only every kSerialPayloadEvery-th heartbeat carries the watermark.
TEST(NodeCore, SerialPathCarriesTheHeartbeatPayloadEveryFewHeartbeats) {
    NodeCoreConfig c = cfg(1, 0, 2);
    c.paths[1].type = PathType::Serial;
    Node n(c, 0, 1);
    n.setHeartbeatPayload(std::vector<std::uint8_t>(30, 7));
    n.start(t0);
    TimePoint now = t0;
    for (int i = 0; i < 40; ++i) {
        now = n.nextWakeup();
        n.onTimer(now);
    }
    std::size_t udp = 0, udpWith = 0, serial = 0, serialWith = 0;
    for (const auto& o : n.takeOutgoing()) {
        if (o.frame.type != hb::FrameType::Heartbeat) {
            continue;
        }
        (o.path == 0 ? udp : serial) += 1;
        (o.path == 0 ? udpWith : serialWith) += o.frame.payload.empty() ? 0 : 1;
    }
    EXPECT_GT(udp, 10u);
    EXPECT_EQ(udpWith, udp);
    EXPECT_GT(serial, 10u);
    EXPECT_EQ(serialWith,
              (serial + NodeCore::kSerialPayloadEvery - 1) / NodeCore::kSerialPayloadEvery);
}

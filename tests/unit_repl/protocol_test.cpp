// The replication protocol between one Sender and one Receiver, driven by hand on a virtual
// clock: join decisions, priority and budget, gap requests and coalesced resends, waits for
// acknowledged intent, readiness, divergence, and the message encodings.
#include "repl/message.hpp"
#include "repl/protocol.hpp"

#include <functional>
#include <gtest/gtest.h>

using namespace hs;
using namespace hs::repl;

namespace {

const Budget kNet{4000, true, kFrameOverhead};
const Budget kSerial{150, false, kFrameOverhead};

struct Pair {
    Store ws; // the active's store
    Store rs; // the standby's store
    Sender sender{ws, SenderConfig{milliseconds(100), milliseconds(40)}};
    Receiver recv{rs, ReceiverConfig{milliseconds(30), milliseconds(50), 2, milliseconds(50)}, 1};
    TimePoint now{};
    // Filters: return false to drop a message on the way.
    std::function<bool(const Message&)> toStandby = [](const Message&) { return true; };
    std::function<bool(const Message&)> toActive = [](const Message&) { return true; };
    std::vector<Message> heldForStandby;

    Pair() { ws.beginTerm(1, 10); }

    void heartbeat() {
        recv.onPeerWatermark(sender.watermark(), now);
        sender.onPeerWatermark(recv.watermark(), now);
    }
    // Returns the bytes the active sent.
    std::size_t step(const Budget& b = kNet) {
        now += milliseconds(10);
        heartbeat();
        std::size_t bytes = 0;
        for (const auto& raw : sender.tick(now, b)) {
            bytes += raw.size() + b.overhead;
            Message m;
            EXPECT_TRUE(decodeMessage(raw, m));
            if (toStandby(m))
                recv.onMessage(m, now);
            else
                heldForStandby.push_back(m);
        }
        EXPECT_LE(bytes, b.bytes); // the active's budget of this tick
        std::size_t standbyBytes = 0;
        for (const auto& raw : recv.tick(now, b)) {
            standbyBytes += raw.size() + b.overhead;
            Message m;
            EXPECT_TRUE(decodeMessage(raw, m));
            if (toActive(m))
                sender.onMessage(m, now);
        }
        EXPECT_LE(standbyBytes, b.bytes); // the standby's
        return bytes;
    }
    void run(int n, const Budget& b = kNet) {
        for (int i = 0; i < n; ++i)
            step(b);
    }
    bool inSync() const {
        return ws.records() == rs.records() && ws.lastSeqs() == rs.lastSeqs() &&
               ws.history() == rs.history();
    }
};

std::uint8_t floorOf(const Store& s, std::uint32_t zone) {
    const Record* r = s.find({RecordKind::FanFloor, zone});
    return r ? std::get<FanFloorRecord>(r->value).dutyPct.value_or(0) : 0;
}

} // namespace

TEST(ReplProtocol, EmptyStandbyGetsAFullSnapshotAndTurnsHot) {
    Pair p;
    for (std::uint32_t z = 0; z < 4; ++z)
        p.ws.put(z, FanFloorRecord{static_cast<std::uint8_t>(10 * z)});
    p.ws.put(1, SensorRecord{40.0, true, SensorState::Nominal, 1});
    EXPECT_EQ(p.recv.readiness(), Readiness::Cold);
    p.run(5);
    EXPECT_TRUE(p.inSync());
    EXPECT_EQ(p.recv.readiness(), Readiness::Hot);
    EXPECT_EQ(p.sender.stats().snapshotsSent, 1u);
    EXPECT_EQ(p.recv.stats().snapshotsReceived, 1u);
    EXPECT_EQ(p.recv.lagRecords(Stream::Ordered), 0u);
}

TEST(ReplProtocol, RejoinOfAPrefixIsACatchUp) {
    Pair p;
    p.ws.put(0, FanModeRecord{FanMode::Manual});
    p.run(5);
    ASSERT_TRUE(p.inSync());
    // The standby restarts (its store persisted); the active writes meanwhile.
    Receiver again(p.rs, ReceiverConfig{}, 2);
    p.ws.put(2, FanFloorRecord{std::uint8_t{66}});
    again.onPeerWatermark(p.ws.watermark(), p.now);
    const auto out = again.tick(p.now, kNet);
    ASSERT_EQ(out.size(), 1u);
    Message join;
    ASSERT_TRUE(decodeMessage(out[0], join));
    p.sender.onMessage(join, p.now);
    EXPECT_EQ(p.sender.stats().catchUpsSent, 1u);
    for (const auto& raw : p.sender.tick(p.now, kNet)) {
        Message m;
        ASSERT_TRUE(decodeMessage(raw, m));
        again.onMessage(m, p.now);
    }
    EXPECT_TRUE(p.inSync());
    EXPECT_EQ(again.stats().catchUpsReceived, 1u);
}

TEST(ReplProtocol, OrderedStreamGoesFirstAndTelemetryWaitsOnASlowPath) {
    Pair p;
    p.run(3); // joined, nothing to send yet
    for (std::uint32_t i = 0; i < 20; ++i)
        p.ws.put(i, SensorRecord{1.0 * i, true, SensorState::Nominal, 1});
    p.ws.put(1, FanFloorRecord{std::uint8_t{50}});
    p.ws.put(0, FanModeRecord{FanMode::Manual});
    for (int i = 0; i < 10; ++i) {
        const auto used = p.step(kSerial);
        EXPECT_LE(used, kSerial.bytes); // never above the tick's budget
    }
    EXPECT_EQ(floorOf(p.rs, 1), 50);
    EXPECT_NE(p.rs.find({RecordKind::FanMode, 0}), nullptr);
    EXPECT_EQ(p.rs.lastSeq(Stream::Telemetry), 0u); // telemetry waited
    EXPECT_EQ(p.recv.readiness(), Readiness::Hot);  // hot is about the ordered stream
    p.run(3, kNet);
    EXPECT_TRUE(p.inSync());
}

TEST(ReplProtocol, NothingIsSentWhenTheNextRecordDoesNotFit) {
    Pair p;
    p.run(3);
    p.ws.append(ChassisEventRecord{1, EventType::SensorThreshold, 1, 1.0, std::string(60, 'e')});
    p.ws.put(1, SensorRecord{1.0, true, SensorState::Nominal, 1});
    const Budget tiny{100, true, kFrameOverhead};
    const auto out = p.sender.tick(p.now + milliseconds(1), tiny);
    EXPECT_TRUE(out.empty()); // the event does not fit and telemetry may not overtake it
}

TEST(ReplProtocol, LostDeltaIsRequestedAndResentAsTheCurrentValue) {
    Pair p;
    p.run(3);
    p.ws.put(1, FanFloorRecord{std::uint8_t{30}});
    bool dropped = false;
    p.toStandby = [&](const Message& m) {
        if (std::holds_alternative<Delta>(m) && !dropped) {
            dropped = true;
            return false;
        }
        return true;
    };
    p.step();
    ASSERT_TRUE(dropped);
    EXPECT_EQ(floorOf(p.rs, 1), 0);
    // Overwritten before the resend: the standby gets 45, never the lost 30.
    p.ws.put(1, FanFloorRecord{std::uint8_t{45}});
    p.ws.put(0, PreemptionRecord{true});
    std::vector<std::uint8_t> seen;
    p.toStandby = [&](const Message& m) {
        if (const auto* d = std::get_if<Delta>(&m))
            for (const auto& r : d->records)
                if (const auto* f = std::get_if<FanFloorRecord>(&r.value))
                    seen.push_back(f->dutyPct.value_or(0));
        return true;
    };
    p.run(10);
    EXPECT_TRUE(p.inSync());
    EXPECT_EQ(floorOf(p.rs, 1), 45);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 30), 0);
    EXPECT_GE(p.recv.stats().gaps + p.sender.stats().resends, 1u);
}

TEST(ReplProtocol, DeltaBuiltBeforeOneAlreadyTakenIsIgnored) {
    // D1 = (0, 3] is built and delayed; k1 is overwritten; a resend D2 = (0, 2] (one record fits)
    // is taken first. D1 arriving last must not be taken: it would claim the writer's exact state
    // at 3, which held k1 = 10, while the standby never got that value.
    Pair p;
    p.run(3);
    p.ws.put(1, FanFloorRecord{std::uint8_t{10}}); // seq 1
    p.ws.put(2, FanFloorRecord{std::uint8_t{20}}); // seq 2
    p.ws.put(3, FanFloorRecord{std::uint8_t{30}}); // seq 3
    const Watermark at3 = p.ws.watermark();
    bool held = false;
    p.toStandby = [&](const Message& m) {
        if (std::holds_alternative<Delta>(m) && !held) {
            held = true;
            return false;
        }
        return true;
    };
    p.step();
    ASSERT_EQ(p.heldForStandby.size(), 1u);
    const Message d1 = p.heldForStandby[0];
    p.ws.put(1, FanFloorRecord{std::uint8_t{11}}); // seq 4
    const Record* k2 = p.ws.find({RecordKind::FanFloor, 2});
    const auto one = encodeMessage(Delta{1ull << 32 | 1, Stream::Ordered, 0, 4, {*k2}}).size();
    const Budget tight{one + 1 + kFrameOverhead, true, kFrameOverhead};
    for (int i = 0; i < 10 && p.rs.lastSeq(Stream::Ordered) < 2; ++i)
        p.step(tight);
    ASSERT_EQ(p.rs.lastSeq(Stream::Ordered), 2u);
    p.recv.onMessage(d1, p.now);
    EXPECT_EQ(p.rs.lastSeq(Stream::Ordered), 2u);
    const auto wm = p.recv.watermark();
    if ((wm.exact & 1) != 0 && wm.seq[0] == 3) {
        EXPECT_EQ(wm.digest[0], at3.digest[0]);
    }
    p.run(6);
    EXPECT_TRUE(p.inSync());
    EXPECT_EQ(floorOf(p.rs, 1), 11);
}

TEST(ReplProtocol, IntentWaitIsAckedOnceTheStandbyHoldsIt) {
    Pair p;
    p.run(3);
    p.ws.put(2, FanFloorRecord{std::uint8_t{80}});
    p.sender.await({RecordKind::FanFloor, 2}, 7, p.now);
    EXPECT_TRUE(p.sender.takeDecisions().empty()); // never decided before the standby holds it
    p.run(3);
    const auto d = p.sender.takeDecisions();
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].token, 7u);
    EXPECT_EQ(d[0].outcome, WaitOutcome::Acked);
    EXPECT_EQ(floorOf(p.rs, 2), 80);
}

TEST(ReplProtocol, SupersededIntentIsAckedOnlyWithTheNewerValue) {
    Pair p;
    p.run(3);
    p.ws.put(2, FanFloorRecord{std::uint8_t{80}});
    p.sender.await({RecordKind::FanFloor, 2}, 1, p.now);
    p.ws.put(2, FanFloorRecord{std::uint8_t{85}});
    p.sender.await({RecordKind::FanFloor, 2}, 2, p.now);
    // An ack that covers the first write's position but not the key's current value.
    Ack a{0, {1, 0}, 0};
    p.toActive = [&](const Message& m) {
        if (const auto* ack = std::get_if<Ack>(&m))
            a.session = ack->session;
        return false;
    };
    p.step(); // the standby takes (0, 2] and acks; the ack is held back
    p.sender.onMessage(a, p.now);
    EXPECT_TRUE(p.sender.takeDecisions().empty());
    a.have = {2, 0};
    p.sender.onMessage(a, p.now);
    const auto d = p.sender.takeDecisions();
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].outcome, WaitOutcome::Acked);
    EXPECT_EQ(d[1].outcome, WaitOutcome::Acked);
}

TEST(ReplProtocol, WaitTimesOutDegradedThenRestored) {
    Pair p;
    p.run(3);
    p.toStandby = [](const Message&) { return false; }; // the standby hears nothing
    p.ws.put(0, FanModeRecord{FanMode::Manual});
    p.sender.await({RecordKind::FanMode, 0}, 3, p.now);
    p.run(9);
    EXPECT_TRUE(p.sender.takeDecisions().empty()); // 90 ms < 100 ms bound
    p.run(2);
    auto d = p.sender.takeDecisions();
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].outcome, WaitOutcome::TimedOut);
    EXPECT_TRUE(p.sender.degraded());
    auto n = p.sender.takeNotices();
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].type, NoticeType::Degraded);
    p.toStandby = [](const Message&) { return true; };
    p.run(10);
    EXPECT_FALSE(p.sender.degraded());
    n = p.sender.takeNotices();
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].type, NoticeType::Restored);
}

TEST(ReplProtocol, WaitWithoutStandbyOrAfterStepDownIsDecidedAtOnce) {
    Pair p;
    p.ws.put(0, FanModeRecord{FanMode::Manual});
    p.sender.await({RecordKind::FanMode, 0}, 1, p.now);
    auto d = p.sender.takeDecisions();
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].outcome, WaitOutcome::NoStandby);
    p.run(3);
    p.toStandby = [](const Message&) { return false; };
    p.ws.put(0, FanModeRecord{FanMode::Auto});
    p.sender.await({RecordKind::FanMode, 0}, 2, p.now);
    p.ws.put(0, FanModeRecord{FanMode::Manual});
    p.sender.await({RecordKind::FanMode, 0}, 3, p.now);
    p.sender.peerLost();
    p.ws.put(1, FanFloorRecord{std::uint8_t{1}});
    d = p.sender.takeDecisions();
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].outcome, WaitOutcome::NoStandby);
    p.toStandby = [](const Message&) { return true; };
    p.recv.stop();
    p.run(3); // rejoins
    p.toStandby = [](const Message&) { return false; };
    p.ws.put(1, FanFloorRecord{std::uint8_t{2}});
    p.sender.await({RecordKind::FanFloor, 1}, 4, p.now);
    p.sender.reset();
    d = p.sender.takeDecisions();
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].outcome, WaitOutcome::Abandoned);
}

TEST(ReplProtocol, ReadinessFollowsTheLagBound) {
    Pair p;
    p.ws.put(0, FanModeRecord{FanMode::Auto});
    p.run(4);
    EXPECT_EQ(p.recv.readiness(), Readiness::Hot);
    p.toStandby = [](const Message&) { return false; };
    for (std::uint32_t z = 0; z < 5; ++z)
        p.ws.put(z, FanFloorRecord{std::uint8_t{9}});
    p.step(); // the watermark shows 5 records the standby lacks (bound 2)
    EXPECT_EQ(p.recv.readiness(), Readiness::Syncing);
    EXPECT_EQ(p.recv.lagRecords(Stream::Ordered), 5u);
    p.toStandby = [](const Message&) { return true; };
    p.run(8);
    EXPECT_EQ(p.recv.readiness(), Readiness::Hot);
    const auto n = p.recv.takeNotices();
    std::vector<Readiness> seen;
    for (const auto& x : n)
        if (x.type == NoticeType::Readiness)
            seen.push_back(x.readiness);
    EXPECT_EQ(seen, (std::vector<Readiness>{Readiness::Syncing, Readiness::Hot, Readiness::Syncing,
                                            Readiness::Hot}));
}

TEST(ReplProtocol, PartitionHealReportsTheLosersRecordsAndEndsEqual) {
    Pair p;
    p.ws.put(0, FanModeRecord{FanMode::Auto});
    p.ws.put(1, FanFloorRecord{std::uint8_t{20}});
    p.run(4);
    ASSERT_TRUE(p.inSync());
    // Partition: the standby takes over (epoch 2) and writes; the old active keeps writing.
    p.recv.stop();
    p.rs.beginTerm(2, 11);
    p.rs.put(1, FanFloorRecord{std::uint8_t{60}});
    p.ws.put(1, FanFloorRecord{std::uint8_t{99}});
    p.ws.put(0, PreemptionRecord{true});
    // Heal: the higher epoch (rs) wins; the old active becomes its standby.
    Sender winner(p.rs);
    Receiver loser(p.ws, ReceiverConfig{}, 5);
    TimePoint t = p.now;
    for (int i = 0; i < 6; ++i) {
        t += milliseconds(10);
        loser.onPeerWatermark(winner.watermark(), t);
        for (const auto& raw : loser.tick(t, kNet)) {
            Message m;
            ASSERT_TRUE(decodeMessage(raw, m));
            winner.onMessage(m, t);
        }
        for (const auto& raw : winner.tick(t, kNet)) {
            Message m;
            ASSERT_TRUE(decodeMessage(raw, m));
            loser.onMessage(m, t);
        }
    }
    EXPECT_EQ(p.ws.records(), p.rs.records());
    EXPECT_EQ(p.ws.history(), p.rs.history());
    EXPECT_EQ(winner.stats().snapshotsSent, 1u);
    EXPECT_EQ(loser.stats().conflicts, 2u);
    std::vector<RecordKey> reported;
    for (const auto& n : loser.takeNotices())
        if (n.type == NoticeType::Conflict) {
            EXPECT_EQ(n.count, 2u);
            for (const auto& r : n.records)
                reported.push_back(r.key());
        }
    EXPECT_EQ(reported,
              (std::vector<RecordKey>{{RecordKind::FanFloor, 1}, {RecordKind::Preemption, 0}}));
    EXPECT_EQ(floorOf(p.ws, 1), 60); // the winner's value, not merged
}

TEST(ReplProtocol, DigestMismatchAtAnEqualPositionForcesAFullResync) {
    Pair p;
    p.ws.put(0, FanModeRecord{FanMode::Auto});
    p.run(4);
    ASSERT_TRUE(p.inSync());
    // Corrupt the standby's copy behind the protocol's back (same position, other content).
    Record bad = *p.rs.find({RecordKind::FanMode, 0});
    bad.value = FanModeRecord{FanMode::Manual};
    p.rs.clear();
    p.rs.adoptHistory(p.ws.history());
    p.rs.apply(bad);
    p.rs.setLastSeq(Stream::Ordered, 1);
    p.run(6);
    EXPECT_EQ(p.recv.stats().divergences, 1u);
    EXPECT_TRUE(p.inSync());
    EXPECT_EQ(p.sender.stats().snapshotsSent, 2u);
}

TEST(ReplProtocol, StaleSessionsAreIgnored) {
    Pair p;
    p.ws.put(0, FanModeRecord{FanMode::Auto});
    p.run(4);
    const auto acked = p.sender.acked(Stream::Ordered);
    p.sender.onMessage(Ack{12345, {1, 0}, gap::kOrdered}, p.now);
    p.recv.onMessage(Delta{999, Stream::Ordered, 0, 9, {Record{0, Stamp{1, 9}, FanModeRecord{}}}},
                     p.now);
    EXPECT_EQ(p.sender.acked(Stream::Ordered), acked);
    EXPECT_TRUE(p.inSync());
    EXPECT_GE(p.sender.stats().stale, 1u);
    EXPECT_GE(p.recv.stats().stale, 1u);
}

TEST(ReplMessage, EveryMessageRoundTrips) {
    const History h{{1, 10, {1, 1}}, {3, 11, {40, 7}}};
    const std::vector<Message> all = {
        Join{0x100000002ull, true, {5, 6}, h},
        JoinReply{7, JoinMode::CatchUp, {5, 6}, {9, 9}, h},
        Delta{7,
              Stream::Telemetry,
              3,
              12,
              {Record{1, Stamp{3, 4}, SensorRecord{1.5, true, SensorState::Critical, 9}},
               Record{0, Stamp{3, 12}, PowerRecord{PowerState::On, 10}}}},
        Ack{7, {4, 12}, gap::kTelemetry},
    };
    for (const auto& m : all) {
        const auto bytes = encodeMessage(m);
        Message back;
        ASSERT_TRUE(decodeMessage(bytes, back)) << m.index();
        EXPECT_EQ(back, m);
        for (std::size_t n = 0; n < bytes.size(); ++n)
            EXPECT_FALSE(decodeMessage(std::span(bytes).first(n), back)) << m.index() << " " << n;
        auto longer = bytes;
        longer.push_back(0);
        EXPECT_FALSE(decodeMessage(longer, back));
    }
}

TEST(ReplMessage, RefusesInconsistentDeltas) {
    auto enc = [](const Delta& d) { return encodeMessage(Message{d}); };
    Message m;
    const Record tele{0, Stamp{1, 5}, PowerRecord{}};
    const Record ord{0, Stamp{1, 5}, FanModeRecord{}};
    EXPECT_TRUE(decodeMessage(enc(Delta{1, Stream::Telemetry, 4, 5, {tele}}), m));
    EXPECT_FALSE(decodeMessage(enc(Delta{1, Stream::Ordered, 4, 5, {tele}}), m)); // wrong stream
    EXPECT_FALSE(decodeMessage(enc(Delta{1, Stream::Ordered, 5, 5, {ord}}), m));  // not after from
    EXPECT_FALSE(decodeMessage(enc(Delta{1, Stream::Ordered, 4, 4, {ord}}), m));  // past its top
    EXPECT_FALSE(decodeMessage(enc(Delta{1, Stream::Ordered, 0, 9, {ord, ord}}), m)); // not rising
    EXPECT_FALSE(decodeMessage(enc(Delta{1, Stream::Ordered, 0, 9, {}}), m));         // empty
}

TEST(ReplMessage, WatermarkRoundTripsAndFitsAHeartbeat) {
    const Watermark wm{
        12, 0x100000007ull, {123456, 789}, {0x0123456789abcdefull, 0xfedcba9876543210ull}, 3};
    std::vector<std::uint8_t> b;
    encodeWatermark(wm, b);
    EXPECT_LE(b.size(), 45u);
    Watermark back;
    ASSERT_TRUE(decodeWatermark(b, back));
    EXPECT_EQ(back, wm);
    b.back() = 4;
    EXPECT_FALSE(decodeWatermark(b, back));
}

TEST(ReplBudget, SpareBytesOfAPath) {
    // 115200 baud 8N1 = 11520 B/s: 10 ms carry 115 bytes, 20 ms 230.
    EXPECT_EQ(spareBytesPerTick(11520, milliseconds(10), 82), 33u);
    EXPECT_EQ(spareBytesPerTick(11520, milliseconds(20), 82), 148u);
    EXPECT_EQ(spareBytesPerTick(11520, milliseconds(5), 82), 0u);
    EXPECT_EQ(spareBytesPerTick(12'500'000, milliseconds(10), 82), 124918u);
}

TEST(ReplProtocol, StandbyRejoinsWhenTheActiveForgotItsSession) {
    Pair p;
    p.ws.put(0, FanModeRecord{FanMode::Auto});
    p.run(4);
    ASSERT_TRUE(p.inSync());
    p.sender.peerLost(); // the active's detector fired; the standby's did not
    p.ws.put(1, FanFloorRecord{std::uint8_t{70}});
    p.run(20); // 200 ms: still waiting (bound 500 ms)
    EXPECT_EQ(floorOf(p.rs, 1), 0);
    EXPECT_EQ(p.recv.stats().joins, 1u);
    p.run(50);
    EXPECT_EQ(p.recv.stats().joins, 2u);
    EXPECT_TRUE(p.inSync());
    EXPECT_EQ(p.sender.stats().catchUpsSent, 1u);
}

TEST(ReplProtocol, NeverFollowsAWriterOfAnOlderEpoch) {
    Pair p;
    p.ws.put(0, FanModeRecord{FanMode::Auto});
    p.run(4);
    ASSERT_TRUE(p.inSync());
    // This node took over (epoch 2) and wrote; a late heartbeat of the deposed epoch-1 active
    // must not make it give its store up.
    p.recv.stop();
    p.rs.beginTerm(2, 11);
    p.rs.put(1, FanFloorRecord{std::uint8_t{60}});
    Receiver again(p.rs, ReceiverConfig{}, 2);
    again.onPeerWatermark(p.sender.watermark(), p.now);
    EXPECT_FALSE(again.following());
    EXPECT_TRUE(again.tick(p.now, kNet).empty());
    EXPECT_EQ(again.stats().lowerEpoch, 1u);
    EXPECT_EQ(floorOf(p.rs, 1), 60);
}

// At once: a written ordered record leaves before the next tick out of what the tick left of its
// budget, and the standby acknowledges it before its own next tick; the wait is decided with no
// tick in between. Telemetry still waits for the tick, and a slow path (immediate 0) sends
// nothing between ticks.
TEST(ReplProtocol, AnOrderedRecordTravelsAndIsAckedWithoutATick) {
    const Budget net{4000, true, kFrameOverhead, 4};
    Pair p;
    p.run(3, net);
    ASSERT_EQ(p.recv.readiness(), Readiness::Hot);
    p.now += milliseconds(1);
    p.ws.put(1, SensorRecord{40.0, true, SensorState::Nominal, 1});
    EXPECT_TRUE(p.sender.sendNow(p.now).empty()) << "telemetry waits for the tick";
    p.ws.put(2, FanFloorRecord{std::uint8_t{70}});
    p.sender.await({RecordKind::FanFloor, 2}, 9, p.now);
    const auto deltas = p.sender.sendNow(p.now);
    ASSERT_EQ(deltas.size(), 1u);
    Message m;
    ASSERT_TRUE(decodeMessage(deltas[0], m));
    ASSERT_TRUE(std::holds_alternative<Delta>(m));
    EXPECT_EQ(std::get<Delta>(m).stream, Stream::Ordered);
    p.recv.onMessage(m, p.now);
    EXPECT_EQ(floorOf(p.rs, 2), 70);
    const auto acks = p.recv.ackNow(p.now);
    ASSERT_EQ(acks.size(), 1u);
    ASSERT_TRUE(decodeMessage(acks[0], m));
    ASSERT_TRUE(std::holds_alternative<Ack>(m));
    p.sender.onMessage(m, p.now);
    const auto d = p.sender.takeDecisions();
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].token, 9u);
    EXPECT_EQ(d[0].outcome, WaitOutcome::Acked);
    EXPECT_TRUE(p.recv.ackNow(p.now).empty()) << "nothing new to acknowledge";
    EXPECT_EQ(p.sender.stats().immediate, 1u);
    EXPECT_EQ(p.recv.stats().immediateAcks, 1u);

    // A slow path: everything waits for the tick.
    p.run(2, kSerial);
    p.ws.put(2, FanFloorRecord{std::uint8_t{71}});
    EXPECT_TRUE(p.sender.sendNow(p.now).empty());
}

// What leaves at once comes out of the interval's budget: never more than the tick's bytes in
// all, at most Budget::immediate messages, and the standby's immediate Acks are rate-limited so
// a burst of Deltas cannot cause a storm of Acks (the rest wait for the tick).
TEST(ReplProtocol, WhatLeavesAtOnceStaysWithinTheIntervalsBudget) {
    Pair p;
    p.run(3, Budget{4000, true, kFrameOverhead, 2});
    // A tick that spent nothing leaves its whole budget; three writes, two messages at once.
    p.now += milliseconds(1);
    std::size_t bytes = 0;
    std::vector<Message> sent;
    for (std::uint8_t i = 0; i < 3; ++i) {
        p.ws.put(0, FanFloorRecord{static_cast<std::uint8_t>(50 + i)});
        for (const auto& raw : p.sender.sendNow(p.now)) {
            bytes += raw.size() + kFrameOverhead;
            Message m;
            ASSERT_TRUE(decodeMessage(raw, m));
            sent.push_back(m);
        }
    }
    EXPECT_EQ(sent.size(), 2u);
    EXPECT_LE(bytes, 4000u);
    // The standby takes the first at once, the second within ackNowEvery: one immediate Ack.
    p.recv.onMessage(sent[0], p.now);
    EXPECT_EQ(p.recv.ackNow(p.now).size(), 1u);
    p.recv.onMessage(sent[1], p.now);
    EXPECT_TRUE(p.recv.ackNow(p.now + microseconds(500)).empty());
    EXPECT_EQ(p.recv.ackNow(p.now + milliseconds(2)).size(), 1u);
    // A budget the tick used up: nothing at once. The first record's Delta (about 40 bytes)
    // fills a budget of 60 bytes.
    Pair q;
    q.run(3, Budget{4000, true, kFrameOverhead, 4});
    q.ws.put(0, FanFloorRecord{std::uint8_t{10}});
    q.ws.put(1, FanFloorRecord{std::uint8_t{11}});
    q.now += milliseconds(10);
    const Budget tight{60, true, kFrameOverhead, 4};
    std::size_t used = 0;
    for (const auto& raw : q.sender.tick(q.now, tight))
        used += raw.size() + kFrameOverhead;
    q.ws.put(2, FanFloorRecord{std::uint8_t{12}});
    for (const auto& raw : q.sender.sendNow(q.now))
        used += raw.size() + kFrameOverhead;
    EXPECT_LE(used, tight.bytes);
}

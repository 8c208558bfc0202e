// The daemon's replication glue (daemon/replication.*): two nodes joined by an in-memory path,
// every message and watermark through its encoding.
#include "daemon/replica_files.hpp"
#include "daemon/replication.hpp"
#include "repl/message.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

using namespace hs;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + 1h;

struct Side {
    Replication r;
    Role role = Role::Standby;
    std::vector<std::vector<std::uint8_t>> out;
    Side(std::uint32_t id, std::vector<ReplicationPath> paths = {{PathType::Udp, 10ms, 0}})
        : r(id, id, std::move(paths),
            [this](std::size_t, std::vector<std::uint8_t> m) { out.push_back(std::move(m)); }) {}
};

struct Pair {
    Side a{1};
    Side b{2};
    TimePoint now = t0;
    bool cut = false;
    std::vector<bool> up{true};

    static void deliver(Side& from, Side& to, TimePoint now, bool cut) {
        NodeCore::PeerPayload hb{0, hb::FrameType::Heartbeat, from.role, 0, from.r.watermark()};
        auto msgs = std::exchange(from.out, {});
        if (cut) {
            return;
        }
        to.r.onPeerPayload(now, hb);
        for (auto& m : msgs) {
            to.r.onPeerPayload(now, {0, hb::FrameType::Replication, from.role, 0, std::move(m)});
        }
    }
    void run(Duration d) {
        const TimePoint end = now + d;
        while (now < end) {
            now += 10ms;
            a.r.tick(now, !cut, up);
            b.r.tick(now, !cut, up);
            deliver(a, b, now, cut);
            deliver(b, a, now, cut);
        }
    }
    void aActive() {
        a.role = Role::Active;
        (void)a.r.takeOver(now, 5);
    }
};

const repl::FanFloorRecord* floorOf(const repl::Store& s, std::uint32_t zone) {
    const repl::Record* r = s.find({repl::RecordKind::FanFloor, zone});
    return r ? std::get_if<repl::FanFloorRecord>(&r->value) : nullptr;
}

} // namespace

TEST(Replication, IntentReachesTheMirrorAndIsInheritedAtATakeover) {
    Pair p;
    p.aActive();
    p.run(200ms);
    EXPECT_EQ(p.b.r.readiness(), repl::Readiness::Hot);
    p.a.r.onIntent(chassis::FanFloorChanged{1, 40u}, p.now);
    p.a.r.onIntent(chassis::FanModeChanged{FanMode::Manual}, p.now);
    std::optional<repl::WaitOutcome> outcome;
    p.a.r.write(0, repl::PreemptionRecord{true}, p.now,
                [&outcome](repl::WaitOutcome o) { outcome = o; });
    EXPECT_FALSE(outcome) << "answered before the standby holds it";
    p.run(50ms);
    ASSERT_TRUE(outcome);
    EXPECT_EQ(*outcome, repl::WaitOutcome::Acked);
    ASSERT_NE(floorOf(p.b.r.store(), 1), nullptr);
    EXPECT_EQ(floorOf(p.b.r.store(), 1)->dutyPct, 40);
    EXPECT_EQ(p.b.r.store(), p.a.r.store());

    // The active dies; the mirror takes over with what it holds.
    p.cut = true;
    p.run(30ms);
    p.b.role = Role::Active;
    chassis::ReplicatedIntent in = p.b.r.takeOver(p.now, 6);
    EXPECT_TRUE(in.hot);
    ASSERT_TRUE(in.fanMode);
    EXPECT_EQ(*in.fanMode, FanMode::Manual);
    ASSERT_EQ(in.floors.size(), 2u);
    EXPECT_FALSE(in.floors[0]);
    EXPECT_EQ(in.floors[1], 40u);
    EXPECT_TRUE(p.b.r.writer());

    // The old active comes back as the standby and mirrors the new writer.
    p.a.role = Role::Standby;
    p.a.r.stepDown();
    p.cut = false;
    p.b.r.onIntent(chassis::FanFloorChanged{1, 55u}, p.now);
    p.run(300ms);
    ASSERT_NE(floorOf(p.a.r.store(), 1), nullptr);
    EXPECT_EQ(floorOf(p.a.r.store(), 1)->dutyPct, 55);
    EXPECT_EQ(p.a.r.store(), p.b.r.store());
    EXPECT_EQ(p.a.r.readiness(), repl::Readiness::Hot);
}

// An operator's intent change travels at once on a network path: the write puts its Delta on
// the wire before the next tick, the standby's Ack of it leaves as the Delta arrives, and the
// answer is decided with no tick of either node in between. Telemetry still waits for the tick;
// on the serial line everything does.
TEST(Replication, AnAcknowledgedIntentTravelsWithoutWaitingForATick) {
    Pair p;
    p.aActive();
    p.run(200ms);
    ASSERT_EQ(p.b.r.readiness(), repl::Readiness::Hot);
    const TimePoint at = p.now + 3ms; // between two ticks
    ChassisSnapshot c;
    c.enabled = true;
    c.power = PowerState::On;
    c.sensors.push_back({.index = 1, .value = 41.5, .valueValid = true});
    p.a.r.onTelemetry(c, at);
    ASSERT_GT(p.a.r.store().lastSeq(repl::Stream::Telemetry), 0u);
    EXPECT_TRUE(p.a.out.empty()) << "telemetry waits for the tick";
    std::optional<repl::WaitOutcome> outcome;
    p.a.r.write(0, repl::FanFloorRecord{std::uint8_t{65}}, at,
                [&outcome](repl::WaitOutcome o) { outcome = o; });
    ASSERT_EQ(p.a.out.size(), 1u) << "the Delta leaves at the write, not at the next tick";
    for (auto& m : std::exchange(p.a.out, {})) {
        p.b.r.onPeerPayload(at, {0, hb::FrameType::Replication, Role::Active, 0, std::move(m)});
    }
    ASSERT_NE(floorOf(p.b.r.store(), 0), nullptr);
    EXPECT_EQ(floorOf(p.b.r.store(), 0)->dutyPct, 65);
    ASSERT_EQ(p.b.out.size(), 1u) << "the standby's Ack leaves as the Delta arrives";
    for (auto& m : std::exchange(p.b.out, {})) {
        p.a.r.onPeerPayload(at, {0, hb::FrameType::Replication, Role::Standby, 0, std::move(m)});
    }
    ASSERT_TRUE(outcome) << "answered without a tick";
    EXPECT_EQ(*outcome, repl::WaitOutcome::Acked);
    EXPECT_EQ(p.a.r.statusJson(at)["counters"]["sent_at_once"], 1);
    EXPECT_EQ(p.b.r.statusJson(at)["counters"]["sent_at_once"], 1);

    // The serial line only: the write waits for the tick.
    Side a{1, {{PathType::Serial, 20ms, 115200}}};
    Side b{2, {{PathType::Serial, 20ms, 115200}}};
    a.role = Role::Active;
    (void)a.r.takeOver(t0, 5);
    TimePoint now = t0;
    for (int i = 0; i < 30; ++i) {
        now += 20ms;
        a.r.tick(now, true, {true});
        b.r.tick(now, true, {true});
        Pair::deliver(a, b, now, false);
        Pair::deliver(b, a, now, false);
    }
    ASSERT_EQ(b.r.readiness(), repl::Readiness::Hot);
    a.r.write(0, repl::FanFloorRecord{std::uint8_t{66}}, now + 3ms);
    EXPECT_TRUE(a.out.empty()) << "nothing between ticks on the serial line";
}

TEST(Replication, AMirrorThatWasNotHotHandsOnNothingTrusted) {
    Pair p;
    p.aActive();
    p.cut = true; // the standby never hears the active
    p.a.r.onIntent(chassis::FanFloorChanged{0, 30u}, p.now);
    p.run(50ms);
    chassis::ReplicatedIntent in = p.b.r.takeOver(p.now, 6);
    EXPECT_FALSE(in.hot);
    EXPECT_TRUE(in.floors.empty());
}

TEST(Replication, WaitsAreAnsweredWithoutAStandbyAndTimeOutWhenItStopsAnswering) {
    Pair p;
    p.aActive();
    std::optional<repl::WaitOutcome> first;
    p.a.r.write(0, repl::PreemptionRecord{true}, p.now,
                [&first](repl::WaitOutcome o) { first = o; });
    ASSERT_TRUE(first) << "no standby joined: answered at once";
    EXPECT_EQ(*first, repl::WaitOutcome::NoStandby);
    p.run(200ms);
    // The standby's answers stop arriving, the peer still looks alive.
    std::optional<repl::WaitOutcome> second;
    p.a.r.write(0, repl::PreemptionRecord{false}, p.now,
                [&second](repl::WaitOutcome o) { second = o; });
    for (int i = 0; i < 40 && !second; ++i) {
        p.now += 10ms;
        p.a.r.tick(p.now, true, p.up);
        p.a.out.clear();
    }
    ASSERT_TRUE(second);
    EXPECT_EQ(*second, repl::WaitOutcome::TimedOut);
    EXPECT_TRUE(p.a.r.degraded());
    EXPECT_EQ(p.a.r.statusJson(p.now)["degraded"], true);
}

TEST(Replication, MalformedPayloadsAreDroppedAndCounted) {
    Side s(2);
    s.r.onPeerPayload(t0, {0, hb::FrameType::Heartbeat, Role::Active, 1, {0xFF, 0x01}});
    s.r.onPeerPayload(t0, {0, hb::FrameType::Replication, Role::Active, 1, {1, 3, 0xFF}});
    EXPECT_EQ(s.r.counters().malformed, 2u);
    EXPECT_TRUE(s.r.store().empty());
}

TEST(Replication, TelemetryIsCoalescedAndTheJournalRowWaitsForTheTakeover) {
    Side s(1);
    Event sw;
    sw.type = EventType::Switchover;
    sw.role = Role::Active;
    sw.fromRole = Role::Standby;
    sw.reason = SwitchoverReason::PeerLost;
    sw.epoch = 7;
    s.r.onEvent(sw, t0);
    EXPECT_TRUE(s.r.store().empty()) << "not the writer yet";
    (void)s.r.takeOver(t0, 7);
    const repl::Record* row = s.r.store().find({repl::RecordKind::Journal, 1});
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(std::get<repl::JournalRecord>(row->value).epoch, 7u);

    ChassisSnapshot c;
    c.enabled = true;
    c.power = PowerState::On;
    c.sensors.push_back({.index = 1, .value = 41.5, .valueValid = true});
    c.fans.push_back({.zone = 0, .dutyPct = 30});
    s.r.onTelemetry(c, t0);
    const auto seq = s.r.store().lastSeq(repl::Stream::Telemetry);
    EXPECT_EQ(seq, 4u); // sensor, power, fan, BMC access
    s.r.onTelemetry(c, t0 + 200ms);
    EXPECT_EQ(s.r.store().lastSeq(repl::Stream::Telemetry), seq) << "nothing changed";
    c.sensors[0].value = 42.0;
    s.r.onTelemetry(c, t0 + 400ms);
    EXPECT_EQ(s.r.store().lastSeq(repl::Stream::Telemetry), seq + 1);

    Event power;
    power.type = EventType::ChassisPowerChanged;
    power.power = PowerState::Off;
    s.r.onEvent(power, t0);
    EXPECT_NE(s.r.store().find({repl::RecordKind::ChassisEvent, 1}), nullptr);
}

TEST(Replication, PathBudgets) {
    // 115200 baud at 10 ms: 115 bytes a tick, the heartbeat frame and a quarter watermark leave
    // no room for a Delta (about 100 bytes with its frame); at 20 ms one fits. No telemetry.
    const repl::Budget s10 = pathBudget({PathType::Serial, 10ms, 115200}, 35);
    EXPECT_FALSE(s10.telemetry);
    EXPECT_LT(s10.bytes, 100u);
    const repl::Budget s20 = pathBudget({PathType::Serial, 20ms, 115200}, 35);
    EXPECT_GE(s20.bytes, 130u);
    const repl::Budget n10 = pathBudget({PathType::Udp, 10ms, 0}, 35);
    EXPECT_TRUE(n10.telemetry);
    EXPECT_EQ(n10.bytes, kNetworkBytesPerTick);
    // The bulk budget (a standby far behind) raises the network cap only.
    EXPECT_EQ(pathBudget({PathType::Udp, 10ms, 0}, 35, true).bytes, kNetworkBulkBytesPerTick);
    EXPECT_EQ(pathBudget({PathType::Serial, 20ms, 115200}, 35, true).bytes, s20.bytes);
    EXPECT_FALSE(pathBudget({PathType::Serial, 20ms, 115200}, 35, true).telemetry);
}

TEST(Replication, AFullSnapshotTravelsWithTheBulkBudget) {
    // The writer holds 3,000 sensor records (about 70 KB). At the steady cap (8192 bytes a tick)
    // their snapshot takes at least 9 ticks after the join; with the bulk budget 3. Seven ticks
    // of 10 ms: the join (watermark, Join), then the snapshot.
    Pair p;
    repl::Store s;
    s.beginTerm(5, 1);
    for (std::uint32_t i = 0; i < 3000; ++i) {
        s.put(i, repl::SensorRecord{20.0 + i % 50, true, SensorState::Nominal, 1'700'000'000'000});
    }
    p.a.r.load(std::move(s));
    p.aActive();
    p.run(70ms);
    EXPECT_EQ(p.b.r.store().size(), 3000u);
    EXPECT_TRUE(p.b.r.store() == p.a.r.store());
    // Caught up: the steady budget again (the standby acknowledged everything).
    p.run(100ms);
    EXPECT_EQ(p.a.r.lagRecords(), 0u);
}

TEST(Replication, AManualSwitchoverWaitsForAHotStandby) {
    Pair p;
    p.aActive();
    auto early = p.a.r.switchoverRefusal();
    ASSERT_TRUE(early) << "no standby joined yet";
    EXPECT_NE(early->find("not hot"), std::string::npos) << *early;
    ASSERT_TRUE(p.b.r.switchoverRefusal()) << "the standby's own mirror is cold";
    p.run(200ms);
    EXPECT_FALSE(p.a.r.switchoverRefusal());
    EXPECT_FALSE(p.b.r.switchoverRefusal());
}

// The view the MIB shows (Snapshot::replication), on the writer and on the mirror.
TEST(Replication, TheViewShowsBothSides) {
    Pair p;
    p.aActive();
    p.a.r.onIntent(chassis::FanFloorChanged{1, 40u}, p.now);
    p.run(200ms);
    Snapshot::ReplicationView a;
    Snapshot::ReplicationView b;
    p.a.r.fillView(a, p.now);
    p.b.r.fillView(b, p.now);
    EXPECT_TRUE(a.writer);
    EXPECT_TRUE(a.standbyJoined);
    EXPECT_TRUE(a.standbyHot);
    EXPECT_EQ(a.storeEpoch, 5u);
    EXPECT_GT(a.records, 0u);
    EXPECT_EQ(a.records, p.a.r.store().size());
    EXPECT_EQ(a.storeSeq, p.a.r.store().lastSeq(repl::Stream::Ordered));
    EXPECT_EQ(a.ackedSeq, a.storeSeq);
    EXPECT_EQ(a.snapshotsSent, 1u);
    EXPECT_GT(a.lastSnapshotUnixMs, 0);
    EXPECT_FALSE(b.writer);
    EXPECT_EQ(b.readiness, 2); // hot
    EXPECT_TRUE(b.standbyHot);
    EXPECT_FALSE(b.standbyJoined);
    EXPECT_EQ(b.storeEpoch, a.storeEpoch);
    EXPECT_EQ(b.storeSeq, a.storeSeq);
    EXPECT_EQ(b.records, a.records);
    EXPECT_EQ(b.snapshotsReceived, 1u);
    EXPECT_GT(b.lastSnapshotUnixMs, 0);
    EXPECT_EQ(b.lagRecords, 0u);
}

// A wait that times out is a notice that becomes an event (hsReplicationDegraded).
TEST(Replication, DegradedBecomesAnEvent) {
    Pair p;
    p.aActive();
    p.run(200ms);
    (void)p.a.r.takeNotices();
    std::optional<repl::WaitOutcome> outcome;
    p.a.r.write(0, repl::PreemptionRecord{true}, p.now,
                [&outcome](repl::WaitOutcome o) { outcome = o; });
    for (int i = 0; i < 40 && !outcome; ++i) {
        p.now += 10ms;
        p.a.r.tick(p.now, true, p.up);
        p.a.out.clear();
    }
    ASSERT_TRUE(outcome);
    std::vector<Event> events;
    for (const repl::Notice& n : p.a.r.takeNotices()) {
        if (auto e = noticeEvent(n)) {
            events.push_back(*e);
        }
    }
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, EventType::ReplicationDegraded);
    Snapshot::ReplicationView v;
    p.a.r.fillView(v, p.now);
    EXPECT_TRUE(v.degraded);
    EXPECT_EQ(v.waitsTimedOut, 1u);

    repl::Notice restored{repl::NoticeType::Restored, {}, 0, {}};
    ASSERT_TRUE(noticeEvent(restored));
    EXPECT_EQ(noticeEvent(restored)->type, EventType::ReplicationRestored);
    repl::Notice conflict{repl::NoticeType::Conflict, {}, 7, {}};
    ASSERT_TRUE(noticeEvent(conflict));
    EXPECT_EQ(noticeEvent(conflict)->type, EventType::ReplicationRecordsDropped);
    EXPECT_EQ(noticeEvent(conflict)->count, 7u);
    // A readiness notice carries the readiness as hsReplReadiness (the daemon tells only the
    // changes into and out of hot: Daemon::Impl::replicationNotices).
    auto hot = noticeEvent(repl::Notice{repl::NoticeType::Readiness, repl::Readiness::Hot, 0, {}});
    ASSERT_TRUE(hot);
    EXPECT_EQ(hot->type, EventType::ReplicationHot);
    EXPECT_EQ(hot->objectIndex, 4u); // hot(4)
    auto cold =
        noticeEvent(repl::Notice{repl::NoticeType::Readiness, repl::Readiness::Cold, 0, {}});
    ASSERT_TRUE(cold);
    EXPECT_EQ(cold->objectIndex, 2u); // cold(2)
    EXPECT_FALSE(noticeEvent(repl::Notice{repl::NoticeType::Divergence, {}, 0, {}}));
}

// A node whose store holds a newer term of its own (active while cut off) follows an active of
// an older term: the records of that term are dropped and reported with their number.
TEST(Replication, DroppingAnOwnNewerTermIsReportedWithItsCount) {
    Side a(1);
    (void)a.r.takeOver(t0, 9);
    a.r.onIntent(chassis::FanFloorChanged{0, 30u}, t0);
    a.r.onIntent(chassis::FanFloorChanged{1, 35u}, t0);
    a.r.onIntent(chassis::FanModeChanged{FanMode::Manual}, t0);
    std::uint64_t ownTerm = 0;
    for (const auto& [key, r] : a.r.store().records()) {
        ownTerm += r.stamp.epoch == 9 ? 1 : 0;
    }
    ASSERT_EQ(ownTerm, 3u);
    a.r.stepDown();
    a.role = Role::Standby;
    (void)a.r.takeNotices();
    Side b(2);
    b.role = Role::Active;
    (void)b.r.takeOver(t0, 6);
    Pair::deliver(b, a, t0 + 10ms, false);
    std::vector<Event> events;
    for (const repl::Notice& n : a.r.takeNotices()) {
        if (auto e = noticeEvent(n)) {
            events.push_back(*e);
        }
    }
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, EventType::ReplicationRecordsDropped);
    EXPECT_EQ(events[0].count, ownTerm);
    Snapshot::ReplicationView v;
    a.r.fillView(v, t0 + 10ms);
    EXPECT_EQ(v.conflicts, 1u);
    EXPECT_EQ(v.droppedRecords, ownTerm);
    EXPECT_EQ(v.lastDropCount, ownTerm);
}

// The old active restarts with the store it left in its state directory (telemetry dropped at
// the load) and mirrors the new active: it catches up and turns hot.
TEST(Replication, ARestartedNodeRejoinsFromItsFile) {
    Pair p;
    p.aActive();
    p.run(200ms);
    p.a.r.onIntent(chassis::FanFloorChanged{0, 35u}, p.now);
    ChassisSnapshot c;
    c.enabled = true;
    c.power = PowerState::On;
    p.a.r.onTelemetry(c, p.now);
    p.run(100ms);
    repl::Store file;
    ASSERT_EQ(repl::decodeSnapshot(repl::encodeSnapshot(p.a.r.store()), file),
              repl::SnapshotError::Ok);
    file.clearStream(repl::Stream::Telemetry);
    p.cut = true;
    p.run(30ms);
    p.b.role = Role::Active;
    (void)p.b.r.takeOver(p.now, 6);
    p.b.r.onIntent(chassis::FanFloorChanged{0, 45u}, p.now);

    // Node 1 restarts (a new incarnation) with its file and follows node 2.
    Side n1(1);
    n1.r.load(std::move(file));
    Side& n2 = p.b;
    n1.role = Role::Standby;
    for (int i = 0; i < 30; ++i) {
        p.now += 10ms;
        n2.r.tick(p.now, true, p.up);
        n1.r.tick(p.now, true, p.up);
        Pair::deliver(n2, n1, p.now, false);
        Pair::deliver(n1, n2, p.now, false);
    }
    EXPECT_EQ(n1.r.readiness(), repl::Readiness::Hot) << n1.r.statusJson(p.now).dump();
    ASSERT_NE(floorOf(n1.r.store(), 0), nullptr);
    EXPECT_EQ(floorOf(n1.r.store(), 0)->dutyPct, 45);
}

// The store's file in the state directory: written off the core thread, read back at the start
// (telemetry dropped); a malformed file is refused with a reason.
TEST(ReplicaFiles, TheStoreSurvivesARestartAndAMalformedFileIsRefused) {
    test::TempDir dir;
    const auto file = dir.path() / "replica";
    Side s(1);
    (void)s.r.takeOver(t0, 3);
    s.r.onIntent(chassis::FanFloorChanged{2, 60u}, t0);
    ChassisSnapshot c;
    c.enabled = true;
    s.r.onTelemetry(c, t0);
    {
        asio::io_context io;
        auto work = asio::make_work_guard(io);
        ReplicaFiles files(io, file, "");
        files.update(s.r, Role::Active, t0);
        for (int i = 0; i < 500 && !std::filesystem::exists(file); ++i) {
            io.run_for(10ms); // the worker's write, then its answer
        }
    }
    std::string error;
    repl::Store back = loadReplica(file, error);
    EXPECT_EQ(error, "");
    ASSERT_NE(floorOf(back, 2), nullptr);
    EXPECT_EQ(floorOf(back, 2)->dutyPct, 60);
    EXPECT_EQ(back.lastSeq(repl::Stream::Ordered), s.r.store().lastSeq(repl::Stream::Ordered));
    EXPECT_EQ(back.history(), s.r.store().history());
    EXPECT_EQ(back.lastSeq(repl::Stream::Telemetry), 0u) << "telemetry is not kept";

    test::writeFile(file, "HSRS but not a snapshot");
    repl::Store bad = loadReplica(file, error);
    EXPECT_NE(error, "");
    EXPECT_TRUE(bad.empty());
    EXPECT_TRUE(loadReplica(dir.path() / "missing", error).empty());
    EXPECT_EQ(error, "") << "a missing file is a first start";
}

// A write that fails (here: the state directory is a file) is logged and retried; the store in
// memory stays whole and nothing throws.
TEST(ReplicaFiles, AFailedWriteLosesNothingInMemory) {
    test::TempDir dir;
    test::writeFile(dir.path() / "notadir", "x");
    Side s(1);
    (void)s.r.takeOver(t0, 3);
    s.r.onIntent(chassis::FanFloorChanged{0, 20u}, t0);
    const auto before = repl::encodeSnapshot(s.r.store());
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    ReplicaFiles files(io, dir.path() / "notadir" / "replica", "");
    files.update(s.r, Role::Active, t0);
    io.run_for(std::chrono::milliseconds(500));
    files.update(s.r, Role::Active, t0 + 2s); // written again
    io.run_for(std::chrono::milliseconds(500));
    EXPECT_EQ(repl::encodeSnapshot(s.r.store()), before);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "notadir" / "replica"));
}

// The store: stamps per stream, logs and pruning, mirror updates, lineage, conflicts, digests and
// the snapshot encoding.
#include "repl/store.hpp"

#include <gtest/gtest.h>

using namespace hs;
using namespace hs::repl;

namespace {

Store sample() {
    Store s;
    s.beginTerm(4, 10);
    s.put(0, FanModeRecord{FanMode::Manual});
    s.put(1, FanFloorRecord{std::uint8_t{40}});
    s.put(0, PowerRecord{PowerState::On, 5});
    s.append(JournalRecord{1, SwitchoverReason::Manual, Role::Standby, Role::Active, 4, 0, 0});
    s.put(1, FanFloorRecord{std::uint8_t{45}});
    s.put(3, SensorRecord{42.0, true, SensorState::Nominal, 6});
    s.append(ChassisEventRecord{7, EventType::FanFailure, 2, 0, "fan 2 stopped"});
    return s;
}

} // namespace

TEST(ReplStore, StampsCountPerStream) {
    Store s = sample();
    EXPECT_EQ(s.lastSeq(Stream::Ordered), 5u);   // mode, floor, journal, floor, event
    EXPECT_EQ(s.lastSeq(Stream::Telemetry), 2u); // power, sensor
    const Record* floor = s.find({RecordKind::FanFloor, 1});
    ASSERT_NE(floor, nullptr);
    EXPECT_EQ(floor->stamp, (Stamp{4, 4}));
    EXPECT_EQ(std::get<FanFloorRecord>(floor->value).dutyPct, 45);
    EXPECT_EQ(s.size(), 6u); // the floor was overwritten, not added
    const Record* ev = s.find({RecordKind::ChassisEvent, 1});
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(ev->index, 1u); // log entries are numbered by the store
}

TEST(ReplStore, ForEachAfterWalksOneStreamInSequenceOrder) {
    Store s = sample();
    std::vector<std::uint64_t> seqs;
    s.forEachAfter(Stream::Ordered, 1, [&](const Record& r) {
        seqs.push_back(r.stamp.seq);
        return true;
    });
    EXPECT_EQ(seqs, (std::vector<std::uint64_t>{3, 4, 5})); // seq 2 was overwritten by 4
}

TEST(ReplStore, LogsArePrunedToTheirCapacityOnBothSides) {
    Store w;
    w.beginTerm(1, 1);
    Store m;
    for (std::size_t i = 0; i < kLogCapacity + 10; ++i) {
        const auto& r = w.append(JournalRecord{static_cast<std::int64_t>(i)});
        EXPECT_TRUE(m.apply(r));
    }
    EXPECT_EQ(w.size(), kLogCapacity);
    EXPECT_EQ(w.find({RecordKind::Journal, 10}), nullptr);
    EXPECT_NE(w.find({RecordKind::Journal, 11}), nullptr);
    EXPECT_EQ(w.records(), m.records());
    EXPECT_EQ(w.digest(Stream::Ordered), m.digest(Stream::Ordered));
    // An entry already pruned never comes back.
    Record old{3, Stamp{1, 3}, JournalRecord{}};
    EXPECT_FALSE(m.apply(old));
}

TEST(ReplStore, ApplyKeepsTheNewestValue) {
    Store m;
    Record a{1, Stamp{1, 5}, FanFloorRecord{std::uint8_t{10}}};
    Record b{1, Stamp{1, 7}, FanFloorRecord{std::uint8_t{20}}};
    EXPECT_TRUE(m.apply(b));
    EXPECT_FALSE(m.apply(a)); // older
    EXPECT_FALSE(m.apply(b)); // the same
    EXPECT_EQ(std::get<FanFloorRecord>(m.find({RecordKind::FanFloor, 1})->value).dutyPct, 20);
}

TEST(ReplStore, DigestDependsOnContentNotOrder) {
    Store w = sample();
    Store m;
    std::vector<Record> all;
    for (const auto& [k, r] : w.records())
        all.push_back(r);
    for (auto it = all.rbegin(); it != all.rend(); ++it)
        m.apply(*it);
    EXPECT_EQ(m.digest(Stream::Ordered), w.digest(Stream::Ordered));
    EXPECT_EQ(m.digest(Stream::Telemetry), w.digest(Stream::Telemetry));
    m.apply(Record{0, Stamp{4, 99}, FanModeRecord{FanMode::Auto}});
    EXPECT_NE(m.digest(Stream::Ordered), w.digest(Stream::Ordered));
    EXPECT_EQ(m.digest(Stream::Telemetry), w.digest(Stream::Telemetry));
}

TEST(ReplStore, LineageDecidesCatchUpOrSnapshot) {
    const History a{{1, 10, {1, 1}}};
    const History ab{{1, 10, {1, 1}}, {2, 11, {51, 31}}};
    // A standby that mirrored term 1 up to 40/20 is a prefix of the winner's history.
    EXPECT_TRUE(sameLineage(a, {40, 20}, ab, {60, 35}));
    EXPECT_TRUE(sameLineage(a, {50, 30}, ab, {60, 35}));
    // The old active wrote 51.. in term 1 while the other side took over at 51: divergent.
    EXPECT_FALSE(sameLineage(a, {55, 30}, ab, {60, 35}));
    EXPECT_FALSE(sameLineage(a, {50, 31}, ab, {60, 35}));
    // Ahead of the writer, or records without a history: not a prefix.
    EXPECT_FALSE(sameLineage(ab, {61, 0}, ab, {60, 35}));
    EXPECT_FALSE(sameLineage({}, {1, 0}, ab, {60, 35}));
    EXPECT_TRUE(sameLineage({}, {0, 0}, ab, {60, 35}));
    // Same epoch, another writer: another term.
    EXPECT_FALSE(sameLineage(History{{1, 12, {1, 1}}}, {5, 0}, ab, {60, 35}));
    EXPECT_EQ(termAt(ab, Stream::Ordered, 50)->writer, 10u);
    EXPECT_EQ(termAt(ab, Stream::Ordered, 51)->writer, 11u);
    EXPECT_EQ(termAt(ab, Stream::Telemetry, 30)->writer, 10u);
    EXPECT_EQ(termAt(History{{3, 1, {5, 5}}}, Stream::Ordered, 4), nullptr);
}

TEST(ReplStore, PartitionLoserReportsAndDropsOnlyWhatTheWinnerNeverHad) {
    // Both mirrored term 1 up to seq 2; then B took over and A kept writing.
    Store a;
    a.beginTerm(1, 10);
    a.put(0, FanModeRecord{FanMode::Auto});     // 1: common
    a.put(1, FanFloorRecord{std::uint8_t{30}}); // 2: common
    Store b;
    for (const auto& [k, r] : a.records())
        b.apply(r);
    b.setLastSeq(Stream::Ordered, 2);
    b.adoptHistory(a.history());
    b.beginTerm(2, 11);
    b.put(2, FanFloorRecord{std::uint8_t{70}}); // 3 in term 2
    a.put(1, FanFloorRecord{std::uint8_t{90}}); // 3 in term 1: a conflict
    a.put(0, PreemptionRecord{true});           // 4 in term 1: a conflict

    const auto rep = a.dropDivergent(b.history());
    EXPECT_EQ(rep.count, 2u);
    ASSERT_EQ(rep.records.size(), 2u);
    EXPECT_EQ(rep.records[0].key(), (RecordKey{RecordKind::FanFloor, 1}));
    EXPECT_EQ(rep.records[1].key(), (RecordKey{RecordKind::Preemption, 0}));
    EXPECT_NE(a.find({RecordKind::FanMode, 0}), nullptr); // common record kept
    EXPECT_EQ(a.find({RecordKind::FanFloor, 1}), nullptr);
}

TEST(ReplStore, SnapshotRoundTrips) {
    Store s = sample();
    s.beginTerm(6, 11);
    s.put(2, FanFloorRecord{std::nullopt});
    const auto bytes = encodeSnapshot(s);
    Store back;
    ASSERT_EQ(decodeSnapshot(bytes, back), SnapshotError::Ok);
    EXPECT_EQ(back, s);
    EXPECT_EQ(back.digest(Stream::Ordered), s.digest(Stream::Ordered));
    EXPECT_EQ(encodeSnapshot(back), bytes);
    Store empty;
    ASSERT_EQ(decodeSnapshot(encodeSnapshot(Store{}), empty), SnapshotError::Ok);
    EXPECT_TRUE(empty.empty());
}

TEST(ReplStore, SnapshotRefusesDamage) {
    const auto good = encodeSnapshot(sample());
    Store out = sample();
    const Store before = out;
    auto with = [&](std::size_t at, std::uint8_t v) {
        auto b = good;
        b[at] = v;
        return b;
    };
    EXPECT_EQ(decodeSnapshot(with(0, 'X'), out), SnapshotError::BadMagic);
    EXPECT_EQ(decodeSnapshot(with(4, 2), out), SnapshotError::BadVersion);
    EXPECT_EQ(decodeSnapshot(with(8, static_cast<std::uint8_t>(good[8] + 1)), out),
              SnapshotError::BadLength);
    EXPECT_EQ(decodeSnapshot(with(20, static_cast<std::uint8_t>(good[20] ^ 1)), out),
              SnapshotError::BadChecksum);
    for (std::size_t n = 0; n < good.size(); ++n) {
        std::vector<std::uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_NE(decodeSnapshot(cut, out), SnapshotError::Ok) << n;
    }
    EXPECT_EQ(out, before); // nothing was taken from damaged input
}

TEST(ReplStore, TakeoverDuringAResyncNeverReusesASequenceNumber) {
    // A standby in a full resync keeps its common records while its position restarts from 0.
    Store s;
    s.adoptHistory(History{{1, 10, {1, 1}}});
    s.apply(Record{0, Stamp{1, 7}, FanModeRecord{FanMode::Manual}});
    s.setLastSeq(Stream::Ordered, 0);
    s.beginTerm(2, 11);
    const auto& r = s.put(1, FanFloorRecord{std::uint8_t{50}});
    EXPECT_EQ(r.stamp.seq, 8u);
    EXPECT_NE(s.find({RecordKind::FanMode, 0}), nullptr);
    EXPECT_EQ(s.history().back().firstSeq[0], 8u);
}

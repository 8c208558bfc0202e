// Records: every kind round-trips; malformed input is refused, never trusted.
#include "repl/record.hpp"
#include "repl/wire.hpp"

#include <gtest/gtest.h>

using namespace hs;
using namespace hs::repl;

namespace {

std::vector<Record> everyKind() {
    std::vector<Record> v;
    auto add = [&](std::uint32_t index, RecordValue value) {
        v.push_back(Record{index, Stamp{7, 1000 + v.size()}, std::move(value)});
    };
    add(0, FanModeRecord{FanMode::Manual});
    add(3, FanFloorRecord{std::uint8_t{55}});
    add(2, FanFloorRecord{std::nullopt});
    add(0, PowerRequestRecord{42, PowerControl::PowerCycle, -5, 1700000000123,
                              PowerOutcome::Confirmed, 1700000000999});
    add(0, PreemptionRecord{true});
    add(static_cast<std::uint32_t>(SettingId::SwitchoverHoldMs), SettingRecord{-123456789});
    add(9, JournalRecord{1700000000000, SwitchoverReason::PeerLost, Role::Standby, Role::Active, 12,
                         3, 17});
    add(4, ChassisEventRecord{1700000000001, EventType::SensorThreshold, 5, 81.5, "CPU Temp hot"});
    add(5, SensorRecord{1.25, true, SensorState::Warning, 1700000000002});
    add(0, PowerRecord{PowerState::TransitioningOff, 1700000000003});
    add(1, FanRecord{77, 5400.0, FanMode::FailSafe, true});
    add(2, FanRecord{10, std::nullopt, FanMode::Auto, false});
    add(0, BmcRecord{BmcAccess::AuthFailed, "RAKP 2 HMAC is invalid"});
    return v;
}

bool decodeAll(const std::vector<std::uint8_t>& bytes, Record& out) {
    WireReader in(bytes);
    return decodeRecord(in, out) && in.atEnd();
}

} // namespace

TEST(ReplRecord, EveryKindRoundTrips) {
    for (const auto& r : everyKind()) {
        std::vector<std::uint8_t> bytes;
        encodeRecord(r, bytes);
        EXPECT_EQ(bytes.size(), encodedSize(r));
        Record back;
        ASSERT_TRUE(decodeAll(bytes, back)) << toString(kindOf(r.value));
        EXPECT_EQ(back, r) << toString(kindOf(r.value));
    }
}

TEST(ReplRecord, ClassesAndStreams) {
    EXPECT_EQ(classOf(RecordKind::FanFloor), RecordClass::Intent);
    EXPECT_EQ(classOf(RecordKind::PowerRequest), RecordClass::Intent);
    EXPECT_EQ(classOf(RecordKind::Journal), RecordClass::Log);
    EXPECT_EQ(classOf(RecordKind::ChassisEvent), RecordClass::Log);
    EXPECT_EQ(classOf(RecordKind::Sensor), RecordClass::Telemetry);
    EXPECT_EQ(streamOf(RecordKind::Journal), Stream::Ordered);
    EXPECT_EQ(streamOf(RecordKind::Setting), Stream::Ordered);
    EXPECT_EQ(streamOf(RecordKind::Bmc), Stream::Telemetry);
}

TEST(ReplRecord, SmallIntentRecordFitsTheSerialBudget) {
    // A fan floor on the wire is a handful of bytes: it must fit a slow path's spare bytes.
    Record r{1, Stamp{3, 100000}, FanFloorRecord{std::uint8_t{60}}};
    EXPECT_LE(encodedSize(r), 10u);
}

TEST(ReplRecord, RefusesMalformedInput) {
    const Record good{0, Stamp{1, 5}, FanModeRecord{FanMode::Auto}};
    std::vector<std::uint8_t> bytes;
    encodeRecord(good, bytes);
    Record out;
    ASSERT_TRUE(decodeAll(bytes, out));

    // Truncated at every length.
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        std::vector<std::uint8_t> cut(bytes.begin(),
                                      bytes.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_FALSE(decodeAll(cut, out)) << n;
    }
    auto mutated = [&](std::size_t at, std::uint8_t v) {
        auto b = bytes;
        b[at] = v;
        return b;
    };
    EXPECT_FALSE(decodeAll(mutated(0, 99), out)); // unknown kind
    EXPECT_FALSE(decodeAll(mutated(1, 1), out));  // fan mode is a singleton: index 0
    EXPECT_FALSE(decodeAll(mutated(3, 0), out));  // sequence number 0 is never written
    EXPECT_FALSE(decodeAll(mutated(4, 4), out));  // fan mode 4 does not exist

    std::vector<std::uint8_t> floor;
    encodeRecord(Record{1, Stamp{1, 1}, FanFloorRecord{std::uint8_t{100}}}, floor);
    floor.back() = 101; // duty above 100 %
    EXPECT_FALSE(decodeAll(floor, out));

    std::vector<std::uint8_t> journal;
    encodeRecord(Record{0, Stamp{1, 1}, JournalRecord{}}, journal);
    EXPECT_FALSE(decodeAll(journal, out)); // log entries count from 1

    std::vector<std::uint8_t> power;
    encodeRecord(Record{0, Stamp{1, 1}, PowerRequestRecord{1, PowerControl::None}}, power);
    EXPECT_TRUE(decodeAll(power, out));
    power[5] = 6; // neither a control code 0-5 nor None
    EXPECT_FALSE(decodeAll(power, out));
}

TEST(ReplRecord, VarintsHaveOneForm) {
    std::vector<std::uint8_t> b = {0x80, 0x00}; // 0 written in two bytes
    WireReader in(b);
    std::uint64_t v = 0;
    EXPECT_FALSE(in.varint(v));
    std::vector<std::uint8_t> big(10, 0xFF);
    big.back() = 0x02; // 2^64 and more
    WireReader in2(big);
    EXPECT_FALSE(in2.varint(v));
    std::vector<std::uint8_t> out;
    WireWriter w(out);
    w.varint(~0ull);
    w.svarint(-1);
    w.svarint(std::numeric_limits<std::int64_t>::min());
    WireReader in3(out);
    std::int64_t s = 0;
    EXPECT_TRUE(in3.varint(v));
    EXPECT_EQ(v, ~0ull);
    EXPECT_TRUE(in3.svarint(s));
    EXPECT_EQ(s, -1);
    EXPECT_TRUE(in3.svarint(s));
    EXPECT_EQ(s, std::numeric_limits<std::int64_t>::min());
    EXPECT_TRUE(in3.atEnd());
}

TEST(ReplRecord, LongTextIsRefused) {
    std::vector<std::uint8_t> b;
    encodeRecord(Record{0, Stamp{1, 1}, BmcRecord{BmcAccess::Error, std::string(kMaxText, 'x')}},
                 b);
    Record out;
    EXPECT_TRUE(decodeAll(b, out));
    b[b.size() - kMaxText - 1] = static_cast<std::uint8_t>(kMaxText + 1);
    b.push_back('x');
    EXPECT_FALSE(decodeAll(b, out));
}

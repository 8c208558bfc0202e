// The records of the replicated store (the paper's shared memory): what the active writes and the
// standby mirrors. Pure: no I/O, no clocks (times are fields the writer fills in).
//
// Every record has a key (kind, index) and a stamp (epoch, sequence). Kinds fall into three
// consistency classes:
//   intent     operator intent (fan mode, floors, power request, preemption, settings): the
//              operator's change is acknowledged once the standby holds it (bounded wait);
//   log        the switchover journal and the chassis event log: appended with an index that
//              is the same on both modules, never changed afterwards, the oldest pruned by a
//              fixed capacity on both sides alike;
//   telemetry  sensor readings, power state, fan duty/RPM, BMC access: asynchronous, coalesced
//              (only the newest value of a key counts).
// Intent and log travel in the ordered stream, telemetry in the telemetry stream; each stream has
// its own sequence numbers, so telemetry waiting on a slow path never holds the ordered stream up.
#pragma once

#include "base/types.hpp"

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hs::repl {

inline constexpr std::size_t kMaxText = 64;      // event text, BMC error text (bytes)
inline constexpr std::size_t kLogCapacity = 256; // entries kept per log kind
inline constexpr std::uint32_t kMaxZones = 64;
inline constexpr std::uint32_t kMaxIndex = 1u << 30; // keys above are malformed

enum class RecordClass : std::uint8_t { Intent = 0, Log = 1, Telemetry = 2 };
enum class Stream : std::uint8_t { Ordered = 0, Telemetry = 1 };
inline constexpr std::size_t kStreams = 2;

// Wire codes (one byte); never renumber.
enum class RecordKind : std::uint8_t {
    FanMode = 1,       // intent, index 0
    FanFloor = 2,      // intent, index = zone
    PowerRequest = 3,  // intent, index 0
    Preemption = 4,    // intent, index 0
    Setting = 5,       // intent, index = SettingId
    Journal = 16,      // log, index = journal row number (1-based)
    ChassisEvent = 17, // log, index = event number (1-based)
    Sensor = 32,       // telemetry, index = sensor index
    Power = 33,        // telemetry, index 0
    Fan = 34,          // telemetry, index = zone
    Bmc = 35,          // telemetry, index 0
};

// Run-time settings other than fans, power and preemption (Setting records); values are
// integers. Ids are wire codes.
enum class SettingId : std::uint32_t {
    LogLevel = 1,          // 0 debug .. 4 error
    SwitchoverRateMax = 2, // switchovers allowed in the guard window
    SwitchoverHoldMs = 3,  // hold-down after the guard trips
};

// What became of a power request; Pending until the chassis confirms or the deadline passes.
using hs::PowerOutcome; // base/types.hpp (the chassis reports the same codes)

struct FanModeRecord {
    FanMode mode = FanMode::Auto;
    bool operator==(const FanModeRecord&) const = default;
};
struct FanFloorRecord {
    std::optional<std::uint8_t> dutyPct; // no value: the floor was cleared
    bool operator==(const FanFloorRecord&) const = default;
};
struct PowerRequestRecord {
    std::uint64_t requestId = 0;
    PowerControl transition = PowerControl::None;
    std::int64_t requestedUnixMs = 0;
    std::int64_t deadlineUnixMs = 0;
    PowerOutcome outcome = PowerOutcome::Pending;
    std::int64_t outcomeUnixMs = 0;
    bool operator==(const PowerRequestRecord&) const = default;
};
struct PreemptionRecord {
    bool enabled = false;
    bool operator==(const PreemptionRecord&) const = default;
};
struct SettingRecord {
    std::int64_t value = 0;
    bool operator==(const SettingRecord&) const = default;
};
struct JournalRecord {
    std::int64_t unixMs = 0;
    SwitchoverReason reason = SwitchoverReason::None;
    Role from = Role::Init;
    Role to = Role::Init;
    std::uint64_t epoch = 0;
    std::uint64_t lagRecords = 0; // replication lag of the new active at the takeover
    std::uint64_t lagMs = 0;
    bool operator==(const JournalRecord&) const = default;
};
struct ChassisEventRecord {
    std::int64_t unixMs = 0;
    EventType type = EventType::ChassisPowerChanged;
    std::uint32_t objectIndex = 0;
    double value = 0;
    std::string text; // at most kMaxText bytes
    bool operator==(const ChassisEventRecord&) const = default;
};
struct SensorRecord {
    double value = 0;
    bool valid = false;
    SensorState state = SensorState::Unknown;
    std::int64_t readUnixMs = 0;
    bool operator==(const SensorRecord&) const = default;
};
struct PowerRecord {
    PowerState state = PowerState::Unknown;
    std::int64_t unixMs = 0;
    bool operator==(const PowerRecord&) const = default;
};
struct FanRecord {
    std::uint8_t dutyPct = 0;
    std::optional<double> rpm;
    FanMode mode = FanMode::Unknown;
    bool failed = false;
    bool operator==(const FanRecord&) const = default;
};
struct BmcRecord {
    BmcAccess access = BmcAccess::Unknown;
    std::string lastError; // at most kMaxText bytes
    bool operator==(const BmcRecord&) const = default;
};

using RecordValue = std::variant<FanModeRecord, FanFloorRecord, PowerRequestRecord,
                                 PreemptionRecord, SettingRecord, JournalRecord, ChassisEventRecord,
                                 SensorRecord, PowerRecord, FanRecord, BmcRecord>;

RecordKind kindOf(const RecordValue& v);
RecordClass classOf(RecordKind k);
Stream streamOf(RecordKind k);
inline Stream streamOf(RecordClass c) {
    return c == RecordClass::Telemetry ? Stream::Telemetry : Stream::Ordered;
}
bool isLog(RecordKind k);
bool validKind(std::uint8_t code);

struct RecordKey {
    RecordKind kind = RecordKind::FanMode;
    std::uint32_t index = 0;
    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
    auto operator<=>(const RecordKey&) const = default;
};

// Sequence numbers count per stream, from 1; epoch is the writer's epoch at the write.
struct Stamp {
    std::uint64_t epoch = 0;
    std::uint64_t seq = 0;
    bool operator==(const Stamp&) const = default;
};

struct Record {
    std::uint32_t index = 0;
    Stamp stamp;
    RecordValue value;

    RecordKey key() const { return {kindOf(value), index}; }
    bool operator==(const Record&) const = default;
};

// Encoding of one record (docs/replication.md): kind u8, index varint, epoch varint, seq varint,
// then the kind's fields. Appends to out.
void encodeRecord(const Record& r, std::vector<std::uint8_t>& out);
class WireReader;
// Reads one record; false (and the reader failed) on anything malformed: unknown kind, an enum
// value out of range, text too long, index out of range, truncated input.
bool decodeRecord(WireReader& in, Record& out);
// Size of the encoding (what encodeRecord would append).
std::size_t encodedSize(const Record& r);

std::string_view toString(RecordKind k);
std::string_view toString(RecordClass c);
std::string_view toString(Stream s);

} // namespace hs::repl

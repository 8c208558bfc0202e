// Record kinds, classes and the encoding of one record. Every enumeration read from the wire is
// range-checked before it is cast.
#include "repl/record.hpp"

#include "repl/wire.hpp"

#include <type_traits>

namespace hs::repl {
namespace {

constexpr RecordKind kKinds[] = {
    RecordKind::FanMode, RecordKind::FanFloor, RecordKind::PowerRequest, RecordKind::Preemption,
    RecordKind::Setting, RecordKind::Journal,  RecordKind::ChassisEvent, RecordKind::Sensor,
    RecordKind::Power,   RecordKind::Fan,      RecordKind::Bmc,
};
static_assert(std::size(kKinds) == std::variant_size_v<RecordValue>);

template <typename E> bool enumIn(WireReader& in, E& out, std::uint8_t max) {
    std::uint8_t b = 0;
    if (!in.u8(b)) {
        return false;
    }
    if (b > max) {
        in.fail();
        return false;
    }
    out = static_cast<E>(b);
    return true;
}

bool powerControlIn(WireReader& in, PowerControl& out) {
    std::uint8_t b = 0;
    if (!in.u8(b)) {
        return false;
    }
    if (b > static_cast<std::uint8_t>(PowerControl::SoftShutdown) &&
        b != static_cast<std::uint8_t>(PowerControl::None)) {
        in.fail();
        return false;
    }
    out = static_cast<PowerControl>(b);
    return true;
}

bool boolIn(WireReader& in, bool& out) {
    std::uint8_t b = 0;
    if (!in.u8(b)) {
        return false;
    }
    if (b > 1) {
        in.fail();
        return false;
    }
    out = b == 1;
    return true;
}

template <typename E> std::uint8_t code(E e) {
    return static_cast<std::uint8_t>(e);
}

struct EncodeValue {
    WireWriter& w;
    void operator()(const FanModeRecord& r) const { w.u8(code(r.mode)); }
    void operator()(const FanFloorRecord& r) const {
        w.u8(r.dutyPct ? 1 : 0);
        if (r.dutyPct) {
            w.u8(*r.dutyPct);
        }
    }
    void operator()(const PowerRequestRecord& r) const {
        w.varint(r.requestId);
        w.u8(code(r.transition));
        w.svarint(r.requestedUnixMs);
        w.svarint(r.deadlineUnixMs);
        w.u8(code(r.outcome));
        w.svarint(r.outcomeUnixMs);
    }
    void operator()(const PreemptionRecord& r) const { w.u8(r.enabled ? 1 : 0); }
    void operator()(const SettingRecord& r) const { w.svarint(r.value); }
    void operator()(const JournalRecord& r) const {
        w.svarint(r.unixMs);
        w.u8(code(r.reason));
        w.u8(code(r.from));
        w.u8(code(r.to));
        w.varint(r.epoch);
        w.varint(r.lagRecords);
        w.varint(r.lagMs);
    }
    void operator()(const ChassisEventRecord& r) const {
        w.svarint(r.unixMs);
        w.u8(code(r.type));
        w.varint(r.objectIndex);
        w.f64(r.value);
        w.text(r.text.size() > kMaxText ? std::string_view(r.text).substr(0, kMaxText) : r.text);
    }
    void operator()(const SensorRecord& r) const {
        w.f64(r.value);
        w.u8(r.valid ? 1 : 0);
        w.u8(code(r.state));
        w.svarint(r.readUnixMs);
    }
    void operator()(const PowerRecord& r) const {
        w.u8(code(r.state));
        w.svarint(r.unixMs);
    }
    void operator()(const FanRecord& r) const {
        w.u8(r.dutyPct);
        w.u8(r.rpm ? 1 : 0);
        if (r.rpm) {
            w.f64(*r.rpm);
        }
        w.u8(code(r.mode));
        w.u8(r.failed ? 1 : 0);
    }
    void operator()(const BmcRecord& r) const {
        w.u8(code(r.access));
        w.text(r.lastError.size() > kMaxText ? std::string_view(r.lastError).substr(0, kMaxText)
                                             : r.lastError);
    }
};

bool decodeValue(RecordKind kind, WireReader& in, RecordValue& out) {
    switch (kind) {
    case RecordKind::FanMode: {
        FanModeRecord r;
        enumIn(in, r.mode, code(FanMode::FailSafe));
        out = r;
        break;
    }
    case RecordKind::FanFloor: {
        FanFloorRecord r;
        bool has = false;
        if (boolIn(in, has) && has) {
            std::uint8_t d = 0;
            if (in.u8(d) && d > 100) {
                in.fail();
            }
            r.dutyPct = d;
        }
        out = r;
        break;
    }
    case RecordKind::PowerRequest: {
        PowerRequestRecord r;
        in.varint(r.requestId);
        powerControlIn(in, r.transition);
        in.svarint(r.requestedUnixMs);
        in.svarint(r.deadlineUnixMs);
        enumIn(in, r.outcome, code(PowerOutcome::Dropped));
        in.svarint(r.outcomeUnixMs);
        out = r;
        break;
    }
    case RecordKind::Preemption: {
        PreemptionRecord r;
        boolIn(in, r.enabled);
        out = r;
        break;
    }
    case RecordKind::Setting: {
        SettingRecord r;
        in.svarint(r.value);
        out = r;
        break;
    }
    case RecordKind::Journal: {
        JournalRecord r;
        in.svarint(r.unixMs);
        enumIn(in, r.reason, code(SwitchoverReason::PeerFault));
        enumIn(in, r.from, code(Role::Stopped));
        enumIn(in, r.to, code(Role::Stopped));
        in.varint(r.epoch);
        in.varint(r.lagRecords);
        in.varint(r.lagMs);
        out = r;
        break;
    }
    case RecordKind::ChassisEvent: {
        ChassisEventRecord r;
        in.svarint(r.unixMs);
        enumIn(in, r.type, code(EventType::StateDirRecovered));
        in.varintTo(r.objectIndex, kMaxIndex);
        in.f64(r.value);
        in.text(r.text, kMaxText);
        out = r;
        break;
    }
    case RecordKind::Sensor: {
        SensorRecord r;
        in.f64(r.value);
        boolIn(in, r.valid);
        enumIn(in, r.state, code(SensorState::Unavailable));
        in.svarint(r.readUnixMs);
        out = r;
        break;
    }
    case RecordKind::Power: {
        PowerRecord r;
        enumIn(in, r.state, code(PowerState::TransitioningOff));
        in.svarint(r.unixMs);
        out = r;
        break;
    }
    case RecordKind::Fan: {
        FanRecord r;
        in.u8(r.dutyPct);
        if (r.dutyPct > 100) {
            in.fail();
        }
        bool has = false;
        if (boolIn(in, has) && has) {
            double rpm = 0;
            in.f64(rpm);
            r.rpm = rpm;
        }
        enumIn(in, r.mode, code(FanMode::FailSafe));
        boolIn(in, r.failed);
        out = r;
        break;
    }
    case RecordKind::Bmc: {
        BmcRecord r;
        enumIn(in, r.access, code(BmcAccess::Disabled));
        in.text(r.lastError, kMaxText);
        out = r;
        break;
    }
    }
    return in.ok();
}

} // namespace

RecordKind kindOf(const RecordValue& v) {
    return kKinds[v.index()];
}

RecordClass classOf(RecordKind k) {
    switch (k) {
    case RecordKind::Journal:
    case RecordKind::ChassisEvent:
        return RecordClass::Log;
    case RecordKind::Sensor:
    case RecordKind::Power:
    case RecordKind::Fan:
    case RecordKind::Bmc:
        return RecordClass::Telemetry;
    default:
        return RecordClass::Intent;
    }
}

Stream streamOf(RecordKind k) {
    return streamOf(classOf(k));
}

bool isLog(RecordKind k) {
    return classOf(k) == RecordClass::Log;
}

bool validKind(std::uint8_t c) {
    for (auto k : kKinds) {
        if (code(k) == c) {
            return true;
        }
    }
    return false;
}

void encodeRecord(const Record& r, std::vector<std::uint8_t>& out) {
    WireWriter w(out);
    w.u8(code(kindOf(r.value)));
    w.varint(r.index);
    w.varint(r.stamp.epoch);
    w.varint(r.stamp.seq);
    std::visit(EncodeValue{w}, r.value);
}

std::size_t encodedSize(const Record& r) {
    thread_local std::vector<std::uint8_t> tmp;
    tmp.clear();
    encodeRecord(r, tmp);
    return tmp.size();
}

bool decodeRecord(WireReader& in, Record& out) {
    std::uint8_t k = 0;
    if (!in.u8(k)) {
        return false;
    }
    if (!validKind(k)) {
        in.fail();
        return false;
    }
    const auto kind = static_cast<RecordKind>(k);
    in.varintTo(out.index, kMaxIndex);
    in.varint(out.stamp.epoch);
    in.varint(out.stamp.seq);
    if (!in.ok()) {
        return false;
    }
    // A sequence number of 0 is never written; keys that must be 0 are checked.
    const bool singleton = kind == RecordKind::FanMode || kind == RecordKind::PowerRequest ||
                           kind == RecordKind::Preemption || kind == RecordKind::Power ||
                           kind == RecordKind::Bmc;
    if (out.stamp.seq == 0 || (singleton && out.index != 0) ||
        ((kind == RecordKind::FanFloor || kind == RecordKind::Fan) && out.index >= kMaxZones) ||
        (isLog(kind) && out.index == 0)) {
        in.fail();
        return false;
    }
    return decodeValue(kind, in, out.value);
}

std::string_view toString(RecordKind k) {
    switch (k) {
    case RecordKind::FanMode:
        return "fanMode";
    case RecordKind::FanFloor:
        return "fanFloor";
    case RecordKind::PowerRequest:
        return "powerRequest";
    case RecordKind::Preemption:
        return "preemption";
    case RecordKind::Setting:
        return "setting";
    case RecordKind::Journal:
        return "journal";
    case RecordKind::ChassisEvent:
        return "chassisEvent";
    case RecordKind::Sensor:
        return "sensor";
    case RecordKind::Power:
        return "power";
    case RecordKind::Fan:
        return "fan";
    case RecordKind::Bmc:
        return "bmc";
    }
    return "unknown";
}

std::string_view toString(RecordClass c) {
    switch (c) {
    case RecordClass::Intent:
        return "intent";
    case RecordClass::Log:
        return "log";
    case RecordClass::Telemetry:
        return "telemetry";
    }
    return "unknown";
}

std::string_view toString(Stream s) {
    return s == Stream::Ordered ? "ordered" : "telemetry";
}

} // namespace hs::repl

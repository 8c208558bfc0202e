// The MIB as data: every instance of HOTSTANDBY-MIB built from one immutable Snapshot, sorted by
// OID. Pure (no Net-SNMP, no I/O) so GET/GETNEXT semantics and the encodings are unit-tested.
#pragma once

#include "base/types.hpp"
#include "subagent/mib_oids.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace hs::subagent {

// BER tags of the SMIv2 base types (identical to Net-SNMP's ASN_* constants).
enum class SmiType : std::uint8_t {
    Integer = 0x02,     // Integer32 and enumerations
    OctetString = 0x04, // DisplayString, DateAndTime
    ObjectId = 0x06,    // AutonomousType (ENTITY-MIB)
    Counter32 = 0x41,
    Gauge32 = 0x42,   // also Unsigned32
    TimeTicks = 0x43, // TimeStamp (ENTITY-MIB, ENTITY-SENSOR-MIB)
    Counter64 = 0x46,
};

struct SmiValue {
    SmiType type = SmiType::Integer;
    std::int64_t integer = 0;        // Integer
    std::uint64_t unsignedValue = 0; // Counter32, Gauge32, Counter64
    std::string octets;              // OctetString
    Oid objectId;                    // ObjectId

    static SmiValue makeInt(std::int64_t v) { return {SmiType::Integer, v, 0, {}, {}}; }
    static SmiValue makeGauge(std::uint64_t v) { return {SmiType::Gauge32, 0, v, {}, {}}; }
    static SmiValue makeCounter32(std::uint64_t v) { return {SmiType::Counter32, 0, v, {}, {}}; }
    static SmiValue makeCounter64(std::uint64_t v) { return {SmiType::Counter64, 0, v, {}, {}}; }
    static SmiValue makeTimeTicks(std::uint64_t v) { return {SmiType::TimeTicks, 0, v, {}, {}}; }
    static SmiValue makeString(std::string s) {
        return {SmiType::OctetString, 0, 0, std::move(s), {}};
    }
    static SmiValue makeOid(Oid o) { return {SmiType::ObjectId, 0, 0, {}, std::move(o)}; }
    // A DisplayString (SNMPv2-TC): at most 255 octets, cut before an incomplete UTF-8 sequence.
    static SmiValue makeDisplay(std::string s);
};

inline constexpr std::size_t kDisplayStringMax = 255;
// S cut to at most kDisplayStringMax octets (never in the middle of a UTF-8 sequence).
std::string displayString(std::string s);

struct VarBind {
    Oid oid;
    SmiValue value;
};

// State owned by the subagent rather than the core, shown in the MIB beside the snapshot.
struct ViewExtras {
    std::uint32_t notificationSeq = 0;
    std::string lastControlResult;
};

class MibView {
  public:
    MibView() = default;
    MibView(const Snapshot& snap, const ViewExtras& extras);

    const VarBind* get(const Oid& oid) const;
    // The first instance after OID (at or after it when inclusive).
    const VarBind* next(const Oid& oid, bool inclusive = false) const;
    const std::vector<VarBind>& entries() const { return entries_; }

  private:
    std::vector<VarBind> entries_;
};

// ---- Encodings shared with the notification builder ----
// Enumerations are the C++ value + 1 (types.hpp).
std::int64_t mibRole(Role r);
std::int64_t mibTruth(bool b); // TruthValue: true(1), false(2)
std::int64_t mibRedundancy(Redundancy r);
std::int64_t mibReason(SwitchoverReason r);
std::int64_t mibPathType(PathType t);
std::int64_t mibPathState(PathState s);
std::int64_t mibPathDiag(PathDiag d);
std::int64_t mibPowerState(PowerState p);
std::int64_t mibBmcAccess(BmcAccess a);
std::int64_t mibSensorState(SensorState s);
std::int64_t mibFanMode(FanMode m);
std::int64_t mibFanStatus(bool failed);          // ok(1), failed(2)
std::int64_t mibModuleIndex(std::uint32_t slot); // slot 0 -> 1
// hsReplReadiness: none(1) on the writer, else cold(2), syncing(3), hot(4).
std::int64_t mibReplReadiness(const Snapshot::ReplicationView& r);
// hsAddressFamily: ipv4(1), ipv6(2) (the values of InetAddressType, RFC 4001).
std::int64_t mibAddressFamily(bool v6);
// Unsigned32 of a 64-bit value, clamped at 4294967295.
std::uint64_t mibClamp32(std::uint64_t v);
// Readings and thresholds times 1000, clamped to Integer32.
std::int64_t mibMilli(double v);
// SNMPv2-TC DateAndTime, 11 octets in UTC; 8 zero octets for 0 ("never").
std::string dateAndTime(std::int64_t unixMs);

// X.731 view of a module (RFC 4268 values).
std::int64_t moduleAdminState(const ModuleSnapshot& m);
std::int64_t moduleOperState(const ModuleSnapshot& m);
// A standby is hotStandby(2) while its replicated mirror holds everything acknowledged
// (Snapshot::replication.standbyHot), else coldStandby(3); HOTSTANDBY-MIB and ENTITY-STATE-MIB
// answer the same.
std::int64_t moduleStandbyStatus(const ModuleSnapshot& m, bool mirrorHot);

bool oidLess(const Oid& a, const Oid& b);
bool oidHasPrefix(const Oid& oid, const Oid& prefix);
std::string oidToString(const Oid& oid);

} // namespace hs::subagent

// The standard ENTITY views of the chassis and its two management modules, as data: ENTITY-MIB's
// entPhysicalTable (RFC 6933), ENTITY-SENSOR-MIB's entPhySensorTable (RFC 3433) and
// ENTITY-STATE-MIB's entStateTable (RFC 4268), built from one immutable Snapshot, sorted by OID.
// Pure (no Net-SNMP, no I/O), like MibView; the subagent keeps the little state these MIBs need
// across snapshots (entLastChangeTime, value timestamps, sticky precisions) in EntityExtras.
#pragma once

#include "base/types.hpp"
#include "subagent/mib_view.hpp"
#include "subagent/notification.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hs::subagent::entity {

// The three registration regions (the subagent answers for each subtree in full).
const Oid& entityMibObjects();    // entityMIBObjects    1.3.6.1.2.1.47.1
const Oid& entitySensorObjects(); // entitySensorObjects 1.3.6.1.2.1.99.1
const Oid& entityStateObjects();  // entStateObjects     1.3.6.1.2.1.131.1
// Notifications.
const Oid& entConfigChangeTrap();      // 1.3.6.1.2.1.47.2.0.1
const Oid& entStateOperEnabledTrap();  // 1.3.6.1.2.1.131.0.1
const Oid& entStateOperDisabledTrap(); // 1.3.6.1.2.1.131.0.2
Oid entStateAdminOid(std::uint32_t physIndex);
Oid entStateAlarmOid(std::uint32_t physIndex);

// PhysicalClass (IANA-ENTITY-MIB).
enum class PhysicalClass : std::uint8_t {
    Other = 1,
    Unknown = 2,
    Chassis = 3,
    Container = 5,
    PowerSupply = 6,
    Fan = 7,
    Sensor = 8,
    Module = 9,
};

// entPhysicalIndex layout: stable across restarts for one chassis (the BMC's sensor record order).
inline constexpr std::uint32_t kChassisIndex = 1;
inline constexpr std::uint32_t kModuleIndexBase = 2;    // module in slot S: 2 + S
inline constexpr std::uint32_t kSensorIndexBase = 1000; // sensor I (hsSensorIndex): 1000 + I
inline constexpr std::uint32_t kFanIndexBase = 2000;    // the fan sensor I measures: 2000 + I
inline constexpr std::uint32_t kPsuIndexBase = 3000;    // the supply sensor I watches: 3000 + I

struct PhysicalEntity {
    std::uint32_t index = 0;
    std::string descr;
    PhysicalClass cls = PhysicalClass::Unknown;
    std::uint32_t containedIn = 0;
    std::int32_t relPos = -1;
    std::string name;
    std::string softwareRev;
    bool fru = false;
    std::uint32_t sensorIndex = 0; // the SensorSnapshot it shows (class sensor), else 0
    std::uint32_t slot = 0;        // class module: the module's slot
};

// The chassis (1), both modules (2 + slot; the local one with SOFTWARE_REV), one fan per fan
// sensor, one power supply per power-supply sensor, and every sensor, in index order.
std::vector<PhysicalEntity> physicalEntities(const Snapshot& s, std::string_view softwareRev);
// What entLastChangeTime watches: every entPhysicalTable cell (a change of this string is a
// configuration change).
std::string physicalSignature(const std::vector<PhysicalEntity>& entities);

// ---- ENTITY-SENSOR-MIB ----
// EntitySensorDataType: other(1) voltsDC(4) amperes(5) watts(6) celsius(8) rpm(10) ...
std::int64_t sensorDataType(const SensorSnapshot& s);
inline constexpr std::int64_t kScaleUnits = 9; // EntitySensorDataScale units(9)
inline constexpr int kMaxPrecision = 3;        // hsctl and ipmitool print three decimals
// The decimals (0..3) the reading and the thresholds need to be shown exactly.
int sensorPrecision(const SensorSnapshot& s);
// The reading as EntitySensorValue with PRECISION decimals (value x 10^precision, rounded),
// clamped to -1e9..1e9; 0 when the sensor has no reading.
std::int64_t sensorValue(const SensorSnapshot& s, int precision);
// EntitySensorStatus: ok(1), unavailable(2), nonoperational(3).
std::int64_t sensorOperStatus(const SensorSnapshot& s);

// ---- ENTITY-STATE-MIB ----
// EntityUsageState: unknown(1) idle(2) active(3) busy(4).
std::int64_t moduleUsageState(const ModuleSnapshot& m);
// EntityAlarmStatus (BITS, one octet): empty set, or critical(2) for a faulty module,
// warning(5) for one that cannot reach the BMC, unknown(0) for one not heard.
std::string moduleAlarm(const ModuleSnapshot& m);
// EntityStandbyStatus: providingService(4) for the active, hotStandby(2) for a standby whose
// replication is ready, coldStandby(3) for a standby without (or without ready) replication and
// for a module still in init, unknown(1) for one not heard or faulty/stopped.
std::int64_t entityStandby(const ModuleSnapshot& m, std::optional<bool> replicationReady);

// Kept by the subagent from one snapshot to the next.
struct EntityExtras {
    std::uint64_t lastChangeTicks = 0;      // entLastChangeTime
    std::map<std::uint32_t, int> precision; // by sensor index (never decreases)
    std::map<std::uint32_t, std::uint64_t>
        valueTicks; // by sensor index: when the shown reading came
    std::string softwareRev;
    // For each module slot: is its replication ready? Absent: no replication (coldStandby).
    std::map<std::uint32_t, bool> replicationReady;
};

class EntityView {
  public:
    EntityView() = default;
    EntityView(const Snapshot& snap, const EntityExtras& extras);

    const VarBind* get(const Oid& oid) const;
    // The first instance after OID (at or after it when inclusive) inside REGION, or nullptr.
    const VarBind* next(const Oid& oid, bool inclusive, const Oid& region) const;
    const std::vector<VarBind>& entries() const { return entries_; }

  private:
    std::vector<VarBind> entries_;
};

// The state the ENTITY views keep across snapshots, and the notifications due on a change. Pure:
// the caller gives the time as sysUpTime ticks (hundredths of a second). entConfigChange is
// throttled as RFC 6933 asks: at most one per kConfigChangeThrottle; changes inside the period
// leave one notification due at its end (configChangeDue / takeConfigChange).
class EntityTracker {
  public:
    static constexpr std::uint64_t kConfigChangeThrottle = 500; // ticks (5 s)

    explicit EntityTracker(std::string softwareRev) {
        extras_.softwareRev = std::move(softwareRev);
    }

    // Takes SNAP at NOW; appends entStateOperEnabled/Disabled and entConfigChange notifications
    // due now to OUT. The first snapshot sets the baseline and notifies nothing.
    void update(const Snapshot& snap, std::uint64_t now, std::vector<Notification>& out);
    // When a throttled entConfigChange is waiting: the tick at which it may go.
    std::optional<std::uint64_t> configChangeDue() const;
    // The throttled entConfigChange, when due at NOW.
    bool takeConfigChange(std::uint64_t now, std::vector<Notification>& out);

    const EntityExtras& extras() const { return extras_; }
    void setReplicationReady(std::uint32_t slot, std::optional<bool> ready);

  private:
    void configChanged(std::uint64_t now, std::vector<Notification>& out);

    EntityExtras extras_;
    bool first_ = true;
    std::string signature_;
    std::map<std::uint32_t, double> lastValue_;       // by sensor index
    std::map<std::uint32_t, std::int64_t> operState_; // by entPhysicalIndex
    std::optional<std::uint64_t> lastConfigChangeSent_;
    bool configChangePending_ = false;
};

} // namespace hs::subagent::entity

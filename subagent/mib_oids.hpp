// Object identifiers of HOTSTANDBY-MIB, relative to the module root. The root itself is not written
// here: the build reads it from mibs/HOTSTANDBY-MIB.txt (the one place that names the enterprise)
// and passes it as HS_MIB_ROOT_OID ("1,3,6,1,4,1,32473").
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#ifndef HS_MIB_ROOT_OID
#error "HS_MIB_ROOT_OID must come from subagent/CMakeLists.txt (read from the MIB)"
#endif

namespace hs::subagent {

using Oid = std::vector<std::uint32_t>;

inline const Oid& mibRoot() {
    static const Oid kRoot{HS_MIB_ROOT_OID};
    return kRoot;
}

// mibRoot() + parts.
inline Oid mibOid(std::initializer_list<std::uint32_t> parts) {
    Oid o = mibRoot();
    o.insert(o.end(), parts);
    return o;
}

namespace mib {
// Top level under the module root.
inline constexpr std::uint32_t kNotifications = 0;
inline constexpr std::uint32_t kObjects = 1;

// Under hsObjects.
inline constexpr std::uint32_t kGeneral = 1;
inline constexpr std::uint32_t kModuleTable = 2;
inline constexpr std::uint32_t kPathTable = 3;
inline constexpr std::uint32_t kSwitchoverTable = 4;
inline constexpr std::uint32_t kChassis = 5;
inline constexpr std::uint32_t kSensorTable = 6;
inline constexpr std::uint32_t kFanTable = 7;
inline constexpr std::uint32_t kReplication = 8;
inline constexpr std::uint32_t kAddressTable = 9;

// hsGeneral scalars.
enum General : std::uint32_t {
    LocalModuleIndex = 1,
    PeerModuleIndex = 2,
    LocalRole = 3,
    PeerRole = 4,
    PeerAlive = 5,
    RedundancyState = 6,
    Epoch = 7,
    SwitchoverCount = 8,
    LastSwitchoverTime = 9,
    LastSwitchoverReason = 10,
    NotificationSeq = 11,
    SwitchoverAction = 12,
    PreemptMode = 13,
    ActiveUnconfirmed = 14,
    LastControlResult = 15,
    StateDirWritable = 16,
    StateDirError = 17,
};

// hsModuleEntry columns.
enum ModuleCol : std::uint32_t {
    ModuleNodeId = 2,
    ModuleRole = 3,
    ModuleAdminState = 4,
    ModuleOperState = 5,
    ModuleStandbyStatus = 6,
    ModulePresent = 7,
    ModuleBmcReachable = 8,
    ModuleLastChange = 9,
};

// hsPathEntry columns.
enum PathCol : std::uint32_t {
    PathName = 2,
    PathType = 3,
    PathEndpoint = 4,
    PathOperStatus = 5,
    PathDiag = 6,
    PathIntervalUs = 7,
    PathMissThreshold = 8,
    PathRecoveryThreshold = 9,
    PathRttUs = 10,
    PathFramesSent = 11,
    PathFramesReceived = 12,
    PathMissed = 13,
    PathAuthFailures = 14,
    PathMalformed = 15,
    PathReplayed = 16,
    PathLastChange = 17,
    PathForeign = 18,
};

// hsSwitchoverEntry columns.
enum SwitchoverCol : std::uint32_t {
    SwitchoverTime = 2,
    SwitchoverReason = 3,
    SwitchoverFromRole = 4,
    SwitchoverToRole = 5,
    SwitchoverEpoch = 6,
};

// hsChassis scalars.
enum ChassisScalar : std::uint32_t {
    ChassisManaged = 1,
    ChassisPowerState = 2,
    ChassisPowerControl = 3,
    ChassisBmcAccess = 4,
    ChassisBmcLastError = 5,
    ChassisBmcLastErrorTime = 6,
    ChassisFailSafe = 7,
    ChassisFanProfile = 8,
};

// hsSensorEntry columns.
enum SensorCol : std::uint32_t {
    SensorName = 2,
    SensorType = 3,
    SensorUnit = 4,
    SensorValue = 5,
    SensorState = 6,
    SensorUpperCritical = 7,
    SensorUpperNonCritical = 8,
    SensorLowerNonCritical = 9,
    SensorLowerCritical = 10,
};

// hsFanEntry columns.
enum FanCol : std::uint32_t {
    FanName = 2,
    FanDuty = 3,
    FanRpm = 4,
    FanMode = 5,
    FanStatus = 6,
};

// hsReplication scalars.
enum ReplicationScalar : std::uint32_t {
    ReplWriter = 1,
    ReplReadiness = 2,
    ReplStandbyHot = 3,
    ReplLagRecords = 4,
    ReplLagMs = 5,
    ReplDegraded = 6,
    ReplStoreEpoch = 7,
    ReplStoreSequence = 8,
    ReplRecords = 9,
    ReplStandbyJoined = 10,
    ReplAckedSequence = 11,
    ReplSnapshotsSent = 12,
    ReplSnapshotsReceived = 13,
    ReplResends = 14,
    ReplGaps = 15,
    ReplConflicts = 16,
    ReplDroppedRecords = 17,
    ReplLastDropCount = 18,
    ReplWaitsTimedOut = 19,
    ReplLastSnapshotTime = 20,
};

// hsAddressEntry columns (index = position in the configuration + 1).
enum AddressCol : std::uint32_t {
    AddressIp = 2,
    AddressFamily = 3,
    AddressPrefixLength = 4,
    AddressInterface = 5,
    AddressHeld = 6,
    AddressLastError = 7,
    AddressErrors = 8,
    AddressAnnouncements = 9,
    AddressLastChange = 10,
};

// Notifications under hsNotifications (hotStandbyMIB.0).
enum Notification : std::uint32_t {
    PathDown = 1,
    PathUp = 2,
    PeerLost = 3,
    PeerRecovered = 4,
    Switchover = 5,
    SplitBrainResolved = 6,
    RedundancyDegraded = 7,
    RedundancyRestored = 8,
    ChassisPowerChange = 9,
    BmcUnreachable = 10,
    BmcRecovered = 11,
    SensorThresholdCrossed = 12,
    FanFailure = 13,
    StateResync = 14,
    PathAuthAlarm = 15,
    StateDirUnwritable = 16,
    StateDirRecovered = 17,
    ReplicationDegraded = 18,
    ReplicationRestored = 19,
    ReplicationRecordsDropped = 20,
    AddressAcquired = 21,
    AddressReleased = 22,
    AddressFailed = 23,
    SwitchoverHoldDown = 24,
    ReplicationHotChange = 25,
};
} // namespace mib

// Scalar instance: hsObjects.GROUP.OBJECT.0
inline Oid scalarOid(std::uint32_t group, std::uint32_t object) {
    return mibOid({mib::kObjects, group, object, 0});
}
// Column instance: hsObjects.TABLE.1.COLUMN.INDEX
inline Oid columnOid(std::uint32_t table, std::uint32_t column, std::uint32_t index) {
    return mibOid({mib::kObjects, table, 1, column, index});
}
inline Oid notificationOid(std::uint32_t n) {
    return mibOid({mib::kNotifications, n});
}

} // namespace hs::subagent

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
    // 18..29 are left for the replication notifications.
    SwitchoverHoldDown = 30,
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

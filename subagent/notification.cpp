#include "subagent/notification.hpp"

#include <algorithm>

namespace hs::subagent {
namespace {

using V = SmiValue;

class Trap {
  public:
    Trap(std::uint32_t which, std::uint32_t seq, const Snapshot& snap) {
        n_.trapOid = notificationOid(which);
        general(mib::NotificationSeq, V::makeCounter32(seq));
        general(mib::LocalModuleIndex, V::makeGauge(mibModuleIndex(snap.local.slot)));
    }
    void general(std::uint32_t object, SmiValue v) {
        n_.varbinds.push_back({scalarOid(mib::kGeneral, object), std::move(v)});
    }
    void chassis(std::uint32_t object, SmiValue v) {
        n_.varbinds.push_back({scalarOid(mib::kChassis, object), std::move(v)});
    }
    void replication(std::uint32_t object, SmiValue v) {
        n_.varbinds.push_back({scalarOid(mib::kReplication, object), std::move(v)});
    }
    void cell(std::uint32_t table, std::uint32_t column, std::uint32_t index, SmiValue v) {
        n_.varbinds.push_back({columnOid(table, column, index), std::move(v)});
    }
    Notification take() { return std::move(n_); }

  private:
    Notification n_;
};

const PathSnapshot* findPath(const Snapshot& s, std::uint32_t index) {
    auto it = std::find_if(s.paths.begin(), s.paths.end(),
                           [index](const PathSnapshot& p) { return p.index == index; });
    return it == s.paths.end() ? nullptr : &*it;
}

const SensorSnapshot* findSensor(const Snapshot& s, std::uint32_t index) {
    const auto& v = s.chassis.sensors;
    auto it = std::find_if(v.begin(), v.end(),
                           [index](const SensorSnapshot& x) { return x.index == index; });
    return it == v.end() ? nullptr : &*it;
}

const FanSnapshot* findFanZone(const Snapshot& s, std::uint32_t zone) {
    const auto& v = s.chassis.fans;
    auto it =
        std::find_if(v.begin(), v.end(), [zone](const FanSnapshot& f) { return f.zone == zone; });
    return it == v.end() ? nullptr : &*it;
}

Notification pathNotification(std::uint32_t which, const Event& ev, std::uint32_t seq,
                              const Snapshot& snap) {
    Trap t(which, seq, snap);
    const PathSnapshot* p = findPath(snap, ev.pathIndex);
    std::uint32_t i = ev.pathIndex;
    t.cell(mib::kPathTable, mib::PathName, i, V::makeDisplay(p ? p->name : std::string()));
    t.cell(mib::kPathTable, mib::PathType, i, V::makeInt(mibPathType(p ? p->type : PathType{})));
    t.cell(mib::kPathTable, mib::PathOperStatus, i, V::makeInt(mibPathState(ev.pathState)));
    t.cell(mib::kPathTable, mib::PathDiag, i, V::makeInt(mibPathDiag(ev.pathDiag)));
    return t.take();
}

Notification roleRedundancy(std::uint32_t which, std::uint32_t seq, const Event& ev,
                            const Snapshot& snap) {
    Trap t(which, seq, snap);
    t.general(mib::LocalRole, V::makeInt(mibRole(snap.local.role)));
    t.general(mib::RedundancyState, V::makeInt(mibRedundancy(ev.redundancy)));
    return t.take();
}

Notification redundancyOnly(std::uint32_t which, std::uint32_t seq, const Event& ev,
                            const Snapshot& snap) {
    Trap t(which, seq, snap);
    t.general(mib::RedundancyState, V::makeInt(mibRedundancy(ev.redundancy)));
    return t.take();
}

Notification switchover(std::uint32_t seq, const Event& ev, const Snapshot& snap) {
    Trap t(mib::Switchover, seq, snap);
    t.general(mib::LocalRole, V::makeInt(mibRole(ev.role)));
    t.general(mib::LastSwitchoverReason, V::makeInt(mibReason(ev.reason)));
    t.general(mib::SwitchoverCount,
              V::makeCounter32(static_cast<std::uint32_t>(snap.switchoverCount)));
    t.general(mib::Epoch, V::makeCounter64(ev.epoch));
    return t.take();
}

Notification chassisEvent(std::uint32_t seq, const Event& ev, const Snapshot& snap) {
    switch (ev.type) {
    case EventType::ChassisPowerChanged: {
        Trap t(mib::ChassisPowerChange, seq, snap);
        t.chassis(mib::ChassisPowerState, V::makeInt(mibPowerState(ev.power)));
        return t.take();
    }
    case EventType::BmcUnreachable: {
        Trap t(mib::BmcUnreachable, seq, snap);
        BmcAccess a =
            snap.chassis.access == BmcAccess::Ok ? BmcAccess::Unreachable : snap.chassis.access;
        t.chassis(mib::ChassisBmcAccess, V::makeInt(mibBmcAccess(a)));
        t.chassis(mib::ChassisBmcLastError,
                  V::makeDisplay(ev.text.empty() ? snap.chassis.lastError : ev.text));
        return t.take();
    }
    case EventType::BmcRecovered: {
        Trap t(mib::BmcRecovered, seq, snap);
        t.chassis(mib::ChassisBmcAccess, V::makeInt(mibBmcAccess(BmcAccess::Ok)));
        return t.take();
    }
    case EventType::SensorThreshold: {
        Trap t(mib::SensorThresholdCrossed, seq, snap);
        const SensorSnapshot* s = findSensor(snap, ev.objectIndex);
        std::uint32_t i = ev.objectIndex;
        t.cell(mib::kSensorTable, mib::SensorName, i, V::makeDisplay(s ? s->name : std::string()));
        t.cell(mib::kSensorTable, mib::SensorValue, i, V::makeInt(mibMilli(ev.value)));
        t.cell(mib::kSensorTable, mib::SensorState, i,
               V::makeInt(mibSensorState(s ? s->state : SensorState::Unknown)));
        return t.take();
    }
    default: {
        // FanFailure: Event.objectIndex is the fan's MIB index, zone + 1 (chassis_logic; the
        // hooks read it the same way).
        Trap t(mib::FanFailure, seq, snap);
        const std::uint32_t i = ev.objectIndex;
        const FanSnapshot* f = i > 0 ? findFanZone(snap, i - 1) : nullptr;
        t.cell(mib::kFanTable, mib::FanName, i, V::makeDisplay(f ? f->name : std::string()));
        t.cell(mib::kFanTable, mib::FanStatus, i, V::makeInt(mibFanStatus(true)));
        return t.take();
    }
    }
}

Notification replicationEvent(std::uint32_t seq, const Event& ev, const Snapshot& snap) {
    const Snapshot::ReplicationView& r = snap.replication;
    switch (ev.type) {
    case EventType::ReplicationDegraded: {
        Trap t(mib::ReplicationDegraded, seq, snap);
        t.replication(mib::ReplDegraded, V::makeInt(mibTruth(true)));
        t.replication(mib::ReplLagRecords, V::makeGauge(mibClamp32(r.lagRecords)));
        t.replication(mib::ReplWaitsTimedOut, V::makeCounter64(r.waitsTimedOut));
        return t.take();
    }
    case EventType::ReplicationRestored: {
        Trap t(mib::ReplicationRestored, seq, snap);
        t.replication(mib::ReplDegraded, V::makeInt(mibTruth(false)));
        t.replication(mib::ReplStandbyHot, V::makeInt(mibTruth(r.standbyHot)));
        return t.take();
    }
    default: {
        // ReplicationRecordsDropped: how many in Event.count.
        Trap t(mib::ReplicationRecordsDropped, seq, snap);
        t.replication(mib::ReplLastDropCount, V::makeGauge(mibClamp32(ev.count)));
        t.replication(mib::ReplDroppedRecords, V::makeCounter64(r.droppedRecords));
        t.replication(mib::ReplStoreEpoch, V::makeGauge(mibClamp32(r.storeEpoch)));
        return t.take();
    }
    }
}

// AddressAcquired / Released / Failed: Event.objectIndex is the address's MIB index.
Notification addressEvent(std::uint32_t seq, const Event& ev, const Snapshot& snap) {
    const std::uint32_t i = ev.objectIndex;
    const Snapshot::AddressView* a =
        i > 0 && i <= snap.addresses.size() ? &snap.addresses[i - 1] : nullptr;
    const std::uint32_t which = ev.type == EventType::AddressAcquired   ? mib::AddressAcquired
                                : ev.type == EventType::AddressReleased ? mib::AddressReleased
                                                                        : mib::AddressFailed;
    Trap t(which, seq, snap);
    t.cell(mib::kAddressTable, mib::AddressIp, i, V::makeDisplay(a ? a->address : std::string()));
    t.cell(mib::kAddressTable, mib::AddressInterface, i,
           V::makeDisplay(a ? a->interfaceName : std::string()));
    if (which == mib::AddressFailed) {
        t.cell(mib::kAddressTable, mib::AddressLastError, i,
               V::makeDisplay(ev.text.empty() && a ? a->lastError : ev.text));
    } else {
        t.cell(mib::kAddressTable, mib::AddressHeld, i,
               V::makeInt(mibTruth(which == mib::AddressAcquired)));
    }
    return t.take();
}

} // namespace

Notification buildNotification(const Event& ev, std::uint32_t seq, const Snapshot& snap) {
    switch (ev.type) {
    case EventType::PathDown:
        return pathNotification(mib::PathDown, ev, seq, snap);
    case EventType::PathUp:
        return pathNotification(mib::PathUp, ev, seq, snap);
    case EventType::PeerLost:
        return roleRedundancy(mib::PeerLost, seq, ev, snap);
    case EventType::PeerRecovered:
        return roleRedundancy(mib::PeerRecovered, seq, ev, snap);
    case EventType::Switchover:
        return switchover(seq, ev, snap);
    case EventType::SplitBrainResolved: {
        Trap t(mib::SplitBrainResolved, seq, snap);
        t.general(mib::LocalRole, V::makeInt(mibRole(ev.role)));
        t.general(mib::Epoch, V::makeCounter64(ev.epoch));
        return t.take();
    }
    case EventType::RedundancyDegraded:
        return redundancyOnly(mib::RedundancyDegraded, seq, ev, snap);
    case EventType::RedundancyRestored:
        return redundancyOnly(mib::RedundancyRestored, seq, ev, snap);
    case EventType::AuthAlarm: {
        Trap t(mib::PathAuthAlarm, seq, snap);
        const PathSnapshot* p = findPath(snap, ev.pathIndex);
        std::uint32_t i = ev.pathIndex;
        t.cell(mib::kPathTable, mib::PathName, i, V::makeDisplay(p ? p->name : std::string()));
        t.cell(mib::kPathTable, mib::PathAuthFailures, i,
               V::makeCounter64(p ? p->counters.authFailures : 0));
        return t.take();
    }
    case EventType::ChassisPowerChanged:
    case EventType::BmcUnreachable:
    case EventType::BmcRecovered:
    case EventType::SensorThreshold:
    case EventType::FanFailure:
        return chassisEvent(seq, ev, snap);
    case EventType::StateDirUnwritable: {
        Trap t(mib::StateDirUnwritable, seq, snap);
        t.general(mib::StateDirWritable, V::makeInt(mibTruth(false)));
        t.general(mib::StateDirError,
                  V::makeDisplay(ev.text.empty() ? snap.stateDirError : ev.text));
        return t.take();
    }
    case EventType::StateDirRecovered: {
        Trap t(mib::StateDirRecovered, seq, snap);
        t.general(mib::StateDirWritable, V::makeInt(mibTruth(true)));
        return t.take();
    }
    case EventType::ReplicationDegraded:
    case EventType::ReplicationRestored:
    case EventType::ReplicationRecordsDropped:
        return replicationEvent(seq, ev, snap);
    case EventType::AddressAcquired:
    case EventType::AddressReleased:
    case EventType::AddressFailed:
        return addressEvent(seq, ev, snap);
    case EventType::ReplicationHot: {
        // The readiness the event carries (hot, or cold after it), not a later snapshot's.
        Trap t(mib::ReplicationHotChange, seq, snap);
        t.replication(mib::ReplReadiness, V::makeInt(ev.objectIndex));
        t.replication(mib::ReplLagRecords, V::makeGauge(mibClamp32(snap.replication.lagRecords)));
        return t.take();
    }
    case EventType::SwitchoverHoldDown: {
        Trap t(mib::SwitchoverHoldDown, seq, snap);
        t.general(mib::SwitchoverCount,
                  V::makeCounter32(static_cast<std::uint32_t>(snap.switchoverCount)));
        t.general(mib::LastSwitchoverReason, V::makeInt(mibReason(ev.reason)));
        return t.take();
    }
    }
    return buildResync(seq, snap);
}

Notification render(const PendingNotification& p, const Snapshot& latest) {
    const Snapshot& snap = p.snapshot ? *p.snapshot : latest;
    return p.resync ? buildResync(p.seq, snap) : buildNotification(p.event, p.seq, snap);
}

Notification buildResync(std::uint32_t seq, const Snapshot& snap) {
    Trap t(mib::StateResync, seq, snap);
    t.general(mib::LocalRole, V::makeInt(mibRole(snap.local.role)));
    t.general(mib::PeerRole, V::makeInt(mibRole(snap.peer.role)));
    t.general(mib::RedundancyState, V::makeInt(mibRedundancy(snap.redundancy)));
    t.general(mib::Epoch, V::makeCounter64(snap.epoch));
    t.general(mib::SwitchoverCount,
              V::makeCounter32(static_cast<std::uint32_t>(snap.switchoverCount)));
    return t.take();
}

} // namespace hs::subagent

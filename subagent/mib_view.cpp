#include "subagent/mib_view.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>

namespace hs::subagent {

bool oidLess(const Oid& a, const Oid& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

bool oidHasPrefix(const Oid& oid, const Oid& prefix) {
    return oid.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), oid.begin());
}

std::string oidToString(const Oid& oid) {
    std::string out;
    for (auto sub : oid) {
        out += '.';
        out += std::to_string(sub);
    }
    return out;
}

std::string displayString(std::string s) {
    if (s.size() <= kDisplayStringMax) {
        return s;
    }
    std::size_t cut = kDisplayStringMax;
    // Back off over continuation bytes (10xxxxxx) to the lead byte, and drop that too.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) {
        --cut;
    }
    s.resize(cut);
    return s;
}

SmiValue SmiValue::makeDisplay(std::string s) {
    return makeString(displayString(std::move(s)));
}

std::int64_t mibRole(Role r) {
    return static_cast<std::int64_t>(r) + 1;
}
std::int64_t mibTruth(bool b) {
    return b ? 1 : 2;
}
std::int64_t mibRedundancy(Redundancy r) {
    return static_cast<std::int64_t>(r) + 1;
}
std::int64_t mibReason(SwitchoverReason r) {
    return static_cast<std::int64_t>(r) + 1;
}
std::int64_t mibPathType(PathType t) {
    return static_cast<std::int64_t>(t) + 1;
}
std::int64_t mibPathState(PathState s) {
    return static_cast<std::int64_t>(s) + 1;
}
std::int64_t mibPathDiag(PathDiag d) {
    return static_cast<std::int64_t>(d) + 1;
}
std::int64_t mibPowerState(PowerState p) {
    return static_cast<std::int64_t>(p) + 1;
}
std::int64_t mibBmcAccess(BmcAccess a) {
    return static_cast<std::int64_t>(a) + 1;
}
std::int64_t mibSensorState(SensorState s) {
    return static_cast<std::int64_t>(s) + 1;
}
std::int64_t mibFanMode(FanMode m) {
    return static_cast<std::int64_t>(m) + 1;
}
std::int64_t mibFanStatus(bool failed) {
    return failed ? 2 : 1;
}
std::int64_t mibModuleIndex(std::uint32_t slot) {
    return static_cast<std::int64_t>(slot) + 1;
}

std::int64_t mibReplReadiness(const Snapshot::ReplicationView& r) {
    return r.writer ? 1 : static_cast<std::int64_t>(r.readiness) + 2;
}
std::int64_t mibAddressFamily(bool v6) {
    return v6 ? 2 : 1;
}
std::uint64_t mibClamp32(std::uint64_t v) {
    return std::min<std::uint64_t>(v, std::numeric_limits<std::uint32_t>::max());
}

std::int64_t mibMilli(double v) {
    if (!std::isfinite(v)) {
        return 0;
    }
    double milli = std::round(v * 1000.0);
    constexpr double kLo = std::numeric_limits<std::int32_t>::min();
    constexpr double kHi = std::numeric_limits<std::int32_t>::max();
    return static_cast<std::int64_t>(std::clamp(milli, kLo, kHi));
}

std::string dateAndTime(std::int64_t unixMs) {
    if (unixMs <= 0) {
        return std::string(8, '\0');
    }
    std::time_t secs = static_cast<std::time_t>(unixMs / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    int year = tm.tm_year + 1900;
    std::string out(11, '\0');
    out[0] = static_cast<char>((year >> 8) & 0xff);
    out[1] = static_cast<char>(year & 0xff);
    out[2] = static_cast<char>(tm.tm_mon + 1);
    out[3] = static_cast<char>(tm.tm_mday);
    out[4] = static_cast<char>(tm.tm_hour);
    out[5] = static_cast<char>(tm.tm_min);
    out[6] = static_cast<char>(std::min(tm.tm_sec, 60));
    out[7] = static_cast<char>((unixMs % 1000) / 100);
    out[8] = '+';
    out[9] = 0;
    out[10] = 0;
    return out;
}

// RFC 4268 EntityAdminState: unknown(1) locked(2) shuttingDown(3) unlocked(4).
std::int64_t moduleAdminState(const ModuleSnapshot& m) {
    if (!m.present) {
        return 1;
    }
    return m.role == Role::Stopped ? 2 : 4;
}

// RFC 4268 EntityOperState: unknown(1) disabled(2) enabled(3) testing(4).
std::int64_t moduleOperState(const ModuleSnapshot& m) {
    if (!m.present) {
        return 2;
    }
    switch (m.role) {
    case Role::Active:
    case Role::Standby:
    case Role::Init:
        return 3;
    case Role::Fault:
    case Role::Stopped:
        return 2;
    }
    return 1;
}

// RFC 4268 EntityStandbyStatus: unknown(1) hotStandby(2) coldStandby(3) providingService(4).
std::int64_t moduleStandbyStatus(const ModuleSnapshot& m, bool mirrorHot) {
    if (!m.present) {
        return 1;
    }
    switch (m.role) {
    case Role::Active:
        return 4;
    case Role::Standby:
        return mirrorHot ? 2 : 3;
    case Role::Init:
        return 3;
    case Role::Fault:
    case Role::Stopped:
        return 1;
    }
    return 1;
}

namespace {

class Builder {
  public:
    explicit Builder(std::vector<VarBind>& out) : out_(out) {}

    void scalar(std::uint32_t group, std::uint32_t object, SmiValue v) {
        out_.push_back({scalarOid(group, object), std::move(v)});
    }
    void cell(std::uint32_t table, std::uint32_t column, std::uint32_t index, SmiValue v) {
        out_.push_back({columnOid(table, column, index), std::move(v)});
    }

  private:
    std::vector<VarBind>& out_;
};

using V = SmiValue;

void addGeneral(Builder& b, const Snapshot& s, const ViewExtras& x) {
    using namespace mib;
    b.scalar(kGeneral, LocalModuleIndex, V::makeGauge(mibModuleIndex(s.local.slot)));
    b.scalar(kGeneral, PeerModuleIndex, V::makeGauge(mibModuleIndex(s.peer.slot)));
    b.scalar(kGeneral, LocalRole, V::makeInt(mibRole(s.local.role)));
    b.scalar(kGeneral, PeerRole, V::makeInt(mibRole(s.peer.role)));
    b.scalar(kGeneral, PeerAlive, V::makeInt(mibTruth(s.peerAlive)));
    b.scalar(kGeneral, RedundancyState, V::makeInt(mibRedundancy(s.redundancy)));
    b.scalar(kGeneral, Epoch, V::makeCounter64(s.epoch));
    b.scalar(kGeneral, SwitchoverCount,
             V::makeCounter32(static_cast<std::uint32_t>(s.switchoverCount)));
    b.scalar(kGeneral, LastSwitchoverTime, V::makeString(dateAndTime(s.lastSwitchoverUnixMs)));
    b.scalar(kGeneral, LastSwitchoverReason, V::makeInt(mibReason(s.lastSwitchoverReason)));
    b.scalar(kGeneral, NotificationSeq, V::makeCounter32(x.notificationSeq));
    b.scalar(kGeneral, SwitchoverAction, V::makeInt(1));
    b.scalar(kGeneral, PreemptMode, V::makeInt(mibTruth(s.preemption)));
    b.scalar(kGeneral, ActiveUnconfirmed, V::makeInt(mibTruth(s.unconfirmed)));
    b.scalar(kGeneral, LastControlResult, V::makeDisplay(x.lastControlResult));
    b.scalar(kGeneral, StateDirWritable, V::makeInt(mibTruth(s.stateDirWritable)));
    b.scalar(kGeneral, StateDirError,
             V::makeDisplay(s.stateDirWritable ? std::string() : s.stateDirError));
}

void addModules(Builder& b, const Snapshot& s) {
    using namespace mib;
    const ModuleSnapshot* mods[] = {&s.local, &s.peer};
    for (const ModuleSnapshot* m : mods) {
        auto i = static_cast<std::uint32_t>(mibModuleIndex(m->slot));
        b.cell(kModuleTable, ModuleNodeId, i, V::makeGauge(m->nodeId));
        b.cell(kModuleTable, ModuleRole, i, V::makeInt(mibRole(m->role)));
        b.cell(kModuleTable, ModuleAdminState, i, V::makeInt(moduleAdminState(*m)));
        b.cell(kModuleTable, ModuleOperState, i, V::makeInt(moduleOperState(*m)));
        b.cell(kModuleTable, ModuleStandbyStatus, i,
               V::makeInt(moduleStandbyStatus(*m, s.replication.standbyHot)));
        b.cell(kModuleTable, ModulePresent, i, V::makeInt(mibTruth(m->present)));
        b.cell(kModuleTable, ModuleBmcReachable, i, V::makeInt(mibTruth(m->bmcOk)));
        b.cell(kModuleTable, ModuleLastChange, i, V::makeString(dateAndTime(m->lastChangeUnixMs)));
    }
}

void addPaths(Builder& b, const Snapshot& s) {
    using namespace mib;
    for (const PathSnapshot& p : s.paths) {
        std::uint32_t i = p.index;
        const PathCounters& c = p.counters;
        b.cell(kPathTable, PathName, i, V::makeDisplay(p.name));
        b.cell(kPathTable, PathType, i, V::makeInt(mibPathType(p.type)));
        b.cell(kPathTable, PathEndpoint, i, V::makeDisplay(p.endpoint));
        b.cell(kPathTable, PathOperStatus, i, V::makeInt(mibPathState(p.state)));
        b.cell(kPathTable, PathDiag, i, V::makeInt(mibPathDiag(p.diag)));
        b.cell(kPathTable, PathIntervalUs, i, V::makeGauge(p.intervalUs));
        b.cell(kPathTable, PathMissThreshold, i, V::makeGauge(p.missThreshold));
        b.cell(kPathTable, PathRecoveryThreshold, i, V::makeGauge(p.recoveryThreshold));
        b.cell(kPathTable, PathRttUs, i, V::makeGauge(p.rttUs));
        b.cell(kPathTable, PathFramesSent, i, V::makeCounter64(c.framesSent));
        b.cell(kPathTable, PathFramesReceived, i, V::makeCounter64(c.framesReceived));
        b.cell(kPathTable, PathMissed, i, V::makeCounter64(c.missed));
        b.cell(kPathTable, PathAuthFailures, i, V::makeCounter64(c.authFailures));
        b.cell(kPathTable, PathMalformed, i, V::makeCounter64(c.malformed));
        b.cell(kPathTable, PathReplayed, i, V::makeCounter64(c.replayed));
        b.cell(kPathTable, PathLastChange, i, V::makeString(dateAndTime(p.lastChangeUnixMs)));
        b.cell(kPathTable, PathForeign, i, V::makeCounter64(c.foreign));
    }
}

void addJournal(Builder& b, const Snapshot& s) {
    using namespace mib;
    for (const SwitchoverRecord& r : s.journal) {
        std::uint32_t i = r.index;
        b.cell(kSwitchoverTable, SwitchoverTime, i, V::makeString(dateAndTime(r.unixMs)));
        b.cell(kSwitchoverTable, SwitchoverReason, i, V::makeInt(mibReason(r.reason)));
        b.cell(kSwitchoverTable, SwitchoverFromRole, i, V::makeInt(mibRole(r.from)));
        b.cell(kSwitchoverTable, SwitchoverToRole, i, V::makeInt(mibRole(r.to)));
        b.cell(kSwitchoverTable, SwitchoverEpoch, i, V::makeCounter64(r.epoch));
    }
}

// hsChassisPowerControl reads the requested transition not yet confirmed: none(1), code + 2.
std::int64_t mibRequestedControl(PowerControl c) {
    return c == PowerControl::None ? 1 : static_cast<std::int64_t>(c) + 2;
}

void addChassis(Builder& b, const ChassisSnapshot& c) {
    using namespace mib;
    b.scalar(kChassis, ChassisManaged, V::makeInt(mibTruth(c.enabled)));
    b.scalar(kChassis, ChassisPowerState, V::makeInt(mibPowerState(c.power)));
    b.scalar(kChassis, ChassisPowerControl, V::makeInt(mibRequestedControl(c.requested)));
    b.scalar(kChassis, ChassisBmcAccess, V::makeInt(mibBmcAccess(c.access)));
    b.scalar(kChassis, ChassisBmcLastError, V::makeDisplay(c.lastError));
    b.scalar(kChassis, ChassisBmcLastErrorTime, V::makeString(dateAndTime(c.lastErrorUnixMs)));
    b.scalar(kChassis, ChassisFailSafe, V::makeInt(mibTruth(c.failSafe)));
    b.scalar(kChassis, ChassisFanProfile, V::makeDisplay(c.fanProfile));
}

void addSensors(Builder& b, const ChassisSnapshot& c) {
    using namespace mib;
    for (const SensorSnapshot& s : c.sensors) {
        std::uint32_t i = s.index;
        b.cell(kSensorTable, SensorName, i, V::makeDisplay(s.name));
        b.cell(kSensorTable, SensorType, i, V::makeDisplay(s.type));
        b.cell(kSensorTable, SensorUnit, i, V::makeDisplay(s.unit));
        b.cell(kSensorTable, SensorValue, i, V::makeInt(s.valueValid ? mibMilli(s.value) : 0));
        b.cell(kSensorTable, SensorState, i, V::makeInt(mibSensorState(s.state)));
        auto threshold = [&](std::uint32_t col, const std::optional<double>& t) {
            if (t) {
                b.cell(kSensorTable, col, i, V::makeInt(mibMilli(*t)));
            }
        };
        threshold(SensorUpperCritical, s.upperCritical);
        threshold(SensorUpperNonCritical, s.upperNonCritical);
        threshold(SensorLowerNonCritical, s.lowerNonCritical);
        threshold(SensorLowerCritical, s.lowerCritical);
    }
}

void addFans(Builder& b, const ChassisSnapshot& c) {
    using namespace mib;
    for (const FanSnapshot& f : c.fans) {
        std::uint32_t i = f.zone + 1;
        b.cell(kFanTable, FanName, i, V::makeDisplay(f.name));
        b.cell(kFanTable, FanDuty, i, V::makeGauge(f.dutyPct));
        if (f.rpm && std::isfinite(*f.rpm) && *f.rpm >= 0) {
            b.cell(kFanTable, FanRpm, i, V::makeGauge(static_cast<std::uint32_t>(*f.rpm)));
        }
        b.cell(kFanTable, FanMode, i, V::makeInt(mibFanMode(f.mode)));
        b.cell(kFanTable, FanStatus, i, V::makeInt(mibFanStatus(f.failed)));
    }
}

void addReplication(Builder& b, const Snapshot::ReplicationView& r) {
    using namespace mib;
    b.scalar(kReplication, ReplWriter, V::makeInt(mibTruth(r.writer)));
    b.scalar(kReplication, ReplReadiness, V::makeInt(mibReplReadiness(r)));
    b.scalar(kReplication, ReplStandbyHot, V::makeInt(mibTruth(r.standbyHot)));
    b.scalar(kReplication, ReplLagRecords, V::makeGauge(mibClamp32(r.lagRecords)));
    b.scalar(kReplication, ReplLagMs, V::makeGauge(mibClamp32(r.lagMs)));
    b.scalar(kReplication, ReplDegraded, V::makeInt(mibTruth(r.degraded)));
    b.scalar(kReplication, ReplStoreEpoch, V::makeGauge(mibClamp32(r.storeEpoch)));
    b.scalar(kReplication, ReplStoreSequence, V::makeGauge(mibClamp32(r.storeSeq)));
    b.scalar(kReplication, ReplRecords, V::makeGauge(mibClamp32(r.records)));
    b.scalar(kReplication, ReplStandbyJoined, V::makeInt(mibTruth(r.standbyJoined)));
    b.scalar(kReplication, ReplAckedSequence, V::makeGauge(mibClamp32(r.ackedSeq)));
    b.scalar(kReplication, ReplSnapshotsSent, V::makeCounter64(r.snapshotsSent));
    b.scalar(kReplication, ReplSnapshotsReceived, V::makeCounter64(r.snapshotsReceived));
    b.scalar(kReplication, ReplResends, V::makeCounter64(r.resends));
    b.scalar(kReplication, ReplGaps, V::makeCounter64(r.gaps));
    b.scalar(kReplication, ReplConflicts, V::makeCounter64(r.conflicts));
    b.scalar(kReplication, ReplDroppedRecords, V::makeCounter64(r.droppedRecords));
    b.scalar(kReplication, ReplLastDropCount, V::makeGauge(mibClamp32(r.lastDropCount)));
    b.scalar(kReplication, ReplWaitsTimedOut, V::makeCounter64(r.waitsTimedOut));
    b.scalar(kReplication, ReplLastSnapshotTime, V::makeString(dateAndTime(r.lastSnapshotUnixMs)));
}

void addAddresses(Builder& b, const Snapshot& s) {
    using namespace mib;
    for (std::size_t k = 0; k < s.addresses.size(); ++k) {
        const Snapshot::AddressView& a = s.addresses[k];
        const auto i = static_cast<std::uint32_t>(k + 1);
        b.cell(kAddressTable, AddressIp, i, V::makeDisplay(a.address));
        b.cell(kAddressTable, AddressFamily, i, V::makeInt(mibAddressFamily(a.v6)));
        b.cell(kAddressTable, AddressPrefixLength, i, V::makeGauge(a.prefix));
        b.cell(kAddressTable, AddressInterface, i, V::makeDisplay(a.interfaceName));
        b.cell(kAddressTable, AddressHeld, i, V::makeInt(mibTruth(a.held)));
        b.cell(kAddressTable, AddressLastError, i, V::makeDisplay(a.lastError));
        b.cell(kAddressTable, AddressErrors, i, V::makeCounter64(a.errors));
        b.cell(kAddressTable, AddressAnnouncements, i, V::makeCounter64(a.announced));
        b.cell(kAddressTable, AddressLastChange, i, V::makeString(dateAndTime(a.lastChangeUnixMs)));
    }
}

} // namespace

MibView::MibView(const Snapshot& snap, const ViewExtras& extras) {
    entries_.reserve(84 + snap.paths.size() * 17 + snap.journal.size() * 5 +
                     snap.chassis.sensors.size() * 9 + snap.chassis.fans.size() * 5 +
                     snap.addresses.size() * 9);
    Builder b(entries_);
    addGeneral(b, snap, extras);
    addModules(b, snap);
    addPaths(b, snap);
    addJournal(b, snap);
    addChassis(b, snap.chassis);
    addSensors(b, snap.chassis);
    addFans(b, snap.chassis);
    addReplication(b, snap.replication);
    addAddresses(b, snap);
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const VarBind& a, const VarBind& b) { return oidLess(a.oid, b.oid); });
    // Duplicate indexes (a producer bug) would make GETNEXT loop: keep the first.
    auto same = [](const VarBind& a, const VarBind& b) { return a.oid == b.oid; };
    entries_.erase(std::unique(entries_.begin(), entries_.end(), same), entries_.end());
}

const VarBind* MibView::get(const Oid& oid) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), oid,
                               [](const VarBind& e, const Oid& o) { return oidLess(e.oid, o); });
    return it != entries_.end() && it->oid == oid ? &*it : nullptr;
}

const VarBind* MibView::next(const Oid& oid, bool inclusive) const {
    auto cmp = [](const Oid& o, const VarBind& e) { return oidLess(o, e.oid); };
    auto it = std::upper_bound(entries_.begin(), entries_.end(), oid, cmp);
    if (inclusive && it != entries_.begin() && std::prev(it)->oid == oid) {
        --it;
    }
    return it != entries_.end() ? &*it : nullptr;
}

} // namespace hs::subagent

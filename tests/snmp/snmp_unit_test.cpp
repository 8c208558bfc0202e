// Pure parts of the subagent: the MIB view (GET/GETNEXT order, encodings), SET validation,
// notification varbinds and the [snmp] configuration.
#include "base/config_error.hpp"
#include "subagent/mib_view.hpp"
#include "subagent/notification.hpp"
#include "subagent/set_check.hpp"
#include "subagent/snmp_config.hpp"
#include "subagent/subagent.hpp"

#include <cstdlib>
#include <gtest/gtest.h>

namespace hs::subagent {
namespace {

constexpr std::uint8_t kInt = 0x02;
constexpr std::uint8_t kUns = 0x42;
constexpr std::uint8_t kStr = 0x04;

Snapshot makeSnap(Role role) {
    Snapshot s;
    s.local = {0, 1, role, true, true, 1000};
    s.peer = {1, 2, role == Role::Active ? Role::Standby : Role::Active, true, true, 2000};
    s.peerAlive = true;
    s.epoch = 9;
    s.switchoverCount = 2;
    for (std::uint32_t i = 1; i <= 2; ++i) {
        PathSnapshot p;
        p.index = i;
        p.name = "p" + std::to_string(i);
        p.counters.authFailures = 1ULL << 40;
        s.paths.push_back(p);
    }
    s.chassis.enabled = true;
    for (std::uint32_t i = 1; i <= 3; ++i) {
        SensorSnapshot x;
        x.index = i;
        x.value = 1.5;
        x.valueValid = true;
        x.upperCritical = 3.25;
        s.chassis.sensors.push_back(x);
    }
    for (std::uint32_t z = 0; z < 2; ++z) {
        FanSnapshot f;
        f.zone = z;
        f.rpm = 1000;
        s.chassis.fans.push_back(f);
    }
    return s;
}

TEST(MibView, SortedAndUnique) {
    MibView v(makeSnap(Role::Active), {});
    const auto& e = v.entries();
    ASSERT_FALSE(e.empty());
    for (std::size_t i = 1; i < e.size(); ++i) {
        EXPECT_TRUE(oidLess(e[i - 1].oid, e[i].oid)) << oidToString(e[i].oid);
    }
    for (const auto& vb : e) {
        EXPECT_TRUE(oidHasPrefix(vb.oid, mibRoot()));
    }
}

TEST(MibView, GetAndGetNext) {
    MibView v(makeSnap(Role::Active), {42, "ok"});
    const VarBind* role = v.get(scalarOid(mib::kGeneral, mib::LocalRole));
    ASSERT_NE(role, nullptr);
    EXPECT_EQ(role->value.integer, 3); // active(3)
    const VarBind* seq = v.get(scalarOid(mib::kGeneral, mib::NotificationSeq));
    ASSERT_NE(seq, nullptr);
    EXPECT_EQ(seq->value.unsignedValue, 42u);
    EXPECT_EQ(v.get(mibOid({mib::kObjects, mib::kGeneral, mib::LocalRole})), nullptr);
    // GETNEXT from the root gives the first scalar; from an object gives its instance.
    EXPECT_EQ(v.next(mibRoot())->oid, scalarOid(mib::kGeneral, mib::LocalModuleIndex));
    Oid obj = mibOid({mib::kObjects, mib::kGeneral, mib::PeerRole});
    EXPECT_EQ(v.next(obj)->oid, scalarOid(mib::kGeneral, mib::PeerRole));
    // Inclusive GETNEXT returns the instance itself.
    Oid inst = scalarOid(mib::kGeneral, mib::PeerRole);
    EXPECT_EQ(v.next(inst, true)->oid, inst);
    EXPECT_NE(v.next(inst, false)->oid, inst);
    EXPECT_EQ(v.next(v.entries().back().oid), nullptr);
}

TEST(MibView, Counter64AndSparseThresholds) {
    MibView v(makeSnap(Role::Active), {});
    auto* auth = v.get(columnOid(mib::kPathTable, mib::PathAuthFailures, 2));
    ASSERT_NE(auth, nullptr);
    EXPECT_EQ(auth->value.type, SmiType::Counter64);
    EXPECT_EQ(auth->value.unsignedValue, 1ULL << 40);
    auto* uc = v.get(columnOid(mib::kSensorTable, mib::SensorUpperCritical, 1));
    ASSERT_NE(uc, nullptr);
    EXPECT_EQ(uc->value.integer, 3250);
    EXPECT_EQ(v.get(columnOid(mib::kSensorTable, mib::SensorLowerCritical, 1)), nullptr);
    EXPECT_NE(v.get(columnOid(mib::kFanTable, mib::FanRpm, 2)), nullptr);
}

TEST(Encoding, DateAndTime) {
    EXPECT_EQ(dateAndTime(0), std::string(8, '\0'));
    std::string d = dateAndTime(1'700'000'000'250); // 2023-11-14 22:13:20.25 UTC
    ASSERT_EQ(d.size(), 11u);
    EXPECT_EQ((static_cast<unsigned char>(d[0]) << 8) | static_cast<unsigned char>(d[1]), 2023);
    EXPECT_EQ(d[2], 11);
    EXPECT_EQ(d[3], 14);
    EXPECT_EQ(d[4], 22);
    EXPECT_EQ(d[5], 13);
    EXPECT_EQ(d[6], 20);
    EXPECT_EQ(d[7], 2);
    EXPECT_EQ(d[8], '+');
}

TEST(Encoding, MilliClamps) {
    EXPECT_EQ(mibMilli(12.06), 12060);
    EXPECT_EQ(mibMilli(-1.5), -1500);
    EXPECT_EQ(mibMilli(1e12), 2147483647);
}

TEST(Encoding, EntityState) {
    ModuleSnapshot m{0, 1, Role::Active, true, true, 0};
    EXPECT_EQ(moduleStandbyStatus(m, false), 4);
    m.role = Role::Standby;
    EXPECT_EQ(moduleStandbyStatus(m, true), 2);  // its mirror is hot
    EXPECT_EQ(moduleStandbyStatus(m, false), 3); // cold or syncing
    EXPECT_EQ(moduleOperState(m), 3);
    m.present = false;
    EXPECT_EQ(moduleOperState(m), 2);
    EXPECT_EQ(moduleAdminState(m), 1);
}

Oid action() {
    return scalarOid(mib::kGeneral, mib::SwitchoverAction);
}
Oid fanDuty(std::uint32_t i) {
    return columnOid(mib::kFanTable, mib::FanDuty, i);
}

TEST(SetCheck, TypesAndValues) {
    Snapshot s = makeSnap(Role::Active);
    EXPECT_EQ(checkSet(action(), kStr, 0, s, SetStage::Syntax).error, SetError::WrongType);
    EXPECT_EQ(checkSet(action(), kInt, 9, s, SetStage::Syntax).error, SetError::WrongValue);
    EXPECT_EQ(checkSet(fanDuty(1), kInt, 50, s, SetStage::Syntax).error, SetError::WrongType);
    EXPECT_EQ(checkSet(fanDuty(1), kUns, 101, s, SetStage::Syntax).error, SetError::WrongValue);
    auto ok = checkSet(fanDuty(2), kUns, 60, s, SetStage::Consistency);
    EXPECT_EQ(ok.error, SetError::NoError);
    ASSERT_TRUE(ok.hasRequest);
    EXPECT_EQ(ok.request.op, ControlOp::FanDuty);
    EXPECT_EQ(ok.request.zone, 1u);
    EXPECT_EQ(ok.request.value, 60);
    EXPECT_EQ(checkSet(fanDuty(7), kUns, 60, s, SetStage::Consistency).error, SetError::NoCreation);
    auto noop = checkSet(action(), kInt, 1, s, SetStage::Consistency);
    EXPECT_EQ(noop.error, SetError::NoError);
    EXPECT_FALSE(noop.hasRequest);
}

TEST(SetCheck, RolesAndReadOnly) {
    Snapshot active = makeSnap(Role::Active);
    Snapshot standby = makeSnap(Role::Standby);
    auto sw = checkSet(action(), kInt, 2, active, SetStage::Consistency);
    EXPECT_EQ(sw.error, SetError::NoError);
    EXPECT_EQ(sw.request.op, ControlOp::Switchover);
    auto refused = checkSet(action(), kInt, 2, standby, SetStage::Consistency);
    EXPECT_EQ(refused.error, SetError::InconsistentValue);
    EXPECT_NE(refused.reason.find("module 2 is active"), std::string::npos) << refused.reason;
    EXPECT_EQ(checkSet(action(), kInt, 3, standby, SetStage::Consistency).request.op,
              ControlOp::ForceTakeover);
    EXPECT_EQ(checkSet(action(), kInt, 3, active, SetStage::Consistency).error,
              SetError::InconsistentValue);
    Oid power = scalarOid(mib::kChassis, mib::ChassisPowerControl);
    EXPECT_EQ(checkSet(power, kInt, 3, standby, SetStage::Consistency).error,
              SetError::InconsistentValue);
    EXPECT_EQ(checkSet(power, kInt, 6, active, SetStage::Syntax).error, SetError::WrongValue);
    EXPECT_EQ(checkSet(power, kInt, 4, active, SetStage::Consistency).request.op,
              ControlOp::PowerCycle);
    Oid role = scalarOid(mib::kGeneral, mib::LocalRole);
    EXPECT_EQ(checkSet(role, kInt, 3, active, SetStage::Syntax).error, SetError::NotWritable);
    EXPECT_EQ(checkSet(mibOid({mib::kObjects, 99, 0}), kInt, 3, active, SetStage::Syntax).error,
              SetError::NoCreation);
}

TEST(Notification, SeqFirstAndIndexes) {
    Snapshot s = makeSnap(Role::Active);
    Event e;
    e.type = EventType::PathDown;
    e.pathIndex = 2;
    e.pathState = PathState::Down;
    e.pathDiag = PathDiag::DetectTimeExpired;
    Notification n = buildNotification(e, 17, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::PathDown));
    ASSERT_GE(n.varbinds.size(), 3u);
    EXPECT_EQ(n.varbinds[0].oid, scalarOid(mib::kGeneral, mib::NotificationSeq));
    EXPECT_EQ(n.varbinds[0].value.unsignedValue, 17u);
    EXPECT_EQ(n.varbinds[2].oid, columnOid(mib::kPathTable, mib::PathName, 2));
    EXPECT_EQ(n.varbinds[2].value.octets, "p2");
    EXPECT_EQ(n.varbinds.back().value.integer, 2); // detectTimeExpired(2)

    e.type = EventType::FanFailure;
    e.objectIndex = 2; // the fan's MIB index, zone + 1, as ChassisLogic emits it: zone 1
    n = buildNotification(e, 18, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::FanFailure));
    EXPECT_EQ(n.varbinds[2].oid, columnOid(mib::kFanTable, mib::FanName, 2));

    Notification r = buildResync(19, s);
    EXPECT_EQ(r.trapOid, notificationOid(mib::StateResync));
}

TEST(Notification, EveryEventTypeMaps) {
    Snapshot s = makeSnap(Role::Active);
    for (int t = 0; t <= static_cast<int>(EventType::ReplicationHot); ++t) {
        Event e;
        e.type = static_cast<EventType>(t);
        e.pathIndex = 1;
        e.objectIndex = 1;
        Notification n = buildNotification(e, 1, s);
        EXPECT_TRUE(oidHasPrefix(n.trapOid, mibOid({mib::kNotifications}))) << t;
        EXPECT_NE(n.trapOid, notificationOid(mib::StateResync)) << t;
    }
}

const VarBind* findVb(const Notification& n, const Oid& oid) {
    for (const VarBind& vb : n.varbinds) {
        if (vb.oid == oid) {
            return &vb;
        }
    }
    return nullptr;
}

// Every notification is rendered from the snapshot published with its own event: two switchovers
// queued before the drain carry their own hsSwitchoverCount, not the latest one.
TEST(Notification, QueuedNotificationsUseTheirOwnSnapshot) {
    auto second = std::make_shared<Snapshot>(makeSnap(Role::Active));
    second->switchoverCount = 2;
    second->paths[0].name = "old-name";
    auto third = std::make_shared<Snapshot>(makeSnap(Role::Active));
    third->switchoverCount = 3;
    Snapshot latest = makeSnap(Role::Active);
    latest.switchoverCount = 3;
    latest.paths[0].name = "new-name";

    Event sw;
    sw.type = EventType::Switchover;
    sw.role = Role::Active;
    PendingNotification a{false, sw, 10, second};
    PendingNotification b{false, sw, 11, third};
    const Oid count = scalarOid(mib::kGeneral, mib::SwitchoverCount);
    Notification na = render(a, latest);
    const VarBind* va = findVb(na, count);
    Notification nb = render(b, latest);
    const VarBind* vb = findVb(nb, count);
    ASSERT_TRUE(va && vb);
    EXPECT_EQ(va->value.unsignedValue, 2U);
    EXPECT_EQ(vb->value.unsignedValue, 3U);

    Event down;
    down.type = EventType::PathDown;
    down.pathIndex = 1;
    Notification nd = render(PendingNotification{false, down, 12, second}, latest);
    const VarBind* name = findVb(nd, columnOid(mib::kPathTable, mib::PathName, 1));
    ASSERT_TRUE(name);
    EXPECT_EQ(name->value.octets, "old-name");

    // No snapshot of its own (a resync): the latest.
    Notification r = render(PendingNotification{true, {}, 13, nullptr}, latest);
    EXPECT_EQ(r.trapOid, notificationOid(mib::StateResync));
    EXPECT_EQ(findVb(r, count)->value.unsignedValue, 3U);
}

TEST(MibView, ForeignCounterAndStateDirectory) {
    Snapshot s = makeSnap(Role::Standby);
    s.paths[1].counters.foreign = (1ULL << 33) + 5;
    s.stateDirWritable = false;
    s.stateDirError = "/var/lib/hotstandby: No space left on device";
    MibView v(s, {});
    const VarBind* f = v.get(columnOid(mib::kPathTable, mib::PathForeign, 2));
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->value.type, SmiType::Counter64);
    EXPECT_EQ(f->value.unsignedValue, (1ULL << 33) + 5);
    ASSERT_NE(v.get(columnOid(mib::kPathTable, mib::PathForeign, 1)), nullptr);
    EXPECT_EQ(v.get(scalarOid(mib::kGeneral, mib::StateDirWritable))->value.integer, 2); // false
    EXPECT_EQ(v.get(scalarOid(mib::kGeneral, mib::StateDirError))->value.octets, s.stateDirError);

    s.stateDirWritable = true; // a stale error text is not shown once writable again
    MibView ok(s, {});
    EXPECT_EQ(ok.get(scalarOid(mib::kGeneral, mib::StateDirWritable))->value.integer, 1);
    EXPECT_EQ(ok.get(scalarOid(mib::kGeneral, mib::StateDirError))->value.octets, "");
}

TEST(Notification, StateDirectory) {
    Snapshot s = makeSnap(Role::Standby);
    s.stateDirWritable = false;
    s.stateDirError = "EROFS";
    Event e;
    e.type = EventType::StateDirUnwritable;
    e.text = "/var/lib/hotstandby/epoch.tmp: Read-only file system";
    Notification n = buildNotification(e, 5, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::StateDirUnwritable));
    ASSERT_EQ(n.varbinds.size(), 4U);
    EXPECT_EQ(n.varbinds[0].oid, scalarOid(mib::kGeneral, mib::NotificationSeq));
    EXPECT_EQ(n.varbinds[1].oid, scalarOid(mib::kGeneral, mib::LocalModuleIndex));
    EXPECT_EQ(n.varbinds[2].oid, scalarOid(mib::kGeneral, mib::StateDirWritable));
    EXPECT_EQ(n.varbinds[2].value.integer, 2);
    EXPECT_EQ(n.varbinds[3].oid, scalarOid(mib::kGeneral, mib::StateDirError));
    EXPECT_EQ(n.varbinds[3].value.octets, e.text);

    e.text.clear(); // no detail in the event: the snapshot's
    EXPECT_EQ(buildNotification(e, 6, s).varbinds[3].value.octets, "EROFS");

    e.type = EventType::StateDirRecovered;
    n = buildNotification(e, 7, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::StateDirRecovered));
    ASSERT_EQ(n.varbinds.size(), 3U);
    EXPECT_EQ(n.varbinds[2].oid, scalarOid(mib::kGeneral, mib::StateDirWritable));
    EXPECT_EQ(n.varbinds[2].value.integer, 1);
}

// hsReplication: this node's view of the replicated store (Snapshot::replication).
TEST(MibView, Replication) {
    Snapshot s = makeSnap(Role::Active);
    auto& r = s.replication;
    r.writer = true;
    r.standbyHot = true;
    r.standbyJoined = true;
    r.lagRecords = 3;
    r.degraded = true;
    r.storeEpoch = 9;
    r.storeSeq = 1ULL << 33; // clamped to Unsigned32
    r.records = 77;
    r.ackedSeq = 41;
    r.snapshotsSent = 1ULL << 40;
    r.resends = 6;
    r.conflicts = 1;
    r.droppedRecords = 5;
    r.lastDropCount = 5;
    r.waitsTimedOut = 2;
    r.lastSnapshotUnixMs = 1'764'000'000'000;
    MibView v(s, {});
    auto get = [&](std::uint32_t o) {
        const VarBind* vb = v.get(scalarOid(mib::kReplication, o));
        EXPECT_NE(vb, nullptr) << o;
        return vb ? vb->value : SmiValue{};
    };
    EXPECT_EQ(get(mib::ReplWriter).integer, 1);     // true
    EXPECT_EQ(get(mib::ReplReadiness).integer, 1);  // none(1): the writer has no mirror
    EXPECT_EQ(get(mib::ReplStandbyHot).integer, 1); // true
    EXPECT_EQ(get(mib::ReplLagRecords).unsignedValue, 3u);
    EXPECT_EQ(get(mib::ReplDegraded).integer, 1);
    EXPECT_EQ(get(mib::ReplStoreEpoch).type, SmiType::Gauge32);
    EXPECT_EQ(get(mib::ReplStoreEpoch).unsignedValue, 9u);
    EXPECT_EQ(get(mib::ReplStoreSequence).unsignedValue, 4294967295u);
    EXPECT_EQ(get(mib::ReplRecords).unsignedValue, 77u);
    EXPECT_EQ(get(mib::ReplStandbyJoined).integer, 1);
    EXPECT_EQ(get(mib::ReplAckedSequence).unsignedValue, 41u);
    EXPECT_EQ(get(mib::ReplSnapshotsSent).type, SmiType::Counter64);
    EXPECT_EQ(get(mib::ReplSnapshotsSent).unsignedValue, 1ULL << 40);
    EXPECT_EQ(get(mib::ReplResends).unsignedValue, 6u);
    EXPECT_EQ(get(mib::ReplConflicts).unsignedValue, 1u);
    EXPECT_EQ(get(mib::ReplDroppedRecords).unsignedValue, 5u);
    EXPECT_EQ(get(mib::ReplLastDropCount).unsignedValue, 5u);
    EXPECT_EQ(get(mib::ReplWaitsTimedOut).unsignedValue, 2u);
    EXPECT_EQ(get(mib::ReplLastSnapshotTime).octets, dateAndTime(1'764'000'000'000));
    // GETNEXT from the subtree's OID lands on its first scalar; after the last comes the next
    // subtree, never a scalar of it again.
    const VarBind* first = v.next(mibOid({mib::kObjects, mib::kReplication}));
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->oid, scalarOid(mib::kReplication, mib::ReplWriter));

    // A mirror: readiness cold(2) / syncing(3) / hot(4), lag in ms, not the writer.
    Snapshot m = makeSnap(Role::Standby);
    for (std::uint8_t ready = 0; ready <= 2; ++ready) {
        m.replication.readiness = ready;
        m.replication.lagMs = 12;
        MibView mv(m, {});
        auto mirror = [&](std::uint32_t o) {
            const VarBind* vb = mv.get(scalarOid(mib::kReplication, o));
            EXPECT_NE(vb, nullptr) << o;
            return vb ? vb->value : SmiValue{};
        };
        EXPECT_EQ(mirror(mib::ReplReadiness).integer, ready + 2);
        EXPECT_EQ(mirror(mib::ReplWriter).integer, 2);
        EXPECT_EQ(mirror(mib::ReplLagMs).unsignedValue, 12u);
        // Never snapshotted: DateAndTime "never".
        EXPECT_EQ(mirror(mib::ReplLastSnapshotTime).octets, std::string(8, '\0'));
    }
}

Snapshot::AddressView makeAddress(std::string text, bool v6, std::uint8_t prefix, bool held) {
    Snapshot::AddressView a;
    a.address = std::move(text);
    a.v6 = v6;
    a.prefix = prefix;
    a.interfaceName = "eth0";
    a.held = held;
    a.announced = 3;
    a.lastChangeUnixMs = held ? 1'764'000'000'000 : 0;
    return a;
}

// hsAddressTable: one row per [[address]], index = config position + 1.
TEST(MibView, AddressTable) {
    Snapshot s = makeSnap(Role::Active);
    s.addresses.push_back(makeAddress("192.0.2.100", false, 24, true));
    s.addresses.push_back(makeAddress("2001:db8::100", true, 64, false));
    s.addresses[1].lastError = "no such interface eth9";
    s.addresses[1].errors = 4;
    MibView v(s, {});
    auto cell = [&](std::uint32_t col, std::uint32_t i) {
        const VarBind* vb = v.get(columnOid(mib::kAddressTable, col, i));
        EXPECT_NE(vb, nullptr) << col << "." << i;
        return vb ? vb->value : SmiValue{};
    };
    EXPECT_EQ(cell(mib::AddressIp, 1).octets, "192.0.2.100");
    EXPECT_EQ(cell(mib::AddressFamily, 1).integer, 1); // ipv4(1)
    EXPECT_EQ(cell(mib::AddressPrefixLength, 1).unsignedValue, 24u);
    EXPECT_EQ(cell(mib::AddressInterface, 1).octets, "eth0");
    EXPECT_EQ(cell(mib::AddressHeld, 1).integer, 1); // true
    EXPECT_EQ(cell(mib::AddressLastError, 1).octets, "");
    EXPECT_EQ(cell(mib::AddressAnnouncements, 1).type, SmiType::Counter64);
    EXPECT_EQ(cell(mib::AddressAnnouncements, 1).unsignedValue, 3u);
    EXPECT_EQ(cell(mib::AddressLastChange, 1).octets, dateAndTime(1'764'000'000'000));
    EXPECT_EQ(cell(mib::AddressIp, 2).octets, "2001:db8::100");
    EXPECT_EQ(cell(mib::AddressFamily, 2).integer, 2); // ipv6(2)
    EXPECT_EQ(cell(mib::AddressPrefixLength, 2).unsignedValue, 64u);
    EXPECT_EQ(cell(mib::AddressHeld, 2).integer, 2); // false
    EXPECT_EQ(cell(mib::AddressLastError, 2).octets, "no such interface eth9");
    EXPECT_EQ(cell(mib::AddressErrors, 2).unsignedValue, 4u);
    EXPECT_EQ(cell(mib::AddressLastChange, 2).octets, std::string(8, '\0'));
    // A walk of the table goes column by column over both rows.
    const VarBind* first = v.next(mibOid({mib::kObjects, mib::kAddressTable}));
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->oid, columnOid(mib::kAddressTable, mib::AddressIp, 1));
    const VarBind* second = v.next(first->oid);
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(second->oid, columnOid(mib::kAddressTable, mib::AddressIp, 2));
    // No address configured: no rows.
    MibView none(makeSnap(Role::Active), {});
    const VarBind* after = none.next(mibOid({mib::kObjects, mib::kAddressTable}));
    EXPECT_TRUE(after == nullptr ||
                !oidHasPrefix(after->oid, mibOid({mib::kObjects, mib::kAddressTable})));
    // Read-only: a SET is refused.
    EXPECT_EQ(
        checkSet(columnOid(mib::kAddressTable, mib::AddressHeld, 1), kInt, 2, s, SetStage::Syntax)
            .error,
        SetError::NotWritable);
    EXPECT_EQ(
        checkSet(scalarOid(mib::kReplication, mib::ReplWriter), kInt, 2, s, SetStage::Syntax).error,
        SetError::NotWritable);
}

TEST(Notification, Replication) {
    Snapshot s = makeSnap(Role::Active);
    s.replication.writer = true;
    s.replication.lagRecords = 7;
    s.replication.waitsTimedOut = 1;
    s.replication.droppedRecords = 9;
    s.replication.storeEpoch = 4;
    Event e;
    e.type = EventType::ReplicationDegraded;
    Notification n = buildNotification(e, 30, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::ReplicationDegraded));
    ASSERT_EQ(n.varbinds.size(), 5u);
    EXPECT_EQ(n.varbinds[0].oid, scalarOid(mib::kGeneral, mib::NotificationSeq));
    EXPECT_EQ(n.varbinds[2].oid, scalarOid(mib::kReplication, mib::ReplDegraded));
    EXPECT_EQ(n.varbinds[2].value.integer, 1);
    EXPECT_EQ(n.varbinds[3].oid, scalarOid(mib::kReplication, mib::ReplLagRecords));
    EXPECT_EQ(n.varbinds[3].value.unsignedValue, 7u);

    e.type = EventType::ReplicationRestored;
    n = buildNotification(e, 31, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::ReplicationRestored));
    EXPECT_EQ(n.varbinds[2].value.integer, 2); // hsReplDegraded false

    // The number dropped comes from the event (this heal), the total from the snapshot.
    e.type = EventType::ReplicationRecordsDropped;
    e.count = 3;
    n = buildNotification(e, 32, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::ReplicationRecordsDropped));
    ASSERT_EQ(n.varbinds.size(), 5u);
    EXPECT_EQ(n.varbinds[2].oid, scalarOid(mib::kReplication, mib::ReplLastDropCount));
    EXPECT_EQ(n.varbinds[2].value.unsignedValue, 3u);
    EXPECT_EQ(n.varbinds[3].oid, scalarOid(mib::kReplication, mib::ReplDroppedRecords));
    EXPECT_EQ(n.varbinds[3].value.unsignedValue, 9u);
    EXPECT_EQ(n.varbinds[4].oid, scalarOid(mib::kReplication, mib::ReplStoreEpoch));
    EXPECT_EQ(n.varbinds[4].value.unsignedValue, 4u);
}

TEST(Notification, Addresses) {
    Snapshot s = makeSnap(Role::Active);
    s.addresses.push_back(makeAddress("192.0.2.100", false, 24, true));
    s.addresses.push_back(makeAddress("192.0.2.101", false, 24, false));
    s.addresses[1].lastError = "old error";
    Event e;
    e.type = EventType::AddressAcquired;
    e.objectIndex = 1;
    Notification n = buildNotification(e, 40, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::AddressAcquired));
    ASSERT_EQ(n.varbinds.size(), 5u);
    EXPECT_EQ(n.varbinds[2].oid, columnOid(mib::kAddressTable, mib::AddressIp, 1));
    EXPECT_EQ(n.varbinds[2].value.octets, "192.0.2.100");
    EXPECT_EQ(n.varbinds[3].oid, columnOid(mib::kAddressTable, mib::AddressInterface, 1));
    EXPECT_EQ(n.varbinds[3].value.octets, "eth0");
    EXPECT_EQ(n.varbinds[4].oid, columnOid(mib::kAddressTable, mib::AddressHeld, 1));
    EXPECT_EQ(n.varbinds[4].value.integer, 1);

    e.type = EventType::AddressReleased;
    e.objectIndex = 2;
    n = buildNotification(e, 41, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::AddressReleased));
    EXPECT_EQ(n.varbinds[2].value.octets, "192.0.2.101");
    EXPECT_EQ(n.varbinds[4].oid, columnOid(mib::kAddressTable, mib::AddressHeld, 2));
    EXPECT_EQ(n.varbinds[4].value.integer, 2);

    // The error of the event, not whatever the snapshot holds later.
    e.type = EventType::AddressFailed;
    e.text = "rtnetlink add on eth0: Operation not permitted";
    n = buildNotification(e, 42, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::AddressFailed));
    EXPECT_EQ(n.varbinds[4].oid, columnOid(mib::kAddressTable, mib::AddressLastError, 2));
    EXPECT_EQ(n.varbinds[4].value.octets, e.text);

    // An index the snapshot lacks (a producer bug) still names the instance, with empty text.
    e.objectIndex = 9;
    n = buildNotification(e, 43, s);
    EXPECT_EQ(n.varbinds[2].oid, columnOid(mib::kAddressTable, mib::AddressIp, 9));
    EXPECT_EQ(n.varbinds[2].value.octets, "");
}

TEST(Notification, SwitchoverHoldDownNamesTheCountAndTheReason) {
    Snapshot s = makeSnap(Role::Active);
    s.switchoverCount = 3;
    Event e;
    e.type = EventType::SwitchoverHoldDown;
    e.reason = SwitchoverReason::Manual;
    Notification n = buildNotification(e, 8, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::SwitchoverHoldDown));
    EXPECT_EQ(notificationOid(mib::SwitchoverHoldDown), mibOid({mib::kNotifications, 24}));
    ASSERT_EQ(n.varbinds.size(), 4U);
    EXPECT_EQ(n.varbinds[2].oid, scalarOid(mib::kGeneral, mib::SwitchoverCount));
    EXPECT_EQ(n.varbinds[2].value.unsignedValue, 3U);
    EXPECT_EQ(n.varbinds[3].oid, scalarOid(mib::kGeneral, mib::LastSwitchoverReason));
    EXPECT_EQ(n.varbinds[3].value.integer, mibReason(SwitchoverReason::Manual));
}

// The mirror's readiness as the event carries it (hot, or what it fell back to), whatever a
// later snapshot says.
TEST(Notification, ReplicationHotChangeCarriesTheEventsReadiness) {
    Snapshot s = makeSnap(Role::Standby);
    s.replication.readiness = 0; // the snapshot already says cold
    s.replication.lagRecords = 4;
    Event e;
    e.type = EventType::ReplicationHot;
    e.objectIndex = 4; // hot(4)
    Notification n = buildNotification(e, 9, s);
    EXPECT_EQ(n.trapOid, notificationOid(mib::ReplicationHotChange));
    EXPECT_EQ(notificationOid(mib::ReplicationHotChange), mibOid({mib::kNotifications, 25}));
    ASSERT_EQ(n.varbinds.size(), 4U);
    EXPECT_EQ(n.varbinds[2].oid, scalarOid(mib::kReplication, mib::ReplReadiness));
    EXPECT_EQ(n.varbinds[2].value.integer, 4);
    EXPECT_EQ(n.varbinds[3].oid, scalarOid(mib::kReplication, mib::ReplLagRecords));
    EXPECT_EQ(n.varbinds[3].value.unsignedValue, 4U);
    e.objectIndex = 3; // syncing(3): stopped being hot
    n = buildNotification(e, 10, s);
    EXPECT_EQ(n.varbinds[2].value.integer, 3);
}

TEST(SetCheck, SwitchoverRefusedDuringTheRateGuardHoldDown) {
    Snapshot s = makeSnap(Role::Active);
    s.peerAlive = true;
    s.peer.role = Role::Standby;
    s.switchoverGuard = {
        .limit = 3, .windowMs = 600000, .holdDownMs = 300000, .holdDownUntilUnixMs = 1'000'000};
    const Oid oid = scalarOid(mib::kGeneral, mib::SwitchoverAction);
    const auto kInt = static_cast<std::uint8_t>(SmiType::Integer);
    SetDecision d = checkSet(oid, kInt, 2, s, SetStage::Consistency, 1'000'000 - 120'000);
    EXPECT_EQ(d.error, SetError::InconsistentValue);
    EXPECT_NE(d.reason.find("rate guard"), std::string::npos) << d.reason;
    EXPECT_NE(d.reason.find("120 s"), std::string::npos) << d.reason;
    EXPECT_EQ(checkSet(oid, kInt, 2, s, SetStage::Consistency, 1'000'000).error, SetError::NoError);
    EXPECT_EQ(checkSet(oid, kInt, 3, s, SetStage::Syntax, 0).error, SetError::NoError)
        << "forceTakeover passes the guard";
}

TEST(Encoding, DisplayStringAtMost255Octets) {
    EXPECT_EQ(displayString("short"), "short");
    EXPECT_EQ(displayString(std::string(255, 'a')).size(), 255U);
    EXPECT_EQ(displayString(std::string(300, 'a')), std::string(255, 'a'));
    // 254 ASCII then a two-octet character: cut before it, not through it.
    std::string s = std::string(254, 'a') + "\xc3\xa9" + "tail";
    EXPECT_EQ(displayString(s), std::string(254, 'a'));
    // Three-octet characters from the start: 85 of them are 255 octets exactly.
    std::string euro;
    for (int i = 0; i < 100; ++i) {
        euro += "\xe2\x82\xac";
    }
    EXPECT_EQ(displayString(euro).size(), 255U);
}

// Every DisplayString the view or a notification renders is cut to 255 octets.
TEST(MibView, DisplayStringsTruncated) {
    Snapshot s = makeSnap(Role::Active);
    const std::string longText(1000, 'x');
    for (auto& p : s.paths) {
        p.name = longText;
        p.endpoint = longText;
    }
    s.chassis.lastError = longText;
    s.chassis.fanProfile = longText;
    for (auto& x : s.chassis.sensors) {
        x.name = x.type = x.unit = longText;
    }
    for (auto& f : s.chassis.fans) {
        f.name = longText;
    }
    s.stateDirWritable = false;
    s.stateDirError = longText;
    ViewExtras extras;
    extras.lastControlResult = longText;
    MibView v(s, extras);
    std::size_t strings = 0;
    for (const VarBind& vb : v.entries()) {
        if (vb.value.type == SmiType::OctetString) {
            EXPECT_LE(vb.value.octets.size(), 255U) << oidToString(vb.oid);
            strings += vb.value.octets.size() == 255U ? 1 : 0;
        }
    }
    // LastControlResult, 2 paths x 2, lastError, fanProfile, 3 sensors x 3, 2 fans, stateDirError
    EXPECT_EQ(strings, 1U + 4U + 2U + 9U + 2U + 1U);

    for (EventType t :
         {EventType::PathDown, EventType::AuthAlarm, EventType::BmcUnreachable,
          EventType::SensorThreshold, EventType::FanFailure, EventType::StateDirUnwritable}) {
        Event e;
        e.type = t;
        e.pathIndex = 1;
        e.objectIndex = 1;
        e.text = longText;
        for (const VarBind& vb : buildNotification(e, 1, s).varbinds) {
            if (vb.value.type == SmiType::OctetString) {
                EXPECT_LE(vb.value.octets.size(), 255U) << static_cast<int>(t);
            }
        }
    }
}

TEST(SetAudit, OriginNamesTheRequester) {
    SetRequester v3;
    v3.securityName = "hsadmin";
    v3.address = "UDP: [127.0.0.1]:40000->[127.0.0.1]:161";
    EXPECT_EQ(setOrigin(v3),
              R"(snmp user="hsadmin" address="UDP: [127.0.0.1]:40000->[127.0.0.1]:161")");
    SetRequester v2;
    v2.community = "private\nforged line\"";
    EXPECT_EQ(setOrigin(v2), R"(snmp community="private?forged line?")");
    SetRequester ax;
    ax.agentx = true;
    ax.transactionId = 42;
    ax.context = "ctx";
    EXPECT_EQ(setOrigin(ax), R"(snmp context="ctx" via=agentx transaction=42 manager=unknown)");
    SetRequester axUser = ax;
    axUser.securityName = "hsadmin";
    EXPECT_EQ(setOrigin(axUser), R"(snmp user="hsadmin" context="ctx" via=agentx transaction=42)");
}

toml::table parse(const std::string& text) {
    return toml::parse(std::string_view(text), std::string_view("test.toml"));
}

TEST(SnmpConfig, DefaultsAndValues) {
    SnmpConfig d = parseSnmpConfig(toml::table{}, "x.toml");
    EXPECT_TRUE(d.enabled);
    EXPECT_EQ(d.pingInterval, std::chrono::seconds(1));
    auto doc = parse("[snmp]\nenabled = false\nagentx_socket = \"/run/a.sock\"\n"
                     "ping_interval_s = 2\nagentx_timeout_ms = 500\nnotify_queue = 10\n"
                     "log_level = \"warn\"\n");
    SnmpConfig c = parseSnmpConfig(*doc["snmp"].as_table(), "test.toml");
    EXPECT_FALSE(c.enabled);
    EXPECT_EQ(c.agentxSocket, "/run/a.sock");
    EXPECT_EQ(c.pingInterval, std::chrono::seconds(2));
    EXPECT_EQ(c.agentxTimeout, std::chrono::milliseconds(500));
    EXPECT_EQ(c.notifyQueue, 10u);
    EXPECT_EQ(c.netsnmpLogLevel, log::Level::Warn);
}

TEST(SnmpConfig, ErrorsNameFileLineKey) {
    auto expectError = [](const std::string& text, const std::string& needle) {
        auto doc = parse(text);
        try {
            parseSnmpConfig(*doc["snmp"].as_table(), "test.toml");
            ADD_FAILURE() << "no error for " << text;
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expectError("[snmp]\nbogus = 1\n", "test.toml:2: snmp.bogus: unknown key");
    expectError("[snmp]\nping_interval_s = 0\n", "test.toml:2: snmp.ping_interval_s: 0 is outside");
    expectError("[snmp]\nenabled = \"yes\"\n", "snmp.enabled: must be true or false");
    expectError("[snmp]\nlog_level = \"loud\"\n", "snmp.log_level");
    expectError("[snmp]\nagentx_socket = \"\"\n", "snmp.agentx_socket: must not be empty");
}

// setenv() while other threads run is a process-wide hazard: the program sets MIBS before its
// first thread, and starting the subagent (which spawns the SNMP thread) leaves the environment
// as it found it. The master is absent here; the subagent only retries.
TEST(Subagent, StartLeavesTheEnvironmentAlone) {
    ASSERT_EQ(::setenv("MIBS", "HS-ENV-PROBE", 1), 0);
    SnmpConfig cfg;
    cfg.agentxSocket = "/nonexistent/hs-agentx-master";
    cfg.agentxTimeout = std::chrono::milliseconds(100);
    cfg.netsnmpLogLevel = log::Level::Error;
    {
        Subagent agent(cfg, [](ControlRequest, std::function<void(ControlResult)>) {});
        agent.start();
        const char* mibs = std::getenv("MIBS");
        ASSERT_NE(mibs, nullptr);
        EXPECT_STREQ(mibs, "HS-ENV-PROBE");
        agent.stop();
    }
    ::unsetenv("MIBS");
}

} // namespace
} // namespace hs::subagent

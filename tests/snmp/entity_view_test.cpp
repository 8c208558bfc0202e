// The standard ENTITY views (subagent/entity_view.hpp): sensor value scaling, containment,
// standby states and the notifications the tracker makes.
#include "subagent/entity_view.hpp"

#include <gtest/gtest.h>
#include <map>
#include <set>

namespace hs::subagent::entity {
namespace {

SensorSnapshot sensor(std::uint32_t index, std::string name, std::string type, std::string unit,
                      double value) {
    SensorSnapshot s;
    s.index = index;
    s.name = std::move(name);
    s.type = std::move(type);
    s.unit = std::move(unit);
    s.value = value;
    s.valueValid = true;
    s.state = SensorState::Nominal;
    return s;
}

Snapshot makeSnap() {
    Snapshot s;
    s.local.slot = 0;
    s.local.role = Role::Active;
    s.local.present = true;
    s.peer.slot = 1;
    s.peer.role = Role::Standby;
    s.peer.present = true;
    s.chassis.enabled = true;
    s.chassis.sensors.push_back(sensor(1, "CPU Temp", "Temperature", "degrees C", 35));
    s.chassis.sensors.push_back(sensor(2, "12V", "Voltage", "V", 12.06));
    s.chassis.sensors.back().upperCritical = 13.2;
    s.chassis.sensors.push_back(sensor(3, "FAN1", "Fan", "RPM", 2500));
    s.chassis.sensors.push_back(sensor(4, "PS1 Status", "Power Supply", "", 0));
    return s;
}

Oid cell(std::initializer_list<std::uint32_t> arcs) {
    return Oid(arcs);
}

std::int64_t intAt(const EntityView& v, const Oid& o) {
    const VarBind* b = v.get(o);
    EXPECT_NE(b, nullptr) << oidToString(o);
    return b != nullptr ? b->value.integer : -999;
}

TEST(EntitySensor, ValueScaling) {
    SensorSnapshot t = sensor(1, "T", "Temperature", "degrees C", 35);
    EXPECT_EQ(sensorPrecision(t), 0);
    EXPECT_EQ(sensorValue(t, 0), 35);
    SensorSnapshot v = sensor(2, "V", "Voltage", "V", 12.06);
    EXPECT_EQ(sensorPrecision(v), 2);
    EXPECT_EQ(sensorValue(v, 2), 1206);
    // A threshold with more decimals than the reading sets the precision for both.
    v.value = 12.0;
    v.lowerCritical = 10.848;
    EXPECT_EQ(sensorPrecision(v), 3);
    EXPECT_EQ(sensorValue(v, 3), 12000);
    // Negative readings, rounding to the nearest, never more than three decimals.
    SensorSnapshot n = sensor(3, "N", "Temperature", "degrees C", -5.25);
    EXPECT_EQ(sensorValue(n, 2), -525);
    n.value = 1.23456;
    EXPECT_EQ(sensorPrecision(n), 3);
    EXPECT_EQ(sensorValue(n, 3), 1235);
    // EntitySensorValue is -1e9..1e9.
    n.value = 5e12;
    EXPECT_EQ(sensorValue(n, 0), 1000000000);
    n.value = -5e12;
    EXPECT_EQ(sensorValue(n, 3), -1000000000);
    // No reading: 0 and oper status unavailable.
    n.valueValid = false;
    EXPECT_EQ(sensorValue(n, 1), 0);
    EXPECT_EQ(sensorOperStatus(n), 2);
}

TEST(EntitySensor, TypesAndStatus) {
    EXPECT_EQ(sensorDataType(sensor(1, "a", "Temperature", "degrees C", 1)), 8);
    EXPECT_EQ(sensorDataType(sensor(1, "a", "Voltage", "V", 1)), 4);
    EXPECT_EQ(sensorDataType(sensor(1, "a", "Fan", "RPM", 1)), 10);
    EXPECT_EQ(sensorDataType(sensor(1, "a", "Current", "A", 1)), 5);
    EXPECT_EQ(sensorDataType(sensor(1, "a", "x", "W", 1)), 6);
    EXPECT_EQ(sensorDataType(sensor(1, "a", "x", "%", 1)), 1);
    SensorSnapshot c = sensor(1, "a", "Temperature", "degrees C", 99);
    c.state = SensorState::Critical;
    EXPECT_EQ(sensorOperStatus(c), 1); // a critical reading is still a working sensor
    c.state = SensorState::Unavailable;
    EXPECT_EQ(sensorOperStatus(c), 2);
}

TEST(EntityPhysical, ContainmentIsATreeRootedAtTheChassis) {
    std::vector<PhysicalEntity> ents = physicalEntities(makeSnap(), "1.2.3");
    std::map<std::uint32_t, const PhysicalEntity*> byIndex;
    for (const auto& e : ents) {
        EXPECT_TRUE(byIndex.emplace(e.index, &e).second) << "duplicate index " << e.index;
    }
    ASSERT_EQ(byIndex.count(kChassisIndex), 1u);
    EXPECT_EQ(byIndex[kChassisIndex]->containedIn, 0u);
    EXPECT_EQ(byIndex[kChassisIndex]->cls, PhysicalClass::Chassis);
    for (const auto& e : ents) {
        std::set<std::uint32_t> seen;
        std::uint32_t at = e.index;
        while (at != kChassisIndex) {
            ASSERT_TRUE(seen.insert(at).second) << "loop at " << at;
            ASSERT_EQ(byIndex.count(at), 1u) << "dangling parent " << at;
            at = byIndex[at]->containedIn;
        }
    }
    // 1 chassis, 2 modules, 1 fan, 1 power supply, 4 sensors.
    EXPECT_EQ(ents.size(), 9u);
    EXPECT_EQ(byIndex[kModuleIndexBase]->cls, PhysicalClass::Module);
    EXPECT_EQ(byIndex[kModuleIndexBase]->softwareRev, "1.2.3"); // local module, slot 0
    EXPECT_EQ(byIndex[kModuleIndexBase + 1]->softwareRev, "");
    EXPECT_EQ(byIndex[kFanIndexBase + 3]->cls, PhysicalClass::Fan);
    EXPECT_EQ(byIndex[kSensorIndexBase + 3]->containedIn, kFanIndexBase + 3);
    EXPECT_EQ(byIndex[kPsuIndexBase + 4]->cls, PhysicalClass::PowerSupply);
    EXPECT_EQ(byIndex[kSensorIndexBase + 4]->containedIn, kPsuIndexBase + 4);
    EXPECT_EQ(byIndex[kSensorIndexBase + 1]->containedIn, kChassisIndex);
    EXPECT_EQ(byIndex[kSensorIndexBase + 2]->relPos, 2);
}

TEST(EntityPhysical, PeerNeverHeardTakesTheOtherSlot) {
    Snapshot s = makeSnap();
    s.local.slot = 1;
    s.peer = ModuleSnapshot{}; // slot 0 by default, not present
    std::vector<PhysicalEntity> ents = physicalEntities(s, "v");
    ASSERT_GE(ents.size(), 3u);
    EXPECT_EQ(ents[1].index, kModuleIndexBase);
    EXPECT_EQ(ents[1].softwareRev, "");
    EXPECT_EQ(ents[2].index, kModuleIndexBase + 1);
    EXPECT_EQ(ents[2].softwareRev, "v");
}

TEST(EntityState, StandbyFollowsRoleAndReplication) {
    ModuleSnapshot m;
    m.present = true;
    m.role = Role::Active;
    EXPECT_EQ(entityStandby(m, std::nullopt), 4);
    m.role = Role::Standby;
    EXPECT_EQ(entityStandby(m, std::nullopt), 3); // no replication: cold
    EXPECT_EQ(entityStandby(m, false), 3);
    EXPECT_EQ(entityStandby(m, true), 2);
    m.role = Role::Fault;
    EXPECT_EQ(entityStandby(m, true), 1);
    EXPECT_EQ(moduleAlarm(m), std::string(1, '\x20')); // critical(2)
    m.present = false;
    EXPECT_EQ(entityStandby(m, true), 1);
    EXPECT_EQ(moduleUsageState(m), 1);
}

TEST(EntityView, CellsAndRegions) {
    Snapshot s = makeSnap();
    EntityTracker tracker("9.9");
    std::vector<Notification> out;
    tracker.update(s, 1234, out);
    EXPECT_TRUE(out.empty());
    EntityView v(s, tracker.extras());
    // entPhysicalClass.1 = chassis(3), entPhysicalContainedIn.1002 = 1.
    EXPECT_EQ(intAt(v, cell({1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 5, 1})), 3);
    EXPECT_EQ(intAt(v, cell({1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 4, 1002})), 1);
    // entPhysicalChildIndex.2003.1003 = 1003.
    EXPECT_EQ(intAt(v, cell({1, 3, 6, 1, 2, 1, 47, 1, 3, 3, 1, 1, 2003, 1003})), 1003);
    // entLastChangeTime.0 is a TimeTicks of the first table.
    const VarBind* lc = v.get(cell({1, 3, 6, 1, 2, 1, 47, 1, 4, 1, 0}));
    ASSERT_NE(lc, nullptr);
    EXPECT_EQ(lc->value.type, SmiType::TimeTicks);
    EXPECT_EQ(lc->value.unsignedValue, 1234u);
    // entPhySensorValue.1002 = 1206 with precision 2, scale units(9), type voltsDC(4).
    EXPECT_EQ(intAt(v, cell({1, 3, 6, 1, 2, 1, 99, 1, 1, 1, 4, 1002})), 1206);
    EXPECT_EQ(intAt(v, cell({1, 3, 6, 1, 2, 1, 99, 1, 1, 1, 3, 1002})), 2);
    EXPECT_EQ(intAt(v, cell({1, 3, 6, 1, 2, 1, 99, 1, 1, 1, 2, 1002})), 9);
    EXPECT_EQ(intAt(v, cell({1, 3, 6, 1, 2, 1, 99, 1, 1, 1, 1, 1002})), 4);
    // entStateStandby: the active providingService(4), the standby coldStandby(3).
    EXPECT_EQ(intAt(v, cell({1, 3, 6, 1, 2, 1, 131, 1, 1, 1, 6, 2})), 4);
    EXPECT_EQ(intAt(v, cell({1, 3, 6, 1, 2, 1, 131, 1, 1, 1, 6, 3})), 3);
    // GETNEXT stays inside its region: past the last ENTITY-MIB object there is nothing.
    const Oid& region = entityMibObjects();
    EXPECT_EQ(v.next(cell({1, 3, 6, 1, 2, 1, 47, 1, 4, 1, 0}), false, region), nullptr);
    const VarBind* first = v.next(region, false, region);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->oid, cell({1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 2, 1}));
    const VarBind* firstSensor = v.next(entitySensorObjects(), false, entitySensorObjects());
    ASSERT_NE(firstSensor, nullptr);
    EXPECT_EQ(firstSensor->oid, cell({1, 3, 6, 1, 2, 1, 99, 1, 1, 1, 1, 1001}));
}

TEST(EntityTracker, OperNotificationsAndThrottledConfigChange) {
    Snapshot s = makeSnap();
    EntityTracker t("v");
    std::vector<Notification> out;
    t.update(s, 100, out);
    ASSERT_TRUE(out.empty());
    // The peer goes: entStateOperDisabled for module 1 (index 3).
    s.peer.present = false;
    t.update(s, 200, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].trapOid, entStateOperDisabledTrap());
    ASSERT_EQ(out[0].varbinds.size(), 2u);
    EXPECT_EQ(out[0].varbinds[0].oid, entStateAdminOid(3));
    EXPECT_EQ(out[0].varbinds[1].oid, entStateAlarmOid(3));
    out.clear();
    s.peer.present = true;
    t.update(s, 300, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].trapOid, entStateOperEnabledTrap());
    out.clear();
    // A sensor appears: entLastChangeTime moves, one entConfigChange.
    s.chassis.sensors.push_back(sensor(5, "Inlet", "Temperature", "degrees C", 20));
    t.update(s, 400, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].trapOid, entConfigChangeTrap());
    EXPECT_EQ(t.extras().lastChangeTicks, 400u);
    out.clear();
    // Another change 1 s later: the table says so at once, the notification waits 5 s.
    s.chassis.sensors.pop_back();
    t.update(s, 500, out);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(t.extras().lastChangeTicks, 500u);
    ASSERT_TRUE(t.configChangeDue().has_value());
    EXPECT_EQ(*t.configChangeDue(), 900u);
    EXPECT_FALSE(t.takeConfigChange(899, out));
    EXPECT_TRUE(t.takeConfigChange(900, out));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_FALSE(t.configChangeDue().has_value());
    // Readings only move the value timestamp, not the configuration.
    out.clear();
    s.chassis.sensors[0].value = 36;
    t.update(s, 2000, out);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(t.extras().valueTicks.at(1), 2000u);
    EXPECT_EQ(t.extras().valueTicks.at(2), 100u);
    // Precision never decreases once seen.
    s.chassis.sensors[1].value = 12.0;
    s.chassis.sensors[1].upperCritical = 13.0;
    t.update(s, 2100, out);
    EXPECT_EQ(t.extras().precision.at(2), 2);
}

} // namespace
} // namespace hs::subagent::entity

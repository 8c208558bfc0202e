#include "subagent/entity_view.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace hs::subagent::entity {

namespace {

const Oid kEntityMib{1, 3, 6, 1, 2, 1, 47};
const Oid kEntitySensorMib{1, 3, 6, 1, 2, 1, 99};
const Oid kEntityStateMib{1, 3, 6, 1, 2, 1, 131};

Oid plus(const Oid& base, std::initializer_list<std::uint32_t> tail) {
    Oid o = base;
    o.insert(o.end(), tail);
    return o;
}

// entPhysicalEntry 1.3.6.1.2.1.47.1.1.1.1.COLUMN.INDEX
Oid physCell(std::uint32_t column, std::uint32_t index) {
    return plus(kEntityMib, {1, 1, 1, 1, column, index});
}
// entPhySensorEntry 1.3.6.1.2.1.99.1.1.1.COLUMN.INDEX
Oid sensorCell(std::uint32_t column, std::uint32_t index) {
    return plus(kEntitySensorMib, {1, 1, 1, column, index});
}
// entStateEntry 1.3.6.1.2.1.131.1.1.1.COLUMN.INDEX
Oid stateCell(std::uint32_t column, std::uint32_t index) {
    return plus(kEntityStateMib, {1, 1, 1, column, index});
}

bool isFanSensor(const SensorSnapshot& s) {
    return s.type == "Fan";
}
bool isSupplySensor(const SensorSnapshot& s) {
    return s.type == "Power Supply";
}

// Digits after the decimal point V needs (0..kMaxPrecision).
int digitsOf(double v) {
    if (!std::isfinite(v)) {
        return 0;
    }
    for (int p = 0; p < kMaxPrecision; ++p) {
        double scaled = v * std::pow(10.0, p);
        if (std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, std::fabs(scaled))) {
            return p;
        }
    }
    return kMaxPrecision;
}

using V = SmiValue;

} // namespace

const Oid& entityMibObjects() {
    static const Oid kOid = plus(kEntityMib, {1});
    return kOid;
}
const Oid& entitySensorObjects() {
    static const Oid kOid = plus(kEntitySensorMib, {1});
    return kOid;
}
const Oid& entityStateObjects() {
    static const Oid kOid = plus(kEntityStateMib, {1});
    return kOid;
}
const Oid& entConfigChangeTrap() {
    static const Oid kOid = plus(kEntityMib, {2, 0, 1});
    return kOid;
}
const Oid& entStateOperEnabledTrap() {
    static const Oid kOid = plus(kEntityStateMib, {0, 1});
    return kOid;
}
const Oid& entStateOperDisabledTrap() {
    static const Oid kOid = plus(kEntityStateMib, {0, 2});
    return kOid;
}
Oid entStateAdminOid(std::uint32_t physIndex) {
    return stateCell(2, physIndex);
}
Oid entStateAlarmOid(std::uint32_t physIndex) {
    return stateCell(5, physIndex);
}

std::vector<PhysicalEntity> physicalEntities(const Snapshot& s, std::string_view softwareRev) {
    std::vector<PhysicalEntity> out;
    PhysicalEntity chassis;
    chassis.index = kChassisIndex;
    chassis.descr = "Chassis with two hotstandby management modules and an IPMI BMC";
    chassis.cls = PhysicalClass::Chassis;
    chassis.name = "chassis";
    out.push_back(chassis);

    // Both modules, by slot; a peer never heard is shown in the other slot.
    const ModuleSnapshot* bySlot[2] = {nullptr, nullptr};
    std::uint32_t localSlot = std::min<std::uint32_t>(s.local.slot, 1);
    bySlot[localSlot] = &s.local;
    bySlot[1 - localSlot] = &s.peer;
    for (std::uint32_t slot = 0; slot < 2; ++slot) {
        const ModuleSnapshot& m = *bySlot[slot];
        PhysicalEntity e;
        e.index = kModuleIndexBase + slot;
        e.cls = PhysicalClass::Module;
        e.containedIn = kChassisIndex;
        e.relPos = static_cast<std::int32_t>(slot); // slots are labelled from 0
        e.name = fmt::format("module {}", slot);
        e.descr = fmt::format("hotstandby management module, slot {}", slot);
        if (&m == &s.local) {
            e.softwareRev = std::string(softwareRev);
        }
        e.fru = true;
        e.slot = slot;
        out.push_back(std::move(e));
    }

    std::int32_t fanPos = 0;
    std::int32_t psuPos = 0;
    std::int32_t sensorPos = 0;
    std::vector<PhysicalEntity> containers;
    std::vector<PhysicalEntity> sensors;
    for (const SensorSnapshot& sn : s.chassis.sensors) {
        PhysicalEntity e;
        e.index = kSensorIndexBase + sn.index;
        e.cls = PhysicalClass::Sensor;
        e.name = sn.name;
        e.descr = fmt::format("{} sensor {}", sn.type, sn.name);
        e.sensorIndex = sn.index;
        if (isFanSensor(sn) || isSupplySensor(sn)) {
            bool fan = isFanSensor(sn);
            PhysicalEntity c;
            c.index = (fan ? kFanIndexBase : kPsuIndexBase) + sn.index;
            c.cls = fan ? PhysicalClass::Fan : PhysicalClass::PowerSupply;
            c.containedIn = kChassisIndex;
            c.relPos = fan ? ++fanPos : ++psuPos;
            c.name = sn.name;
            c.descr = fmt::format("{} {}", fan ? "Fan" : "Power supply", sn.name);
            c.fru = true;
            containers.push_back(std::move(c));
            e.containedIn = (fan ? kFanIndexBase : kPsuIndexBase) + sn.index;
            e.relPos = 1;
        } else {
            e.containedIn = kChassisIndex;
            e.relPos = ++sensorPos;
        }
        sensors.push_back(std::move(e));
    }
    for (auto* v : {&sensors, &containers}) {
        out.insert(out.end(), std::make_move_iterator(v->begin()),
                   std::make_move_iterator(v->end()));
    }
    std::sort(out.begin(), out.end(),
              [](const PhysicalEntity& a, const PhysicalEntity& b) { return a.index < b.index; });
    return out;
}

std::string physicalSignature(const std::vector<PhysicalEntity>& entities) {
    std::string sig;
    for (const PhysicalEntity& e : entities) {
        sig += fmt::format("{}|{}|{}|{}|{}|{}|{}|{}\n", e.index, e.descr, static_cast<int>(e.cls),
                           e.containedIn, e.relPos, e.name, e.softwareRev, e.fru);
    }
    return sig;
}

std::int64_t sensorDataType(const SensorSnapshot& s) {
    if (s.unit == "degrees C") {
        return 8; // celsius
    }
    if (s.unit == "V") {
        return 4; // voltsDC: IPMI does not say AC or DC; a BMC's rails are DC
    }
    if (s.unit == "A") {
        return 5; // amperes
    }
    if (s.unit == "W") {
        return 6; // watts
    }
    if (s.unit == "RPM") {
        return 10; // rpm
    }
    return 1; // other (degrees F, percent, discrete)
}

int sensorPrecision(const SensorSnapshot& s) {
    int p = s.valueValid ? digitsOf(s.value) : 0;
    for (const auto& t : {s.lowerNonRecoverable, s.lowerCritical, s.lowerNonCritical,
                          s.upperNonCritical, s.upperCritical, s.upperNonRecoverable}) {
        if (t) {
            p = std::max(p, digitsOf(*t));
        }
    }
    return p;
}

std::int64_t sensorValue(const SensorSnapshot& s, int precision) {
    if (!s.valueValid || !std::isfinite(s.value)) {
        return 0;
    }
    constexpr double kLimit = 1e9; // EntitySensorValue (-1000000000..1000000000)
    double scaled = std::round(s.value * std::pow(10.0, std::clamp(precision, 0, kMaxPrecision)));
    return static_cast<std::int64_t>(std::clamp(scaled, -kLimit, kLimit));
}

std::int64_t sensorOperStatus(const SensorSnapshot& s) {
    if (!s.valueValid || s.state == SensorState::Unavailable) {
        return 2; // unavailable
    }
    return 1; // ok: the sensor works, whatever its reading (thresholds are not its oper status)
}

std::int64_t moduleUsageState(const ModuleSnapshot& m) {
    if (!m.present) {
        return 1;
    }
    switch (m.role) {
    case Role::Active:
        return 3;
    case Role::Standby:
    case Role::Init:
        return 2;
    case Role::Fault:
    case Role::Stopped:
        return 1;
    }
    return 1;
}

std::string moduleAlarm(const ModuleSnapshot& m) {
    // BITS: bit 0 is the most significant bit of the first octet.
    auto bit = [](int n) { return std::string(1, static_cast<char>(0x80 >> n)); };
    if (!m.present) {
        return bit(0); // unknown
    }
    if (m.role == Role::Fault) {
        return bit(2); // critical
    }
    if (!m.bmcOk) {
        return bit(5); // warning
    }
    return std::string(1, '\0');
}

std::int64_t entityStandby(const ModuleSnapshot& m, std::optional<bool> replicationReady) {
    return moduleStandbyStatus(m, replicationReady.value_or(false));
}

EntityView::EntityView(const Snapshot& snap, const EntityExtras& x) {
    std::vector<PhysicalEntity> ents = physicalEntities(snap, x.softwareRev);
    auto add = [this](Oid o, SmiValue v) { entries_.push_back({std::move(o), std::move(v)}); };
    const Oid zeroDotZero{0, 0};
    for (const PhysicalEntity& e : ents) {
        std::uint32_t i = e.index;
        add(physCell(2, i), V::makeDisplay(e.descr));
        add(physCell(3, i), V::makeOid(zeroDotZero));
        add(physCell(4, i), V::makeInt(e.containedIn));
        add(physCell(5, i), V::makeInt(static_cast<std::int64_t>(e.cls)));
        add(physCell(6, i), V::makeInt(e.relPos));
        add(physCell(7, i), V::makeDisplay(e.name));
        add(physCell(8, i), V::makeString({}));
        add(physCell(9, i), V::makeString({}));
        add(physCell(10, i), V::makeDisplay(e.softwareRev));
        add(physCell(11, i), V::makeString({}));
        add(physCell(12, i), V::makeString({}));
        add(physCell(13, i), V::makeString({}));
        add(physCell(14, i), V::makeString({}));
        add(physCell(15, i), V::makeString({}));
        add(physCell(16, i), V::makeInt(mibTruth(e.fru)));
        add(physCell(17, i), V::makeString(dateAndTime(0)));
        add(physCell(18, i), V::makeString({}));
        add(physCell(19, i), V::makeString({}));
        if (e.containedIn != 0) {
            // entPhysicalContainsTable: entPhysicalChildIndex.PARENT.CHILD
            add(plus(kEntityMib, {1, 3, 3, 1, 1, e.containedIn, i}), V::makeInt(i));
        }
    }
    add(plus(kEntityMib, {1, 4, 1, 0}), V::makeTimeTicks(x.lastChangeTicks));

    for (const SensorSnapshot& s : snap.chassis.sensors) {
        std::uint32_t i = kSensorIndexBase + s.index;
        int precision = sensorPrecision(s);
        if (auto it = x.precision.find(s.index); it != x.precision.end()) {
            precision = std::max(precision, it->second);
        }
        std::uint64_t ticks = 0;
        if (auto it = x.valueTicks.find(s.index); it != x.valueTicks.end()) {
            ticks = it->second;
        }
        add(sensorCell(1, i), V::makeInt(sensorDataType(s)));
        add(sensorCell(2, i), V::makeInt(kScaleUnits));
        add(sensorCell(3, i), V::makeInt(precision));
        add(sensorCell(4, i), V::makeInt(sensorValue(s, precision)));
        add(sensorCell(5, i), V::makeInt(sensorOperStatus(s)));
        add(sensorCell(6, i), V::makeDisplay(s.unit));
        add(sensorCell(7, i), V::makeTimeTicks(ticks));
        add(sensorCell(8, i), V::makeGauge(0)); // update rate unknown here (the poll interval)
    }

    for (const PhysicalEntity& e : ents) {
        if (e.cls != PhysicalClass::Module) {
            continue;
        }
        const ModuleSnapshot& m =
            std::min<std::uint32_t>(snap.local.slot, 1) == e.slot ? snap.local : snap.peer;
        std::optional<bool> ready;
        if (auto it = x.replicationReady.find(e.slot); it != x.replicationReady.end()) {
            ready = it->second;
        }
        std::uint32_t i = e.index;
        add(stateCell(1, i), V::makeString(dateAndTime(m.lastChangeUnixMs)));
        add(stateCell(2, i), V::makeInt(moduleAdminState(m)));
        add(stateCell(3, i), V::makeInt(moduleOperState(m)));
        add(stateCell(4, i), V::makeInt(moduleUsageState(m)));
        add(stateCell(5, i), V::makeString(moduleAlarm(m)));
        add(stateCell(6, i), V::makeInt(entityStandby(m, ready)));
    }

    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const VarBind& a, const VarBind& b) { return oidLess(a.oid, b.oid); });
    auto same = [](const VarBind& a, const VarBind& b) { return a.oid == b.oid; };
    entries_.erase(std::unique(entries_.begin(), entries_.end(), same), entries_.end());
}

const VarBind* EntityView::get(const Oid& oid) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), oid,
                               [](const VarBind& e, const Oid& o) { return oidLess(e.oid, o); });
    return it != entries_.end() && it->oid == oid ? &*it : nullptr;
}

const VarBind* EntityView::next(const Oid& oid, bool inclusive, const Oid& region) const {
    auto cmp = [](const Oid& o, const VarBind& e) { return oidLess(o, e.oid); };
    auto it = std::upper_bound(entries_.begin(), entries_.end(), oid, cmp);
    if (inclusive && it != entries_.begin() && std::prev(it)->oid == oid) {
        --it;
    }
    if (it == entries_.end() || !oidHasPrefix(it->oid, region)) {
        return nullptr;
    }
    return &*it;
}

void EntityTracker::setReplicationReady(std::uint32_t slot, std::optional<bool> ready) {
    if (ready) {
        extras_.replicationReady[slot] = *ready;
    } else {
        extras_.replicationReady.erase(slot);
    }
}

void EntityTracker::update(const Snapshot& snap, std::uint64_t now,
                           std::vector<Notification>& out) {
    std::vector<PhysicalEntity> ents = physicalEntities(snap, extras_.softwareRev);
    std::string sig = physicalSignature(ents);
    if (sig != signature_) {
        signature_ = std::move(sig);
        extras_.lastChangeTicks = now;
        if (!first_) {
            configChanged(now, out);
        }
    }
    std::map<std::uint32_t, double> values;
    for (const SensorSnapshot& s : snap.chassis.sensors) {
        int& p = extras_.precision[s.index];
        p = std::max(p, sensorPrecision(s));
        if (!s.valueValid) {
            continue;
        }
        values[s.index] = s.value;
        auto it = lastValue_.find(s.index);
        if (it == lastValue_.end() || it->second != s.value) {
            extras_.valueTicks[s.index] = now;
        }
    }
    lastValue_ = std::move(values);
    for (const PhysicalEntity& e : ents) {
        if (e.cls != PhysicalClass::Module) {
            continue;
        }
        const ModuleSnapshot& m =
            std::min<std::uint32_t>(snap.local.slot, 1) == e.slot ? snap.local : snap.peer;
        std::int64_t oper = moduleOperState(m);
        auto [it, fresh] = operState_.try_emplace(e.index, oper);
        if (!fresh && it->second != oper) {
            it->second = oper;
            if (!first_ && (oper == 2 || oper == 3)) {
                Notification n;
                n.trapOid = oper == 3 ? entStateOperEnabledTrap() : entStateOperDisabledTrap();
                n.varbinds.push_back({entStateAdminOid(e.index), V::makeInt(moduleAdminState(m))});
                n.varbinds.push_back({entStateAlarmOid(e.index), V::makeString(moduleAlarm(m))});
                out.push_back(std::move(n));
            }
        }
    }
    first_ = false;
}

void EntityTracker::configChanged(std::uint64_t now, std::vector<Notification>& out) {
    if (lastConfigChangeSent_ && now < *lastConfigChangeSent_ + kConfigChangeThrottle) {
        configChangePending_ = true;
        return;
    }
    lastConfigChangeSent_ = now;
    configChangePending_ = false;
    out.push_back(Notification{entConfigChangeTrap(), {}});
}

std::optional<std::uint64_t> EntityTracker::configChangeDue() const {
    if (!configChangePending_ || !lastConfigChangeSent_) {
        return std::nullopt;
    }
    return *lastConfigChangeSent_ + kConfigChangeThrottle;
}

bool EntityTracker::takeConfigChange(std::uint64_t now, std::vector<Notification>& out) {
    auto due = configChangeDue();
    if (!due || now < *due) {
        return false;
    }
    lastConfigChangeSent_ = now;
    configChangePending_ = false;
    out.push_back(Notification{entConfigChangeTrap(), {}});
    return true;
}

} // namespace hs::subagent::entity

// A populated Snapshot for the JSON and hsctl tests.
#pragma once

#include "base/types.hpp"

namespace hs::test {

inline Snapshot sampleSnapshot() {
    Snapshot s;
    s.generation = 9;
    s.local = {0, 1, Role::Active, true, true, 1700000000000};
    s.peer = {1, 2, Role::Standby, true, true, 1700000000001};
    s.epoch = 7;
    s.peerAlive = true;
    s.redundancy = Redundancy::Degraded;
    s.switchoverCount = 2;
    s.lastSwitchoverReason = SwitchoverReason::PeerLost;
    PathSnapshot net;
    net.index = 1;
    net.name = "net0";
    net.endpoint = "192.0.2.2:7400";
    net.state = PathState::Up;
    net.rttUs = 120;
    net.counters.framesSent = 1001;
    net.counters.framesReceived = 1000;
    net.counters.authFailures = 4;
    net.counters.foreign = 5;
    PathSnapshot ser;
    ser.index = 2;
    ser.name = "serial0";
    ser.type = PathType::Serial;
    ser.endpoint = "/dev/ttyS1@115200";
    ser.state = PathState::AdminDown;
    ser.diag = PathDiag::DetectTimeExpired;
    ser.counters.missed = 33;
    s.paths = {net, ser};
    s.journal = {{1, 1700000000000, SwitchoverReason::InitPreferred, Role::Init, Role::Active, 6},
                 {2, 1700000005000, SwitchoverReason::PeerLost, Role::Standby, Role::Active, 7}};
    s.chassis.enabled = true;
    s.chassis.power = PowerState::On;
    s.chassis.access = BmcAccess::Ok;
    s.chassis.fanProfile = "supermicro";
    SensorSnapshot cpu;
    cpu.index = 1;
    cpu.name = "CPU Temp";
    cpu.type = "Temperature";
    cpu.unit = "degrees C";
    cpu.value = 45;
    cpu.valueValid = true;
    cpu.upperNonCritical = 80;
    cpu.upperCritical = 90;
    cpu.state = SensorState::Nominal;
    SensorSnapshot fan1;
    fan1.index = 2;
    fan1.name = "FAN1";
    fan1.type = "Fan";
    fan1.unit = "RPM";
    fan1.state = SensorState::Unavailable;
    s.chassis.sensors = {cpu, fan1};
    s.chassis.fans = {{0, "CPU zone", 40, 3200.0, FanMode::Auto, false},
                      {1, "Peripheral zone", 30, std::nullopt, FanMode::Auto, true}};
    return s;
}

} // namespace hs::test

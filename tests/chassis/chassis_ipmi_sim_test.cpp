// ChassisManager against a real ipmi_sim (with the hsfix_bmc plugin), ipmitool as an independent
// client. Each test starts its own simulator on kernel-chosen ports.
#include "chassis/chassis_manager.hpp"
#include "chassis/ipmi_error.hpp"
#include "chassis/ipmi_session.hpp"
#include "ipmi_sim_harness.hpp"

#include <chrono>
#include <filesystem>
#include <freeipmi/freeipmi.h>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <variant>
#include <vector>

using namespace hs;
using namespace hs::chassis;
using namespace std::chrono_literals;

namespace {

class ChassisSimTest : public ::testing::Test {
  protected:
    void SetUp() override { sim = std::make_unique<hs::testing::IpmiSim>(); }

    BmcEndpoint endpoint(const hs::testing::IpmiSim& s, const std::string& password = "secret") {
        BmcEndpoint e;
        e.interface = BmcInterface::Lanplus;
        e.host = s.host();
        e.port = s.port();
        e.user = "admin";
        e.password = password;
        e.cipherSuite = 3;
        e.workaroundFlags = IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_OPEN_SESSION_PRIVILEGE;
        e.sessionTimeout = 1500ms;
        e.retransmissionTimeout = 300ms;
        return e;
    }

    ChassisConfig config(const std::string& password = "secret") {
        ChassisConfig c;
        c.bmc = endpoint(*sim, password);
        // ipmi_sim refuses the OEM fan commands (netfn 0x30) below ADMINISTRATOR (0xD4); power,
        // status and sensors work at the default, OPERATOR (the fencing tests use it).
        c.bmc.privilege = Privilege::Admin;
        c.statusPoll = 200ms;
        c.sensorPoll = 300ms;
        c.retryMin = 100ms;
        c.retryMax = 400ms;
        c.powerConfirmTimeout = 5000ms;
        c.errorLogInterval = 1000ms;
        c.sdrCacheDir = sim->dir() + "/sdr-cache";
        c.fanProfile = FanProfileKind::Supermicro;
        ZoneConfig z0;
        z0.zone = 0;
        z0.name = "cpu";
        z0.tempSensors = {"CPU Temp"};
        z0.fanSensors = {"FAN1"};
        z0.curve = {{30, 20}, {50, 40}, {70, 100}};
        z0.hysteresisC = 3;
        ZoneConfig z1;
        z1.zone = 1;
        z1.name = "system";
        z1.tempSensors = {"System Temp"};
        z1.fanSensors = {"FAN2"};
        z1.curve = {{20, 30}, {60, 70}};
        c.zones = {z0, z1};
        return c;
    }

    void make(ChassisConfig c, std::optional<Duration> leaseWait = std::nullopt) {
        mgr = std::make_unique<ChassisManager>(io, std::move(c));
        mgr->onEvent([this](const Event& e) { events.push_back(e); });
        if (leaseWait) {
            mgr->setLeaseWait(*leaseWait);
        }
        mgr->start();
    }

    // Stands for the core: renews the lease every 50 ms by `length` while `ticking` (the timer
    // runs on the test's io_context, as the core's on the daemon's). ticking = false is a core
    // that stopped while the chassis threads go on (what a SIGCONT after SIGSTOP looks like).
    void startCoreTicks(std::chrono::milliseconds length) {
        ticking = true;
        tickLength = length;
        coreTick = std::make_unique<asio::steady_timer>(io);
        onCoreTick({});
    }
    void onCoreTick(std::error_code ec) {
        if (ec || !ticking) {
            return;
        }
        mgr->renewLease(std::chrono::steady_clock::now() + tickLength);
        coreTick->expires_after(50ms);
        coreTick->async_wait([this](std::error_code e) { onCoreTick(e); });
    }

    void TearDown() override {
        ticking = false;
        if (coreTick) {
            coreTick->cancel();
        }
        if (mgr) {
            mgr->stop();
        }
        mgr.reset();
        io.poll();
    }

    // What the daemon does when its core starts driving the chassis: the role, then the command
    // lease (here held for the whole test unless a test says otherwise).
    void activate(std::chrono::milliseconds lease = 3600s) {
        mgr->setActive(true);
        mgr->renewLease(std::chrono::steady_clock::now() + lease);
    }

    template <typename P> bool waitFor(P pred, std::chrono::milliseconds timeout = 5000ms) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            io.restart();
            io.run_for(20ms);
            if (pred()) {
                return true;
            }
        }
        return pred();
    }

    ControlResult control(ControlOp op, std::uint32_t zone = 0, std::int64_t value = 0) {
        std::optional<ControlResult> res;
        ControlRequest rq;
        rq.op = op;
        rq.zone = zone;
        rq.value = value;
        rq.origin = "test";
        mgr->submit(rq, [&res](ControlResult r) { res = r; });
        EXPECT_TRUE(waitFor([&] { return res.has_value(); }, 10000ms));
        return res.value_or(ControlResult{ControlStatus::Unavailable, "no answer"});
    }

    std::optional<SensorSnapshot> sensor(const std::string& name) {
        for (const SensorSnapshot& s : mgr->snapshot().sensors) {
            if (s.name == name) {
                return s;
            }
        }
        return std::nullopt;
    }

    bool activeAndArmed() {
        return waitFor([&] {
            ChassisSnapshot s = mgr->snapshot();
            return s.access == BmcAccess::Ok && !s.failSafe && s.fans[0].mode == FanMode::Manual;
        });
    }

    asio::io_context io;
    std::unique_ptr<hs::testing::IpmiSim> sim;
    std::unique_ptr<ChassisManager> mgr;
    std::vector<Event> events;
    std::unique_ptr<asio::steady_timer> coreTick;
    bool ticking = false;
    std::chrono::milliseconds tickLength{0};
};

} // namespace

TEST_F(ChassisSimTest, PowerControlObservedByIpmitool) {
    make(config());
    activate();
    ASSERT_TRUE(waitFor([&] { return mgr->snapshot().power == PowerState::On; }));
    EXPECT_NE(sim->ipmitool("chassis power status").find("Chassis Power is on"), std::string::npos);

    ControlResult r = control(ControlOp::PowerOff);
    EXPECT_EQ(r.status, ControlStatus::Ok) << r.message;
    EXPECT_EQ(r.message, "Chassis Power Control: Down/Off");
    EXPECT_NE(sim->ipmitool("chassis power status").find("Chassis Power is off"),
              std::string::npos);
    ASSERT_TRUE(waitFor([&] {
        ChassisSnapshot s = mgr->snapshot();
        return s.power == PowerState::Off && s.requested == PowerControl::None;
    }));

    r = control(ControlOp::PowerOn);
    EXPECT_EQ(r.status, ControlStatus::Ok) << r.message;
    EXPECT_NE(sim->ipmitool("chassis power status").find("Chassis Power is on"), std::string::npos);
    ASSERT_TRUE(waitFor([&] { return mgr->snapshot().power == PowerState::On; }));

    // Cycle: ipmi_sim powers off at once and back on after ~1 s; requested stays until then.
    r = control(ControlOp::PowerCycle);
    EXPECT_EQ(r.status, ControlStatus::Ok) << r.message;
    EXPECT_EQ(mgr->snapshot().requested, PowerControl::PowerCycle);
    ASSERT_TRUE(waitFor([&] {
        ChassisSnapshot s = mgr->snapshot();
        return s.power == PowerState::On && s.requested == PowerControl::None;
    }));
    EXPECT_EQ(sim->statusField("power_offs"), "2");
    EXPECT_EQ(sim->statusField("power_ons"), "2");

    r = control(ControlOp::HardReset);
    EXPECT_EQ(r.status, ControlStatus::Ok) << r.message;
    EXPECT_EQ(sim->statusField("resets"), "1");

    r = control(ControlOp::SoftShutdown);
    EXPECT_EQ(r.status, ControlStatus::Ok) << r.message;
    EXPECT_EQ(sim->statusField("soft_shutdowns"), "1");
    EXPECT_NE(sim->ipmitool("chassis power status").find("Chassis Power is off"),
              std::string::npos);
    ASSERT_TRUE(waitFor([&] { return mgr->snapshot().power == PowerState::Off; }));

    // Reset of a powered-off host: the BMC answers with an error completion code.
    r = control(ControlOp::HardReset);
    EXPECT_EQ(r.status, ControlStatus::BmcError) << r.message;
    EXPECT_NE(r.message.find("0xFF"), std::string::npos) << r.message;

    int powerEvents = 0;
    for (const Event& e : events) {
        powerEvents += e.type == EventType::ChassisPowerChanged ? 1 : 0;
    }
    EXPECT_GE(powerEvents, 5); // on (initial), off, on, off, on, off
}

TEST_F(ChassisSimTest, SensorReadingsMatchConsole) {
    make(config());
    ASSERT_TRUE(waitFor([&] { return sensor("CPU Temp").has_value(); }));
    sim->console("sensor_set_value 0x20 0 1 55 0");
    sim->console("sensor_set_value 0x20 0 3 210 0");
    ASSERT_TRUE(waitFor([&] {
        auto s = sensor("CPU Temp");
        return s && s->valueValid && s->value == 55;
    }));
    auto cpu = *sensor("CPU Temp");
    EXPECT_EQ(cpu.type, "Temperature");
    EXPECT_EQ(cpu.unit, "degrees C");
    EXPECT_EQ(cpu.upperNonCritical.value_or(-1), 75);
    EXPECT_EQ(cpu.upperCritical.value_or(-1), 85);
    EXPECT_EQ(cpu.state, SensorState::Nominal);
    ASSERT_TRUE(waitFor([&] { return sensor("12V") && sensor("12V")->value > 12.5; }));
    EXPECT_NEAR(sensor("12V")->value, 12.6, 0.001);
    EXPECT_EQ(sensor("12V")->unit, "V");
    auto fan = *sensor("FAN1");
    EXPECT_EQ(fan.unit, "RPM");
    EXPECT_EQ(fan.lowerCritical.value_or(-1), 200);
    std::string names;
    for (const SensorSnapshot& s : mgr->snapshot().sensors) {
        names += s.name + "|" + s.type + "|" + std::to_string(s.valueValid) + ";";
    }
    EXPECT_EQ(mgr->snapshot().sensors.size(), 5u) << names;

    // Over the upper non-critical threshold: warning state and a SensorThreshold event.
    sim->console("sensor_set_value 0x20 0 1 80 0");
    ASSERT_TRUE(waitFor([&] { return sensor("CPU Temp")->state == SensorState::Warning; }));
    ASSERT_TRUE(waitFor([&] {
        for (const Event& e : events) {
            if (e.type == EventType::SensorThreshold && e.value == 80) {
                return true;
            }
        }
        return false;
    }));
}

TEST_F(ChassisSimTest, RaisedTemperatureRaisesFanDutyPerCurve) {
    make(config());
    sim->console("sensor_set_value 0x20 0 1 35 0");
    activate();
    ASSERT_TRUE(activeAndArmed());
    ASSERT_TRUE(waitFor([&] { return sim->statusField("duty0") == "25"; })); // curve(35)
    EXPECT_EQ(sim->statusField("sm_mode"), "1");                             // full: manual
    ASSERT_TRUE(waitFor([&] { return mgr->snapshot().fans[0].rpm.value_or(0) == 2500; }));
    EXPECT_EQ(mgr->snapshot().fans[0].dutyPct, 25u);
    EXPECT_EQ(mgr->snapshot().fans[1].dutyPct, 40u); // curve(30) of zone 1

    sim->console("sensor_set_value 0x20 0 1 60 0");
    ASSERT_TRUE(waitFor([&] { return sim->statusField("duty0") == "70"; }));
    // Independent check through ipmitool: get zone 0 duty.
    EXPECT_NE(sim->ipmitool("raw 0x30 0x70 0x66 0x00 0x00").find("46"), std::string::npos);
    // Slightly cooler: within the hysteresis, the duty holds.
    sim->console("sensor_set_value 0x20 0 1 58 0");
    std::this_thread::sleep_for(1000ms);
    waitFor([] { return false; }, 200ms);
    EXPECT_EQ(sim->statusField("duty0"), "70");
    // Clearly cooler: comes down to curve(50 + 3) = 49.
    sim->console("sensor_set_value 0x20 0 1 50 0");
    ASSERT_TRUE(waitFor([&] { return sim->statusField("duty0") == "49"; }));

    // Operator floor: the zone never runs below it.
    ControlResult r = control(ControlOp::FanDuty, 0, 80);
    EXPECT_EQ(r.status, ControlStatus::Ok) << r.message;
    EXPECT_EQ(sim->statusField("duty0"), "80");
    r = control(ControlOp::FanModeAuto);
    EXPECT_EQ(r.status, ControlStatus::Ok) << r.message;
    EXPECT_EQ(sim->statusField("sm_mode"), "0");
    EXPECT_EQ(mgr->snapshot().fans[0].mode, FanMode::Auto);
    r = control(ControlOp::FanModeManual);
    EXPECT_EQ(r.status, ControlStatus::Ok) << r.message;
    // The zone's history survives the mode switch: still 49 at 50 degrees (hysteresis).
    ASSERT_TRUE(waitFor([&] { return sim->statusField("duty0") == "49"; }));
    EXPECT_EQ(control(ControlOp::FanDuty, 7, 50).status, ControlStatus::InvalidArgument);
    EXPECT_EQ(control(ControlOp::FanDuty, 0, 150).status, ControlStatus::InvalidArgument);
    ASSERT_TRUE(mgr->stats().takeoverToFirstAckMs.has_value());
}

TEST_F(ChassisSimTest, FailSafeWhileReadingsAreMissing) {
    ChassisConfig c = config();
    c.zones[0].tempSensors = {"No Such Sensor"};
    make(c);
    activate();
    ASSERT_TRUE(waitFor([&] { return sim->statusField("duty0") == "100"; }));
    ASSERT_TRUE(waitFor([&] { return sim->statusField("duty1") == "40"; })); // zone 1 has readings
    ChassisSnapshot s = mgr->snapshot();
    EXPECT_TRUE(s.failSafe);
    EXPECT_EQ(s.fans[0].mode, FanMode::FailSafe);
    EXPECT_EQ(s.fans[1].mode, FanMode::Manual);
}

TEST_F(ChassisSimTest, StandbyRefusesEveryControlCommand) {
    make(config());
    ASSERT_TRUE(waitFor([&] { return mgr->snapshot().access == BmcAccess::Ok; }));
    for (ControlOp op : {ControlOp::PowerOn, ControlOp::PowerOff, ControlOp::PowerCycle,
                         ControlOp::HardReset, ControlOp::SoftShutdown, ControlOp::FanModeAuto,
                         ControlOp::FanModeManual, ControlOp::FanDuty}) {
        ControlResult r = control(op, 0, 50);
        EXPECT_EQ(r.status, ControlStatus::NotActive) << static_cast<int>(op) << r.message;
    }
    EXPECT_EQ(mgr->stats().commandsRefused, 8u);
    // Active, then standby again: the thermal policy stops too.
    activate();
    ASSERT_TRUE(activeAndArmed());
    mgr->setActive(false);
    waitFor([] { return false; }, 300ms);
    std::string before = sim->statusField("oem_cmds");
    sim->console("sensor_set_value 0x20 0 1 68 0");
    waitFor([] { return false; }, 1500ms);
    EXPECT_EQ(sim->statusField("oem_cmds"), before);
    EXPECT_EQ(control(ControlOp::PowerOff).status, ControlStatus::NotActive);
    EXPECT_EQ(sim->statusField("power_offs"), "0");
    // Reads are still allowed on the standby.
    std::optional<ChassisSnapshot> snap;
    mgr->refresh([&](ChassisSnapshot s) { snap = s; });
    ASSERT_TRUE(waitFor([&] { return snap.has_value(); }));
    EXPECT_EQ(snap->power, PowerState::On);
}

TEST_F(ChassisSimTest, WrongPasswordIsAuthFailedWithinTimeout) {
    make(config("wrong"));
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(waitFor([&] { return mgr->bmcAccess() == BmcAccess::AuthFailed; }, 4000ms));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3000ms);
    EXPECT_FALSE(mgr->bmcReachable());
    ChassisSnapshot s = mgr->snapshot();
    EXPECT_NE(s.lastError.find("password"), std::string::npos) << s.lastError;
    EXPECT_EQ(s.lastError.find("wrong"), std::string::npos); // no secret in messages
    activate();
    ControlResult r = control(ControlOp::PowerOff);
    EXPECT_EQ(r.status, ControlStatus::BmcError) << r.message;
    EXPECT_EQ(sim->statusField("power_offs"), "0");
}

TEST_F(ChassisSimTest, StoppedBmcTimesOutAndRecoversAfterSigcont) {
    make(config());
    activate();
    ASSERT_TRUE(activeAndArmed());
    sim->pause();
    auto t0 = std::chrono::steady_clock::now();
    // The core io_context stays responsive while the BMC is dead.
    asio::steady_timer tick(io);
    int ticks = 0;
    std::function<void(std::error_code)> onTick = [&](std::error_code ec) {
        if (ec) {
            return;
        }
        ++ticks;
        tick.expires_after(50ms);
        tick.async_wait(onTick);
    };
    tick.expires_after(50ms);
    tick.async_wait(onTick);
    ASSERT_TRUE(waitFor([&] { return mgr->bmcAccess() == BmcAccess::Unreachable; }, 5000ms));
    auto detect = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(detect, 1500ms + 200ms + 1000ms); // session timeout + poll + slack
    EXPECT_FALSE(mgr->bmcReachable());
    EXPECT_NE(mgr->snapshot().lastError.find("timeout"), std::string::npos)
        << mgr->snapshot().lastError;
    ControlResult r = control(ControlOp::PowerOff);
    EXPECT_EQ(r.status, ControlStatus::BmcError) << r.message;
    EXPECT_GT(ticks, 20);
    sim->resume();
    ASSERT_TRUE(waitFor([&] { return mgr->bmcAccess() == BmcAccess::Ok; }, 6000ms));
    bool down = false, up = false;
    for (const Event& e : events) {
        down = down || e.type == EventType::BmcUnreachable;
        up = up || e.type == EventType::BmcRecovered;
    }
    EXPECT_TRUE(down);
    EXPECT_TRUE(up);
    EXPECT_EQ(control(ControlOp::PowerOff).status, ControlStatus::Ok);
    tick.cancel();
}

TEST_F(ChassisSimTest, OemCommandsAnswerWrongRequestsWithCompletionCodes) {
    RawResponse rs;
    const std::uint8_t fanModeFull[] = {0x01, 0x01};
    {
        // At the default privilege, OPERATOR, the test bed's BMC refuses OEM commands (0xD4):
        // this is why a fan profile makes the parser default to ADMINISTRATOR.
        IpmiSession op(endpoint(*sim));
        ASSERT_EQ(op.endpoint().privilege, Privilege::Operator);
        ASSERT_FALSE(op.raw(0x30, 0x45, fanModeFull, rs));
        EXPECT_EQ(rs.cc, 0xD4);
    }
    BmcEndpoint admin = endpoint(*sim);
    admin.privilege = Privilege::Admin;
    IpmiSession s(admin);
    const std::uint8_t badZone[] = {0x66, 0x01, 0x07, 0x40};
    ASSERT_FALSE(s.raw(0x30, 0x70, badZone, rs));
    EXPECT_EQ(rs.cc, 0xC9);
    const std::uint8_t shortReq[] = {0x01};
    ASSERT_FALSE(s.raw(0x30, 0x45, shortReq, rs));
    EXPECT_EQ(rs.cc, 0xC7);
    const std::uint8_t badMode[] = {0x01, 0x03};
    ASSERT_FALSE(s.raw(0x30, 0x45, badMode, rs));
    EXPECT_EQ(rs.cc, 0xCC);
    const std::uint8_t dellDuty[] = {0x02, 0xff, 0x30};
    ASSERT_FALSE(s.raw(0x30, 0x30, dellDuty, rs));
    EXPECT_EQ(rs.cc, 0xD5); // not in manual mode
    EXPECT_NE(completionCode(0xC9).message().find("0xC9"), std::string::npos);
    const std::uint8_t dellManual[] = {0x01, 0x00};
    ASSERT_FALSE(s.raw(0x30, 0x30, dellManual, rs));
    EXPECT_EQ(rs.cc, 0x00);
    ASSERT_FALSE(s.raw(0x30, 0x30, dellDuty, rs));
    EXPECT_EQ(rs.cc, 0x00);
    EXPECT_EQ(sim->statusField("duty1"), "48");
}

TEST_F(ChassisSimTest, SessionsAreClosedProperly) {
    // ipmi_sim has 63 session slots: 80 open/close rounds only work if every close frees one.
    for (int i = 0; i < 80; ++i) {
        IpmiSession s(endpoint(*sim));
        RawResponse rs;
        ASSERT_FALSE(s.raw(0x00, 0x01, {}, rs)) << "round " << i << ": " << s.lastErrorText();
    }
    for (int i = 0; i < 3; ++i) {
        make(config());
        ASSERT_TRUE(waitFor([&] { return mgr->bmcReachable(); }));
        mgr->stop();
    }
}

TEST_F(ChassisSimTest, FencingPowersThePeerOffAfterTheSlotDelay) {
    hs::testing::IpmiSim peer;
    ChassisConfig c = config();
    c.fencing.enabled = true;
    c.fencing.peer = endpoint(peer);
    c.fencing.delayPerSlot = 300ms;
    c.fencing.confirmTimeout = 3000ms;
    make(c);
    std::optional<std::pair<bool, std::string>> res;
    auto t0 = std::chrono::steady_clock::now();
    mgr->fencePeer(1, [&](bool ok, std::string msg) { res = {ok, msg}; });
    ASSERT_TRUE(waitFor([&] { return res.has_value(); }, 8000ms));
    EXPECT_TRUE(res->first) << res->second;
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
    EXPECT_NE(peer.ipmitool("chassis power status").find("Chassis Power is off"),
              std::string::npos);
    EXPECT_EQ(sim->statusField("power"), "1"); // our own chassis untouched
    // Already off: still a success, nothing sent.
    res.reset();
    mgr->fencePeer(0, [&](bool ok, std::string msg) { res = {ok, msg}; });
    ASSERT_TRUE(waitFor([&] { return res.has_value(); }, 8000ms));
    EXPECT_TRUE(res->first);
    EXPECT_NE(res->second.find("already off"), std::string::npos);
    // Cancelled during the delay: the peer is left alone.
    peer.ipmitool("chassis power on");
    res.reset();
    mgr->fencePeer(5, [&](bool ok, std::string msg) { res = {ok, msg}; });
    waitFor([] { return false; }, 100ms);
    mgr->cancelFence();
    ASSERT_TRUE(waitFor([&] { return res.has_value(); }, 3000ms));
    EXPECT_FALSE(res->first);
    EXPECT_EQ(res->second, "cancelled");
    EXPECT_EQ(peer.statusField("power"), "1");
}

TEST_F(ChassisSimTest, FencingDisabledByDefault) {
    make(config());
    std::optional<std::pair<bool, std::string>> res;
    mgr->fencePeer(0, [&](bool ok, std::string msg) { res = {ok, msg}; });
    ASSERT_TRUE(waitFor([&] { return res.has_value(); }));
    EXPECT_FALSE(res->first);
    EXPECT_EQ(res->second, "fencing disabled");
}

// The command lease, with the BMC's own counters as the witness: while the core has stopped
// renewing (the node still believes it is active: active_ is true), neither the thermal policy
// nor an operator's power, fan duty or fan mode command reaches the BMC; once renewed, they do.
TEST_F(ChassisSimTest, ExpiredLeaseLetsNoCommandReachTheBmc) {
    make(config(), 50ms);
    sim->console("sensor_set_value 0x20 0 1 35 0");
    mgr->setActive(true);
    startCoreTicks(600ms);
    ASSERT_TRUE(activeAndArmed());
    ASSERT_TRUE(waitFor([&] { return sim->statusField("duty0") == "25"; })); // curve(35)
    ASSERT_TRUE(mgr->isActive());

    // The core stops: no renewal. Wait until the last one has run out.
    ticking = false;
    coreTick->cancel();
    ASSERT_TRUE(waitFor([&] { return !mgr->leaseHeld(); }, 2000ms));
    std::string ctlBefore = sim->statusField("ctl_cmds");
    std::string oemBefore = sim->statusField("oem_cmds");

    // The temperature moves: the thermal policy wants 70 % but may not send it. The BMC is the
    // witness: no chassis-changing request arrives, the zone stays at 25 %.
    sim->console("sensor_set_value 0x20 0 1 60 0");
    ASSERT_TRUE(waitFor([&] {
        auto s = sensor("CPU Temp");
        return s && s->value == 60;
    }));
    waitFor([] { return false; }, 1000ms); // more sensor polls, each one a thermal round
    EXPECT_EQ(sim->statusField("ctl_cmds"), ctlBefore);
    EXPECT_EQ(sim->statusField("duty0"), "25");
    EXPECT_GT(mgr->stats().commandsRefusedLease, 0u);
    // Operator commands of every kind: refused with a clear error, nothing sent.
    for (auto [op, value] :
         {std::pair{ControlOp::PowerOff, 0}, std::pair{ControlOp::PowerCycle, 0},
          std::pair{ControlOp::FanDuty, 90}, std::pair{ControlOp::FanModeAuto, 0},
          std::pair{ControlOp::FanModeManual, 0}}) {
        ControlResult r = control(op, 0, value);
        EXPECT_EQ(r.status, ControlStatus::NotActive) << static_cast<int>(op) << " " << r.message;
        EXPECT_NE(r.message.find("lease"), std::string::npos) << r.message;
    }
    EXPECT_TRUE(mgr->isActive()); // still believes it is active: only the lease stopped it
    EXPECT_EQ(sim->statusField("ctl_cmds"), ctlBefore);
    EXPECT_EQ(sim->statusField("oem_cmds"), oemBefore);
    EXPECT_EQ(sim->statusField("duty0"), "25");
    EXPECT_EQ(sim->statusField("sm_mode"), "1");
    EXPECT_EQ(sim->statusField("power_offs"), "0");
    EXPECT_GE(mgr->stats().commandsRefusedLease, 5u);
    EXPECT_EQ(mgr->stats().commandsRefused, 0u);

    // Renewed again: the thermal policy's 70 % and an operator's power command go out.
    startCoreTicks(600ms);
    ASSERT_TRUE(waitFor([&] { return sim->statusField("duty0") == "70"; }));
    ControlResult r = control(ControlOp::PowerOff);
    EXPECT_EQ(r.status, ControlStatus::Ok) << r.message;
    EXPECT_EQ(sim->statusField("power_offs"), "1");
    EXPECT_NE(sim->statusField("ctl_cmds"), ctlBefore);
}

// An operator's command that finds the lease just expired is not failed at once: it waits (on
// the chassis worker, not the core) for the core's renewal and goes out once it comes.
TEST_F(ChassisSimTest, CommandWaitsForALateRenewal) {
    ChassisConfig c = config();
    c.fanProfile = FanProfileKind::None; // no thermal policy: only the operator's command waits
    c.zones.clear();
    make(c, 5000ms);
    mgr->setActive(true);
    mgr->renewLease(std::chrono::steady_clock::now() + 300ms);
    ASSERT_TRUE(waitFor([&] { return mgr->snapshot().access == BmcAccess::Ok; }));
    ASSERT_TRUE(waitFor([&] { return !mgr->leaseHeld(); }, 2000ms));
    std::optional<ControlResult> res;
    ControlRequest rq;
    rq.op = ControlOp::PowerOff;
    rq.origin = "test";
    mgr->submit(rq, [&res](ControlResult r) { res = r; });
    waitFor([] { return false; }, 500ms);
    EXPECT_FALSE(res.has_value()); // waiting for the renewal, nothing sent
    EXPECT_EQ(sim->statusField("power_offs"), "0");
    mgr->renewLease(std::chrono::steady_clock::now() + 3600s); // the core, late
    ASSERT_TRUE(waitFor([&] { return res.has_value(); }));
    EXPECT_EQ(res->status, ControlStatus::Ok) << res->message;
    EXPECT_EQ(sim->statusField("power_offs"), "1");
    EXPECT_EQ(mgr->stats().leaseWaits, 1u);
    EXPECT_EQ(mgr->stats().commandsRefusedLease, 0u);

    // Demoted while a command waits: refused as not active, nothing sent.
    ASSERT_TRUE(waitFor([&] { return mgr->snapshot().power == PowerState::Off; }));
    mgr->setActive(false);
    mgr->setActive(true); // active again, but without a lease
    res.reset();
    rq.op = ControlOp::PowerOn;
    mgr->submit(rq, [&res](ControlResult r) { res = r; });
    waitFor([] { return false; }, 300ms);
    EXPECT_FALSE(res.has_value());
    mgr->setActive(false);
    ASSERT_TRUE(waitFor([&] { return res.has_value(); }));
    EXPECT_EQ(res->status, ControlStatus::NotActive) << res->message;
    EXPECT_EQ(sim->statusField("power_ons"), "0");
}

// Replication (issue 9): a hot takeover with this node's own fresh readings sends no blind
// fail-safe duty and drives the inherited floor at once. The witness is the BMC's own record of
// every chassis-changing request (the plugin's cmd_log), not the manager's word; the same
// witness then sees the fail-safe duty of a takeover that is not hot.
TEST_F(ChassisSimTest, HotTakeoverSendsNoFailSafeDutyAndDrivesTheInheritedFloor) {
    std::string logPath = hs::testing::makeTempDir("hs-hot") + "/cmd.log";
    hs::testing::IpmiSimOptions o;
    o.pluginOptions += " cmd_log=" + logPath;
    sim = std::make_unique<hs::testing::IpmiSim>(o);
    sim->console("sensor_set_value 0x20 0 1 35 0"); // zone 0: curve(35) = 25 %
    ChassisConfig c = config();
    c.sensorPoll = 1000ms; // readings are fresh for 2 s
    std::vector<IntentUpdate> intents;
    mgr = std::make_unique<ChassisManager>(io, c);
    mgr->onIntent([&intents](const IntentUpdate& u) { intents.push_back(u); });
    mgr->start();
    auto bmcLog = [&logPath] {
        std::ifstream in(logPath);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    };
    const std::string failSafe0 = "kind=sm_zone_duty data=66010064"; // zone 0 at 100 %
    const std::string failSafe1 = "kind=sm_zone_duty data=66010164"; // zone 1 at 100 %

    // The standby reads its own sensors; take over right after a read came back.
    ASSERT_TRUE(waitFor([&] {
        auto s = sensor("CPU Temp");
        return s && s->valueValid && s->value == 35;
    }));
    std::uint64_t polls = mgr->stats().sensorPolls;
    ASSERT_TRUE(waitFor([&] { return mgr->stats().sensorPolls > polls; }, 3000ms));
    ReplicatedIntent in;
    in.hot = true;
    in.fanMode = FanMode::Manual;
    in.floors = {60}; // zone 0; zone 1 has none
    mgr->setActive(true, in);
    mgr->renewLease(std::chrono::steady_clock::now() + 3600s);
    ASSERT_TRUE(waitFor([&] { return sim->statusField("duty0") == "60"; })) << bmcLog();
    ASSERT_TRUE(waitFor([&] { return sim->statusField("duty1") == "40"; })); // curve(30)
    EXPECT_EQ(sim->statusField("sm_mode"), "1");
    std::string log = bmcLog();
    EXPECT_EQ(log.find(failSafe0), std::string::npos) << log;
    EXPECT_EQ(log.find(failSafe1), std::string::npos) << log;
    EXPECT_NE(log.find("kind=sm_zone_duty data=6601003c"), std::string::npos) << log; // 60 %
    EXPECT_FALSE(mgr->snapshot().failSafe);
    ASSERT_TRUE(waitFor([&] { return !intents.empty(); }));
    EXPECT_TRUE(std::holds_alternative<FanModeChanged>(intents[0]));
    for (const IntentUpdate& u : intents) {
        const auto* m = std::get_if<FanModeChanged>(&u);
        EXPECT_TRUE(m && m->mode == FanMode::Manual); // never fail-safe
    }

    // An operator's floor reaches the BMC and the core as an intent update.
    intents.clear();
    ControlResult r = control(ControlOp::FanDuty, 1, 70);
    ASSERT_EQ(r.status, ControlStatus::Ok) << r.message;
    ASSERT_TRUE(waitFor([&] { return !intents.empty(); }));
    const auto* f = std::get_if<FanFloorChanged>(&intents.back());
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->zone, 1u);
    EXPECT_EQ(f->floorPct, std::optional<unsigned>(70));

    // The witness sees a fail-safe when there is one: a takeover without replicated intent.
    mgr->setActive(false);
    mgr->setActive(true);
    mgr->renewLease(std::chrono::steady_clock::now() + 3600s);
    EXPECT_TRUE(waitFor([&] { return bmcLog().find(failSafe0) != std::string::npos; })) << bmcLog();
    std::filesystem::remove_all(std::filesystem::path(logPath).parent_path());
}

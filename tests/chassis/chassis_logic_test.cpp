// ChassisLogic on a virtual clock against the hand-written FakeBmc: the takeover order, the
// gate's refusal (nothing reaches the BMC), thermal transitions and hysteresis, operator floors,
// and the classification of BMC errors into the access state the heartbeat carries.
#include "chassis/chassis_logic.hpp"
#include "chassis/command_lease.hpp"
#include "chassis/fan_profile.hpp"
#include "chassis/ipmi_error.hpp"
#include "fake_bmc.hpp"

#include <freeipmi/freeipmi.h>
#include <gtest/gtest.h>

using namespace hs;
using namespace hs::chassis;
using hs::chassis::test::FakeBmc;
using namespace std::chrono_literals;

namespace {

// The logic's way out, over a FakeBmc. The role and a CommandLease on the virtual clock stand in
// for what ChassisControl checks as a command leaves: refused means the fake never sees it.
class TestPort final : public BmcPort {
  public:
    FakeBmc bmc;
    bool active = false;
    std::uint64_t gen = 0;
    CommandLease lease;
    TimePoint now{};

    bool roleActive() const override { return active; }
    std::uint64_t roleGen() const override { return gen; }
    bool sessionOpen() const override { return bmc.isOpen(); }
    BmcReply read(const RawRequest& rq) override {
        BmcReply r;
        r.ec = bmc.raw(rq, r.rs);
        return finish(r);
    }
    BmcReply control(const RawRequest& rq) override {
        BmcReply r;
        bool refused = false;
        r.ec = bmc.raw(rq, r.rs, [&] {
            if (!active) {
                r.outcome = GateOutcome::NotActive;
                r.text = "not active";
            } else if (!lease.held(now)) {
                r.outcome = GateOutcome::LeaseExpired;
                r.text = "lease expired; nothing was sent";
            } else {
                return true;
            }
            refused = true;
            return false;
        });
        if (refused) {
            r.sessionOpens = bmc.opens();
            r.at = now;
            return r;
        }
        return finish(r);
    }

  private:
    BmcReply finish(BmcReply& r) {
        r.outcome = r.ec ? GateOutcome::Failed : GateOutcome::Sent;
        r.text = r.ec ? bmc.lastErrorText() : "";
        r.sessionOpens = bmc.opens();
        r.at = now;
        return r;
    }
};

ChassisConfig supermicroConfig() {
    ChassisConfig cfg;
    cfg.bmc.interface = BmcInterface::Lanplus;
    cfg.bmc.host = "127.0.0.1";
    cfg.fanProfile = FanProfileKind::Supermicro;
    cfg.failsafeDutyPct = 100;
    ZoneConfig z;
    z.zone = 0;
    z.name = "cpu";
    z.tempSensors = {"CPU Temp"};
    z.fanSensors = {"FAN1"};
    z.curve = {{30, 20}, {50, 40}, {70, 100}};
    z.hysteresisC = 3;
    cfg.zones.push_back(z);
    return cfg;
}

SensorReadResult readings(double cpuTemp) {
    SensorReadResult r;
    SensorSnapshot t;
    t.index = 1;
    t.name = "CPU Temp";
    t.value = cpuTemp;
    t.valueValid = true;
    t.state = SensorState::Nominal;
    SensorSnapshot f;
    f.index = 2;
    f.name = "FAN1";
    f.value = 5000;
    f.valueValid = true;
    f.state = SensorState::Nominal;
    r.sensors = {t, f};
    return r;
}

bool isDuty(const RawRequest& r, unsigned duty) {
    return r.netfn == kNetfnOem && r.cmd == 0x70 && r.data.size() == 4 && r.data[3] == duty;
}
bool isManualMode(const RawRequest& r) {
    return r.netfn == kNetfnOem && r.cmd == 0x45 && r.data == std::vector<std::uint8_t>{1, 1};
}

class ChassisLogicTest : public ::testing::Test {
  protected:
    ChassisConfig cfg = supermicroConfig();
    TestPort port;
    ChassisLogic logic{cfg, port, [] { return std::int64_t{0}; }};

    void advance(Duration d) { port.now += d; }
    // The core's side of a takeover: role, generation and a fresh lease.
    void takeOver() {
        port.active = true;
        port.gen += 1;
        port.lease.renew(port.now + 30ms);
        logic.becomeActive(port.gen, port.now, port.now);
    }
    // A takeover whose policy is armed at cpuTemp.
    void activeAt(double cpuTemp) {
        takeOver();
        logic.onSensors(readings(cpuTemp), port.gen, 5.0, port.now);
        ASSERT_TRUE(logic.policyArmed());
    }
};

} // namespace

TEST_F(ChassisLogicTest, TakeoverIsFailSafeThenReconcileThenPolicyOnFreshReadings) {
    port.bmc.power = true;
    std::uint64_t startedBefore = port.gen; // a sensor read already running at the takeover
    takeOver();
    // 1. Fail-safe first: fan mode manual, then the fail-safe duty, before anything else.
    ASSERT_EQ(port.bmc.changes.size(), 2u);
    EXPECT_TRUE(isManualMode(port.bmc.changes[0]));
    EXPECT_TRUE(isDuty(port.bmc.changes[1], 100));
    // 2. Then a status read reconciles: the chassis' answer is adopted, no power command sent.
    EXPECT_EQ(port.bmc.statusAfterChanges, std::vector<std::size_t>{2});
    EXPECT_TRUE(port.bmc.powerCalls.empty());
    EXPECT_EQ(logic.snapshot().power, PowerState::On);
    EXPECT_EQ(logic.snapshot().requested, PowerControl::None);
    EXPECT_TRUE(logic.snapshot().failSafe);
    EXPECT_FALSE(logic.policyArmed());
    // 3. Readings that began before the takeover do not leave the fail-safe...
    logic.onSensors(readings(40), startedBefore, 5.0, port.now);
    EXPECT_FALSE(logic.policyArmed());
    EXPECT_EQ(port.bmc.duty[0], 100u);
    EXPECT_EQ(port.bmc.changes.size(), 2u);
    // ...readings that began after it arm the policy: curve(40 C) = 30 %.
    logic.onSensors(readings(40), port.gen, 5.0, port.now);
    EXPECT_TRUE(logic.policyArmed());
    EXPECT_EQ(port.bmc.duty[0], 30u);
    EXPECT_FALSE(logic.snapshot().failSafe);
    EXPECT_EQ(logic.snapshot().fans[0].mode, FanMode::Manual);
}

TEST_F(ChassisLogicTest, ARequestedTransitionIsDroppedNotReissuedOnTakeover) {
    activeAt(40);
    port.bmc.slowPower = true; // the chassis confirms at the next status read
    ControlRequest on{ControlOp::PowerOn, 0, 0, "test"};
    EXPECT_EQ(logic.control(on, port.now).status, ControlStatus::Ok);
    EXPECT_EQ(logic.snapshot().requested, PowerControl::PowerUp);
    EXPECT_EQ(logic.snapshot().power, PowerState::Off); // requested, not yet confirmed
    EXPECT_TRUE(logic.takeConfirmSoon());
    // Demoted and promoted again before it was confirmed: the new activation reconciles.
    port.active = false;
    ++port.gen;
    logic.becomeStandby();
    takeOver();
    EXPECT_EQ(logic.snapshot().requested, PowerControl::None);
    EXPECT_EQ(port.bmc.powerCalls.size(), 1u);         // never re-issued
    EXPECT_EQ(logic.snapshot().power, PowerState::On); // what the chassis said
}

TEST_F(ChassisLogicTest, GateRefusalSendsNothingAndLeavesNoFloor) {
    activeAt(40);
    std::size_t before = port.bmc.changes.size();
    advance(100ms); // the lease (30 ms) expired: the core stopped renewing it
    ControlResult r = logic.control({ControlOp::FanDuty, 0, 80, "test"}, port.now);
    EXPECT_EQ(r.status, ControlStatus::NotActive);
    EXPECT_NE(r.message.find("nothing was sent"), std::string::npos) << r.message;
    r = logic.control({ControlOp::PowerOff, 0, 0, "test"}, port.now);
    EXPECT_EQ(r.status, ControlStatus::NotActive);
    EXPECT_EQ(port.bmc.changes.size(), before); // nothing reached the BMC
    EXPECT_TRUE(port.bmc.powerCalls.empty());
    EXPECT_GE(port.bmc.refusedBeforeSend, 2);
    EXPECT_GE(logic.stats().commandsRefusedLease, 2u);
    EXPECT_FALSE(logic.floor(0).has_value()); // a refused floor does not take effect later
    EXPECT_EQ(logic.access(), BmcAccess::Ok); // nothing was asked of the BMC
    // Renewed: the next sensor round drives the curve, not the refused 80 %.
    port.lease.renew(port.now + 30ms);
    logic.onSensors(readings(41), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 31u);
    // A standby is refused before any exchange.
    port.active = false;
    EXPECT_EQ(logic.control({ControlOp::PowerOn, 0, 0, "test"}, port.now).status,
              ControlStatus::NotActive);
    EXPECT_TRUE(port.bmc.powerCalls.empty());
}

TEST_F(ChassisLogicTest, ThermalRisesAtOnceAndFallsWithHysteresis) {
    activeAt(40);
    EXPECT_EQ(port.bmc.duty[0], 30u);
    logic.onSensors(readings(60), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 70u); // rises at once
    std::size_t sent = port.bmc.changes.size();
    logic.onSensors(readings(58), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 70u);         // curve(58 + 3) = 73: no lower
    EXPECT_EQ(port.bmc.changes.size(), sent); // and nothing re-sent
    logic.onSensors(readings(55), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 64u); // curve(55 + 3) = 64
    // A zone that loses its reading goes to the fail-safe duty; so do all on a failed read.
    SensorReadResult none = readings(50);
    none.sensors[0].valueValid = false;
    logic.onSensors(none, port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 100u);
    EXPECT_TRUE(logic.snapshot().failSafe);
    logic.onSensors(readings(40), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 30u);
    EXPECT_FALSE(logic.snapshot().failSafe);
    SensorReadResult lost;
    lost.ec = ipmimonitoringError(1);
    lost.errorText = "connection timeout";
    logic.onSensors(lost, port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 100u);
    EXPECT_TRUE(logic.snapshot().failSafe);
}

TEST_F(ChassisLogicTest, OperatorFloorRaisesTheCurveAndManualModeClearsIt) {
    activeAt(40);
    ControlResult r = logic.control({ControlOp::FanDuty, 0, 80, "test"}, port.now);
    ASSERT_EQ(r.status, ControlStatus::Ok) << r.message;
    EXPECT_EQ(port.bmc.duty[0], 80u);
    logic.onSensors(readings(45), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 80u); // the floor holds while the curve asks for less
    logic.onSensors(readings(75), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 100u); // the curve can still raise it
    r = logic.control({ControlOp::FanModeManual, 0, 0, "test"}, port.now);
    ASSERT_EQ(r.status, ControlStatus::Ok) << r.message;
    EXPECT_FALSE(logic.floor(0).has_value());
    logic.onSensors(readings(40), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 33u); // back on the curve, falling: curve(40 + 3)
    // fan mode auto hands the fans to the BMC: the policy sends no more duties.
    r = logic.control({ControlOp::FanModeAuto, 0, 0, "test"}, port.now);
    ASSERT_EQ(r.status, ControlStatus::Ok);
    EXPECT_FALSE(port.bmc.fanManual);
    std::size_t sent = port.bmc.changes.size();
    logic.onSensors(readings(65), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.changes.size(), sent);
    EXPECT_EQ(logic.snapshot().fans[0].mode, FanMode::Auto);
}

TEST_F(ChassisLogicTest, BmcErrorsAreClassifiedAndBackedOff) {
    auto accessEvents = [this] {
        std::vector<Event> out;
        for (Event& e : logic.takeEvents()) {
            if (e.type == EventType::BmcUnreachable || e.type == EventType::BmcRecovered) {
                out.push_back(std::move(e));
            }
        }
        return out;
    };
    logic.pollStatus(port.now);
    EXPECT_EQ(logic.access(), BmcAccess::Ok);
    EXPECT_TRUE(accessEvents().empty()); // unknown -> ok is no recovery
    // A refused login: AuthFailed, one BmcUnreachable event naming it.
    port.bmc.dropSession();
    port.bmc.failOpen = freeipmiError(IPMI_ERR_PASSWORD_INVALID);
    port.bmc.failText = "password invalid";
    logic.pollStatus(port.now);
    EXPECT_EQ(logic.access(), BmcAccess::AuthFailed);
    std::vector<Event> ev = accessEvents();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].type, EventType::BmcUnreachable);
    EXPECT_NE(ev[0].text.find("auth_failed"), std::string::npos) << ev[0].text;
    EXPECT_NE(logic.snapshot().lastError.find("password invalid"), std::string::npos);
    // Backoff: within retry_min no new attempt reaches the BMC.
    int opens = port.bmc.openCalls;
    advance(cfg.retryMin / 2);
    logic.pollStatus(port.now);
    EXPECT_EQ(port.bmc.openCalls, opens);
    EXPECT_GE(logic.nextStatusDelay(port.now), cfg.retryMin / 2);
    // After it, the BMC answers again: Ok and BmcRecovered.
    port.bmc.failOpen.reset();
    advance(cfg.retryMin);
    logic.pollStatus(port.now);
    EXPECT_EQ(logic.access(), BmcAccess::Ok);
    ev = accessEvents();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].type, EventType::BmcRecovered);
    // A timeout is Unreachable; node busy (completion code 0xC0) is Busy; another completion
    // code is the BMC answering: access stays Ok.
    port.bmc.failRaw = freeipmiError(IPMI_ERR_SESSION_TIMEOUT);
    logic.pollStatus(port.now);
    EXPECT_EQ(logic.access(), BmcAccess::Unreachable);
    port.bmc.failRaw.reset();
    advance(cfg.retryMax);
    port.bmc.answerCc = 0xC0;
    logic.pollStatus(port.now);
    EXPECT_EQ(logic.access(), BmcAccess::Busy);
    port.bmc.answerCc = 0xC1;
    logic.pollStatus(port.now);
    EXPECT_EQ(logic.access(), BmcAccess::Ok);
}

TEST_F(ChassisLogicTest, ANewSessionReassertsTheFanMode) {
    activeAt(40);
    port.bmc.dropSession(); // the BMC forgot the session (and, with it, the fan mode)
    port.bmc.fanManual = false;
    logic.onSensors(readings(60), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 70u);
    EXPECT_EQ(logic.stats().sessionOpens, 2u);
    // The new session is seen with that exchange's reply: the next round asserts the mode again.
    logic.onSensors(readings(60), port.gen, 5.0, port.now);
    EXPECT_TRUE(port.bmc.fanManual);
    EXPECT_EQ(port.bmc.duty[0], 70u);
}

// The chassis logs name operations, power states and access states by base's toString, never by
// number: "control=powerUp", not "control=1".
TEST_F(ChassisLogicTest, LogsNameEnumsNotNumbers) {
    activeAt(40);
    port.bmc.slowPower = true;
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(logic.control({ControlOp::PowerOn, 0, 0, "test"}, port.now).status,
              ControlStatus::Ok);
    logic.pollStatus(port.now); // the chassis confirms the power-up
    port.bmc.dropSession();
    port.bmc.failOpen = freeipmiError(IPMI_ERR_PASSWORD_INVALID);
    logic.pollStatus(port.now);
    std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(log.find("event=power_changed power=on was=off"), std::string::npos) << log;
    EXPECT_NE(log.find("event=power_confirmed control=powerUp "), std::string::npos) << log;
    EXPECT_NE(log.find("event=bmc_access state=authFailed from=ok "), std::string::npos) << log;
}

// ChassisLogic on a virtual clock against the hand-written FakeBmc: the takeover order, the
// gate's refusal (nothing reaches the BMC), thermal transitions and hysteresis, operator floors,
// and the classification of BMC errors into the access state the heartbeat carries; and for
// replication, the intent updates and what a takeover inherits (ReplicationTest).
#include "chassis/chassis_logic.hpp"
#include "chassis/command_lease.hpp"
#include "chassis/fan_profile.hpp"
#include "chassis/ipmi_error.hpp"
#include "fake_bmc.hpp"

#include <algorithm>
#include <fmt/core.h>
#include <freeipmi/freeipmi.h>
#include <gtest/gtest.h>
#include <string>

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

// A reload swaps the configuration between two steps: nothing is sent by the swap itself (no
// fail-safe burst, no power command); the next readings command what the NEW curve gives, from a
// fresh history (no hysteresis carried over from the old curve); the new fail-safe duty and poll
// interval are the ones used from then on. A snapshot with another set of zones is refused.
TEST_F(ChassisLogicTest, AReloadedCurveAppliesAtTheNextStepWithoutFailSafe) {
    port.bmc.power = true;
    activeAt(40);
    EXPECT_EQ(port.bmc.duty[0], 30u);
    logic.onSensors(readings(60), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 70u);
    std::size_t sent = port.bmc.changes.size();
    std::vector<Event> ignored = logic.takeEvents();
    ChassisConfig next = cfg;
    next.zones[0].curve = {{30, 10}, {50, 20}, {70, 50}};
    next.zones[0].name = "cpu0";
    next.failsafeDutyPct = 80;
    next.statusPoll = 5000ms;
    next.sensorPoll = 3000ms;
    ASSERT_TRUE(logic.reconfigure(std::make_shared<const ChassisConfig>(next)));
    EXPECT_EQ(port.bmc.changes.size(), sent) << "the swap itself sends nothing";
    EXPECT_TRUE(port.bmc.powerCalls.empty());
    EXPECT_FALSE(logic.snapshot().failSafe);
    EXPECT_TRUE(logic.policyArmed());
    EXPECT_EQ(logic.snapshot().fans[0].name, "cpu0");
    EXPECT_EQ(logic.nextStatusDelay(port.now), Duration(5000ms));
    EXPECT_EQ(logic.freshBound(), Duration(6000ms));
    // The next step: curve'(58) = 32 (the old curve with its hysteresis would hold 73).
    logic.onSensors(readings(58), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 32u);
    for (std::size_t i = sent; i < port.bmc.changes.size(); ++i) {
        EXPECT_FALSE(isDuty(port.bmc.changes[i], 100)) << "no fail-safe duty after a reload";
        EXPECT_FALSE(isDuty(port.bmc.changes[i], 80)) << "no fail-safe duty after a reload";
    }
    EXPECT_TRUE(port.bmc.powerCalls.empty());
    EXPECT_FALSE(logic.snapshot().failSafe);
    EXPECT_TRUE(logic.takeEvents().empty());
    // The new fail-safe duty when readings are lost.
    SensorReadResult lost;
    lost.ec = ipmimonitoringError(1);
    lost.errorText = "connection timeout";
    logic.onSensors(lost, port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 80u);
    // Another set of zones (what a restart-only key changes): refused, the running one stays.
    ChassisConfig other = next;
    other.zones[0].zone = 3;
    other.failsafeDutyPct = 60;
    EXPECT_FALSE(logic.reconfigure(std::make_shared<const ChassisConfig>(other)));
    EXPECT_EQ(logic.config().failsafeDutyPct, 80u);
    EXPECT_EQ(logic.config().zones[0].zone, 0u);
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

// ---------------------------------------------------------------- replication (issue 9)
// What a takeover inherits from the mirror of the old active's store, and the intent updates the
// active hands to the replicated store. The wall clock follows the virtual clock, so power
// request deadlines (unix ms) and the steady clock agree.

namespace {

constexpr std::int64_t kWallBase = 1'800'000'000'000;

class ReplicationTest : public ChassisLogicTest {
  protected:
    ChassisLogic wallLogic{cfg, port, [this] {
                               return kWallBase +
                                      std::chrono::duration_cast<std::chrono::milliseconds>(
                                          port.now.time_since_epoch())
                                          .count();
                           }};
    std::int64_t wallNow() const {
        return kWallBase +
               std::chrono::duration_cast<std::chrono::milliseconds>(port.now.time_since_epoch())
                   .count();
    }
    // A standby that has its own readings (a read completed at port.now).
    void standbyReads(double cpuTemp) {
        wallLogic.onSensors(readings(cpuTemp), port.gen, 5.0, port.now);
    }
    void takeOverWith(const ReplicatedIntent& in) {
        port.active = true;
        port.gen += 1;
        port.lease.renew(port.now + 30ms);
        wallLogic.becomeActive(port.gen, port.now, port.now, in);
    }
    PowerRequestState pending(std::uint64_t id, PowerControl pc, std::int64_t requestedAgoMs,
                              std::int64_t deadlineInMs) const {
        PowerRequestState p;
        p.requestId = id;
        p.transition = pc;
        p.requestedUnixMs = wallNow() - requestedAgoMs;
        p.deadlineUnixMs = wallNow() + deadlineInMs;
        p.outcome = PowerOutcome::Pending;
        return p;
    }
    std::vector<PowerRequestState> powerUpdates() {
        std::vector<PowerRequestState> out;
        for (const IntentUpdate& u : wallLogic.takeIntents()) {
            if (const auto* p = std::get_if<PowerRequestState>(&u)) {
                out.push_back(*p);
            }
        }
        return out;
    }
    bool anyDuty(unsigned duty) const {
        return std::any_of(port.bmc.changes.begin(), port.bmc.changes.end(),
                           [duty](const RawRequest& r) { return isDuty(r, duty); });
    }
};

bool isAutoMode(const RawRequest& r) {
    return r.netfn == kNetfnOem && r.cmd == 0x45 && r.data == std::vector<std::uint8_t>{1, 0};
}

// An intent update as text, for comparing sequences.
std::string describe(const IntentUpdate& u) {
    if (const auto* m = std::get_if<FanModeChanged>(&u)) {
        return fmt::format("mode {}", toString(m->mode));
    }
    if (const auto* f = std::get_if<FanFloorChanged>(&u)) {
        return fmt::format("floor {} {}", f->zone,
                           f->floorPct ? std::to_string(*f->floorPct) : "none");
    }
    const auto& p = std::get<PowerRequestState>(u);
    return fmt::format("power {} {} {}", p.requestId, toString(p.transition), toString(p.outcome));
}

} // namespace

TEST_F(ReplicationTest, HotTakeoverSendsNoFailSafeDutyAndSetsTheInheritedFloor) {
    standbyReads(40); // curve(40) = 30 %
    advance(1500ms);  // within 2 x sensor_poll_ms (4 s)
    ReplicatedIntent in;
    in.hot = true;
    in.fanMode = FanMode::Manual;
    in.floors = {70};
    takeOverWith(in);
    EXPECT_FALSE(anyDuty(100)) << "a blind fail-safe duty reached the BMC";
    EXPECT_EQ(port.bmc.duty[0], 70u); // the inherited floor over curve(40)
    EXPECT_TRUE(port.bmc.fanManual);
    EXPECT_TRUE(wallLogic.policyArmed());
    EXPECT_FALSE(wallLogic.snapshot().failSafe);
    EXPECT_EQ(wallLogic.floor(0), std::optional<unsigned>(70));
    EXPECT_TRUE(port.bmc.powerCalls.empty());
    std::vector<IntentUpdate> up = wallLogic.takeIntents();
    ASSERT_EQ(up.size(), 1u);
    EXPECT_EQ(describe(up[0]), "mode manual"); // never fail-safe
    // The curve still raises it above the floor.
    wallLogic.onSensors(readings(75), port.gen, 5.0, port.now);
    EXPECT_EQ(port.bmc.duty[0], 100u);
}

TEST_F(ReplicationTest, HotTakeoverWithInheritedAutoHandsTheFansToTheBmc) {
    standbyReads(40);
    ReplicatedIntent in;
    in.hot = true;
    in.fanMode = FanMode::Auto;
    takeOverWith(in);
    ASSERT_FALSE(port.bmc.changes.empty());
    EXPECT_TRUE(isAutoMode(port.bmc.changes[0]));
    EXPECT_FALSE(anyDuty(100));
    EXPECT_FALSE(port.bmc.fanManual);
    EXPECT_EQ(wallLogic.snapshot().fans[0].mode, FanMode::Auto);
    std::vector<IntentUpdate> up = wallLogic.takeIntents();
    ASSERT_EQ(up.size(), 1u);
    EXPECT_EQ(describe(up[0]), "mode auto");
}

TEST_F(ReplicationTest, NotHotTakeoverGoesFailSafeFirstThenAppliesTheInheritedIntent) {
    standbyReads(40); // fresh readings, but the mirror was not hot
    ReplicatedIntent in;
    in.hot = false;
    in.fanMode = FanMode::Manual;
    in.floors = {70};
    takeOverWith(in);
    ASSERT_EQ(port.bmc.changes.size(), 2u);
    EXPECT_TRUE(isManualMode(port.bmc.changes[0]));
    EXPECT_TRUE(isDuty(port.bmc.changes[1], 100));
    EXPECT_FALSE(wallLogic.policyArmed());
    // Once a read that started after the takeover is back: the policy with the inherited floor.
    wallLogic.onSensors(readings(40), port.gen, 5.0, port.now);
    EXPECT_TRUE(wallLogic.policyArmed());
    EXPECT_EQ(port.bmc.duty[0], 70u);
    std::vector<IntentUpdate> up = wallLogic.takeIntents();
    ASSERT_EQ(up.size(), 2u);
    EXPECT_EQ(describe(up[0]), "mode failSafe");
    EXPECT_EQ(describe(up[1]), "mode manual");
}

TEST_F(ReplicationTest, NotHotTakeoverWithInheritedAutoGoesAutoOnceThePolicyArms) {
    ReplicatedIntent in;
    in.fanMode = FanMode::Auto;
    takeOverWith(in);
    EXPECT_TRUE(isDuty(port.bmc.changes.at(1), 100)); // fail-safe first
    // The store keeps the operator's auto through the fail-safe (a takeover in between would
    // otherwise inherit fail-safe and lose it).
    EXPECT_TRUE(wallLogic.takeIntents().empty());
    wallLogic.onSensors(readings(40), port.gen, 5.0, port.now);
    EXPECT_TRUE(isAutoMode(port.bmc.changes.back()));
    EXPECT_FALSE(port.bmc.fanManual);
    EXPECT_EQ(wallLogic.snapshot().fans[0].mode, FanMode::Auto);
    std::vector<IntentUpdate> up = wallLogic.takeIntents();
    ASSERT_EQ(up.size(), 1u);
    EXPECT_EQ(describe(up[0]), "mode auto");
}

TEST_F(ReplicationTest, HotButStaleReadingsGoFailSafe) {
    standbyReads(40);
    advance(4001ms); // older than 2 x sensor_poll_ms
    ReplicatedIntent in;
    in.hot = true;
    in.floors = {70};
    takeOverWith(in);
    ASSERT_GE(port.bmc.changes.size(), 2u);
    EXPECT_TRUE(isDuty(port.bmc.changes[1], 100));
    EXPECT_FALSE(wallLogic.policyArmed());
    EXPECT_TRUE(wallLogic.snapshot().failSafe);
    // Hot without any reading of its own, or after a failed read: fail-safe too.
    for (bool failedRead : {false, true}) {
        port.active = false;
        ++port.gen;
        wallLogic.becomeStandby();
        if (failedRead) {
            standbyReads(40);
            SensorReadResult lost;
            lost.ec = ipmimonitoringError(1);
            lost.errorText = "connection timeout";
            wallLogic.onSensors(lost, port.gen, 5.0, port.now);
        }
        std::size_t before = port.bmc.changes.size();
        port.bmc.duty[0] = 0;
        takeOverWith(in);
        EXPECT_EQ(port.bmc.duty[0], 100u) << "failedRead=" << failedRead;
        EXPECT_GT(port.bmc.changes.size(), before);
        EXPECT_FALSE(wallLogic.policyArmed());
    }
}

TEST_F(ReplicationTest, InheritedPendingPowerOnAlreadyReachedIsConfirmedWithoutACommand) {
    port.bmc.power = true; // the chassis came up while the old active died
    ReplicatedIntent in;
    in.hot = true;
    in.power = pending(7, PowerControl::PowerUp, 3000, 57000);
    takeOverWith(in);
    EXPECT_TRUE(port.bmc.powerCalls.empty()); // never re-issued
    std::vector<PowerRequestState> p = powerUpdates();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].requestId, 7u);
    EXPECT_EQ(p[0].outcome, PowerOutcome::Confirmed);
    EXPECT_EQ(p[0].outcomeUnixMs, wallNow());
    EXPECT_EQ(wallLogic.powerRequest()->outcome, PowerOutcome::Confirmed);
    EXPECT_EQ(wallLogic.snapshot().requested, PowerControl::None);
}

TEST_F(ReplicationTest, InheritedPendingPowerOnIsConfirmedWhenTheChassisGetsThere) {
    ReplicatedIntent in; // not hot: power is continued all the same
    in.power = pending(7, PowerControl::PowerUp, 1000, 59000);
    takeOverWith(in);
    EXPECT_TRUE(powerUpdates().empty()); // still off: pending
    EXPECT_EQ(wallLogic.snapshot().requested, PowerControl::PowerUp);
    EXPECT_TRUE(wallLogic.takeConfirmSoon());              // a fast poll at once
    EXPECT_LE(wallLogic.nextStatusDelay(port.now), 200ms); // confirmed by fast polls
    advance(200ms);
    wallLogic.pollStatus(port.now);
    EXPECT_TRUE(powerUpdates().empty());
    port.bmc.power = true; // the chassis reaches the state
    advance(200ms);
    wallLogic.pollStatus(port.now);
    std::vector<PowerRequestState> p = powerUpdates();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].requestId, 7u);
    EXPECT_EQ(p[0].outcome, PowerOutcome::Confirmed);
    EXPECT_TRUE(port.bmc.powerCalls.empty());
    // The next request continues the ids.
    port.lease.renew(port.now + 30ms);
    ASSERT_EQ(wallLogic.control({ControlOp::PowerOff, 0, 0, "test"}, port.now).status,
              ControlStatus::Ok);
    p = powerUpdates();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].requestId, 8u);
    EXPECT_EQ(p[0].deadlineUnixMs, wallNow() + cfg.powerConfirmTimeout.count());
}

TEST_F(ReplicationTest, InheritedPendingPowerFailsAtItsDeadline) {
    ReplicatedIntent in;
    in.power = pending(3, PowerControl::PowerUp, 50000, 10000);
    takeOverWith(in);
    EXPECT_TRUE(powerUpdates().empty());
    advance(9000ms);
    wallLogic.pollStatus(port.now);
    EXPECT_TRUE(powerUpdates().empty());
    advance(1001ms);
    wallLogic.pollStatus(port.now);
    std::vector<PowerRequestState> p = powerUpdates();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].outcome, PowerOutcome::Failed);
    EXPECT_TRUE(port.bmc.powerCalls.empty());
}

TEST_F(ReplicationTest, InheritedPendingPowerPastItsDeadlineIsReportedAtTheTakeover) {
    ReplicatedIntent in;
    in.hot = true;
    in.power = pending(4, PowerControl::PowerUp, 70000, -10000);
    ::testing::internal::CaptureStderr();
    takeOverWith(in);
    std::string log = ::testing::internal::GetCapturedStderr();
    std::vector<PowerRequestState> p = powerUpdates();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].requestId, 4u);
    EXPECT_EQ(p[0].outcome, PowerOutcome::Failed); // the chassis is off: not reached in time
    EXPECT_NE(log.find("event=power_request id=4 control=powerUp outcome=failed"),
              std::string::npos)
        << log;
    EXPECT_TRUE(port.bmc.powerCalls.empty());
    // The chassis status cannot be read at the takeover: Dropped (nobody can tell).
    port.active = false;
    ++port.gen;
    wallLogic.becomeStandby();
    port.bmc.failRaw = std::make_error_code(std::errc::timed_out);
    in.power = pending(5, PowerControl::PowerDown, 70000, -10000);
    takeOverWith(in);
    p = powerUpdates();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].requestId, 5u);
    EXPECT_EQ(p[0].outcome, PowerOutcome::Dropped);
    EXPECT_TRUE(port.bmc.powerCalls.empty());
}

TEST_F(ReplicationTest, OwnRequestOfAnEarlierActivationIsReportedDropped) {
    standbyReads(40);
    takeOverWith({});
    port.bmc.slowPower = true;
    ASSERT_EQ(wallLogic.control({ControlOp::PowerOn, 0, 0, "test"}, port.now).status,
              ControlStatus::Ok);
    ASSERT_EQ(powerUpdates().size(), 1u); // pending
    port.active = false;
    ++port.gen;
    wallLogic.becomeStandby();
    takeOverWith({});
    std::vector<PowerRequestState> p = powerUpdates();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].requestId, 1u);
    EXPECT_EQ(p[0].outcome, PowerOutcome::Dropped);
    EXPECT_EQ(port.bmc.powerCalls.size(), 1u); // never re-issued
}

TEST_F(ReplicationTest, IntentUpdatesComeInTheOrderOfTheOperatorsSequence) {
    takeOverWith({});
    wallLogic.onSensors(readings(40), port.gen, 5.0, port.now);
    port.bmc.slowPower = true;
    auto run = [&](ControlOp op, std::int32_t value = 0) {
        ControlResult r = wallLogic.control({op, 0, value, "test"}, port.now);
        ASSERT_EQ(r.status, ControlStatus::Ok) << r.message;
    };
    run(ControlOp::FanDuty, 80);
    run(ControlOp::FanModeAuto);
    run(ControlOp::FanDuty, 60); // a floor leaves auto
    run(ControlOp::FanModeManual);
    run(ControlOp::PowerOn);
    run(ControlOp::PowerOff); // before the chassis confirmed the power-on
    wallLogic.pollStatus(port.now);
    port.bmc.answerCc = 0xD5; // the BMC refuses the next one
    ControlResult r = wallLogic.control({ControlOp::PowerCycle, 0, 0, "test"}, port.now);
    EXPECT_EQ(r.status, ControlStatus::BmcError);
    std::vector<std::string> got;
    for (const IntentUpdate& u : wallLogic.takeIntents()) {
        got.push_back(describe(u));
    }
    std::vector<std::string> want = {
        "mode failSafe",           // the takeover
        "mode manual",             // fresh readings: the policy
        "floor 0 80",              //
        "mode auto",               //
        "mode manual",             // fan duty: our policy again
        "floor 0 60",              //
        "floor 0 none",            // fan mode manual clears the floors
        "power 1 powerUp pending", //
        "power 1 powerUp superseded",
        "power 2 powerDown pending",
        "power 2 powerDown confirmed",
        "power 3 powerCycle failed",
    };
    EXPECT_EQ(got, want);
}

// A standby makes no intent updates; a refused command (not active) none either.
TEST_F(ReplicationTest, AStandbyMakesNoIntentUpdates) {
    standbyReads(40);
    wallLogic.pollStatus(port.now);
    EXPECT_EQ(wallLogic.control({ControlOp::PowerOn, 0, 0, "test"}, port.now).status,
              ControlStatus::NotActive);
    EXPECT_EQ(wallLogic.control({ControlOp::FanDuty, 0, 50, "test"}, port.now).status,
              ControlStatus::NotActive);
    EXPECT_TRUE(wallLogic.takeIntents().empty());
}

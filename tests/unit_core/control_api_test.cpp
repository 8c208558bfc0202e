// The control API: every command name decodes, ranges are refused before narrowing, role checks
// answer NotActive naming the active, the enum names are names.
#include "core/control_api.hpp"

#include <gtest/gtest.h>

namespace hs {
namespace {

using control::Command;
using nlohmann::json;

TEST(ControlApi, EveryCommandNameDecodes) {
    for (Command c : control::kCommands) {
        std::string name(control::commandName(c));
        auto back = control::commandFromName(name);
        ASSERT_TRUE(back) << name;
        EXPECT_EQ(*back, c) << name;
    }
    EXPECT_FALSE(control::commandFromName("chassis"));
    EXPECT_FALSE(control::commandFromName(""));
    EXPECT_FALSE(control::commandFromName("STATUS"));

    struct Case {
        const char* line;
        bool changes;
        std::optional<ControlOp> op;
    };
    for (const Case& k : std::initializer_list<Case>{
             {R"({"cmd":"status"})", false, std::nullopt},
             {R"({"cmd":"journal"})", false, std::nullopt},
             {R"({"cmd":"chassis.status"})", false, std::nullopt},
             {R"({"cmd":"sensor.list"})", false, std::nullopt},
             {R"({"cmd":"fan.status"})", false, std::nullopt},
             {R"({"cmd":"switchover"})", true, ControlOp::Switchover},
             {R"({"cmd":"switchover","force":false})", true, ControlOp::Switchover},
             {R"({"cmd":"switchover","force":true})", true, ControlOp::ForceTakeover},
             {R"({"cmd":"chassis.power"})", false, std::nullopt},
             {R"({"cmd":"chassis.power","action":"status"})", false, std::nullopt},
             {R"({"cmd":"chassis.power","action":"on"})", true, ControlOp::PowerOn},
             {R"({"cmd":"chassis.power","action":"off"})", true, ControlOp::PowerOff},
             {R"({"cmd":"chassis.power","action":"cycle"})", true, ControlOp::PowerCycle},
             {R"({"cmd":"chassis.power","action":"reset"})", true, ControlOp::HardReset},
             {R"({"cmd":"chassis.power","action":"soft"})", true, ControlOp::SoftShutdown},
             {R"({"cmd":"fan.mode","mode":"auto"})", true, ControlOp::FanModeAuto},
             {R"({"cmd":"fan.mode","mode":"manual"})", true, ControlOp::FanModeManual},
             {R"({"cmd":"fan.duty","zone":3,"pct":55})", true, ControlOp::FanDuty},
         }) {
        control::Decoded d = control::decodeLine(k.line);
        EXPECT_EQ(d.error, "") << k.line;
        EXPECT_EQ(d.changes, k.changes) << k.line;
        ASSERT_EQ(d.request.has_value(), k.op.has_value()) << k.line;
        if (k.op) {
            EXPECT_EQ(d.request->op, *k.op) << k.line;
        }
    }
    auto duty = control::decodeLine(R"({"cmd":"fan.duty","zone":3,"pct":55})");
    EXPECT_EQ(duty.request->zone, 3U);
    EXPECT_EQ(duty.request->value, 55);
    EXPECT_EQ(control::decodeLine(R"({"cmd":"chassis.power","action":"off"})").what,
              "chassis.power off");
}

TEST(ControlApi, BadRequestsRefused) {
    for (const char* bad :
         {"", "{", "[]", "42", R"({"cmd":1})", R"({"cmd":"reboot"})",
          R"({"cmd":"switchover","force":"yes"})", R"({"cmd":"chassis.power","action":"explode"})",
          R"({"cmd":"chassis.power","action":7})", R"({"cmd":"fan.mode"})",
          R"({"cmd":"fan.mode","mode":"fail_safe"})", R"({"cmd":"fan.duty","zone":1})"}) {
        control::Decoded d = control::decodeLine(bad);
        EXPECT_NE(d.error, "") << bad;
        EXPECT_FALSE(d.request) << bad;
    }
    // The socket's texts, which operators see.
    EXPECT_EQ(control::decodeLine(R"({"cmd":"fan.mode","mode":"x"})").error,
              "fan mode must be auto or manual");
    EXPECT_EQ(control::decodeLine(R"({"cmd":"chassis.power","action":"x"})").error,
              "unknown power action 'x' (status, on, off, cycle, reset, soft)");
    // An unknown action still changes: a read-only peer is denied before it learns more.
    EXPECT_TRUE(control::decodeLine(R"({"cmd":"chassis.power","action":"x"})").changes);
}

// Ranges are checked on the whole number: a narrowing cast must not turn 2^32+1 into zone 1 or
// 2^63 into a negative duty that passes "<= 100".
TEST(FanDutyRequest, OutOfRangeRefusedBeforeNarrowing) {
    ControlRequest r;
    EXPECT_EQ(control::decodeFanDuty(json::parse(R"({"zone":1,"pct":40})"), r), "");
    EXPECT_EQ(r.op, ControlOp::FanDuty);
    EXPECT_EQ(r.zone, 1U);
    EXPECT_EQ(r.value, 40);
    EXPECT_EQ(control::decodeFanDuty(json::parse(R"({"zone":4294967295,"pct":100})"), r), "");
    EXPECT_EQ(r.zone, 4294967295U);

    for (const char* bad :
         {R"({"zone":4294967297,"pct":40})",         // 2^32 + 1
          R"({"zone":0,"pct":9223372036854775808})", // 2^63
          R"({"zone":0,"pct":18446744073709551615})", R"({"zone":0,"pct":101})",
          R"({"zone":-1,"pct":40})", R"({"zone":0,"pct":-5})", R"({"zone":0,"pct":40.5})",
          R"({"zone":"0","pct":40})", R"({"pct":40})"}) {
        ControlRequest out;
        out.zone = 7;
        out.value = 7;
        EXPECT_NE(control::decodeFanDuty(json::parse(bad), out), "") << bad;
        EXPECT_EQ(out.zone, 7U) << bad; // untouched
        EXPECT_EQ(out.value, 7) << bad;
        // Through the whole line too: nothing decoded.
        json line = json::parse(bad);
        line["cmd"] = "fan.duty";
        EXPECT_FALSE(control::decodeLine(line.dump()).request) << bad;
    }
}

control::RoleView standbyWithActivePeer() {
    control::RoleView v;
    v.role = Role::Standby;
    v.slot = 0;
    v.peerAlive = true;
    v.peerRole = Role::Active;
    v.peerNodeId = 2;
    v.peerSlot = 1;
    return v;
}

TEST(ControlApi, RoleChecksNameTheActive) {
    control::RoleView v = standbyWithActivePeer();
    auto refused = control::checkDrivesChassis(v);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, ControlStatus::NotActive);
    EXPECT_EQ(refused->message,
              "this node is STANDBY; the active is node 2 (slot 1); run the command there");
    EXPECT_EQ(control::notActiveText(v),
              "this node is STANDBY; the active is node 2 (slot 1); run the command there");
    auto who = control::whoIsActive(v);
    ASSERT_TRUE(who);
    EXPECT_FALSE(who->local);
    EXPECT_EQ(who->nodeId, 2U);
    EXPECT_EQ(who->slot, 1U);

    // A peer that is gone is not named, even if it was active when last heard.
    v.peerAlive = false;
    EXPECT_EQ(control::checkDrivesChassis(v)->message,
              "this node is STANDBY; no active node is known right now");
    EXPECT_FALSE(control::whoIsActive(v));

    // Active but not re-confirmed after a stall: refused, and says so.
    control::RoleView a;
    a.role = Role::Active;
    a.unconfirmed = true;
    EXPECT_EQ(control::checkDrivesChassis(a)->message,
              "this node is ACTIVE (unconfirmed); no active node is known right now");
    EXPECT_TRUE(control::whoIsActive(a)->local);
    a.unconfirmed = false;
    a.drivesChassis = true;
    EXPECT_FALSE(control::checkDrivesChassis(a));
}

TEST(ControlApi, RoleViewOfASnapshot) {
    Snapshot s;
    s.local.role = Role::Active;
    s.local.slot = 1;
    EXPECT_TRUE(control::roleView(s).drivesChassis);
    s.unconfirmed = true;
    EXPECT_FALSE(control::roleView(s).drivesChassis);
    s.local.role = Role::Standby;
    s.peerAlive = true;
    s.peer.role = Role::Active;
    s.peer.slot = 0;
    s.peer.nodeId = 1;
    auto who = control::whoIsActive(control::roleView(s));
    ASSERT_TRUE(who);
    EXPECT_EQ(who->slot, 0U);
    EXPECT_EQ(who->nodeId, 1U);
}

TEST(ControlApi, ResponseCodes) {
    EXPECT_EQ(control::responseCode(ControlStatus::NotActive), "not_active");
    EXPECT_EQ(control::responseCode(ControlStatus::InvalidArgument), "invalid");
    EXPECT_EQ(control::responseCode(ControlStatus::BmcError), "bmc_error");
    EXPECT_EQ(control::responseCode(ControlStatus::Busy), "busy");
    EXPECT_EQ(control::responseCode(ControlStatus::Unavailable), "unavailable");
}

// Logs print names: every value of the operator-facing enums has one.
TEST(EnumNames, EveryValueNamed) {
    for (int i = 0; i <= static_cast<int>(ControlOp::SetPreemption); ++i) {
        EXPECT_NE(toString(static_cast<ControlOp>(i)), "unknown") << i;
    }
    for (int i = 0; i <= static_cast<int>(ControlStatus::Busy); ++i) {
        EXPECT_NE(toString(static_cast<ControlStatus>(i)), "unknown") << i;
    }
    for (int i = 1; i <= static_cast<int>(PowerState::TransitioningOff); ++i) { // 0 is unknown
        EXPECT_NE(toString(static_cast<PowerState>(i)), "unknown") << i;
    }
    for (int i = 0; i <= static_cast<int>(BmcAccess::Disabled); ++i) {
        EXPECT_NE(toString(static_cast<BmcAccess>(i)), "") << i;
    }
    EXPECT_EQ(toString(ControlOp::PowerOff), "powerOff");
    EXPECT_EQ(toString(ControlStatus::NotActive), "notActive");
    EXPECT_EQ(toString(PowerControl::HardReset), "hardReset");
    EXPECT_EQ(toString(BmcAccess::AuthFailed), "authFailed");
    EXPECT_EQ(toString(FanMode::FailSafe), "failSafe");
    EXPECT_EQ(toString(SensorState::Critical), "critical");
}

} // namespace
} // namespace hs

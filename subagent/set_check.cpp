#include "subagent/set_check.hpp"

#include "core/control_api.hpp"

#include <algorithm>
#include <chrono>
#include <fmt/core.h>

namespace hs::subagent {

namespace {

// Printable ASCII only, at most 64 characters, quoted: a log line cannot be forged through a
// community string or a user name.
std::string printableQuoted(std::string_view v) {
    std::string out = "\"";
    for (char c : v.substr(0, 64)) {
        auto u = static_cast<unsigned char>(c);
        out += (u >= 0x20 && u < 0x7f && c != '"' && c != '\\') ? c : '?';
    }
    return out + "\"";
}

} // namespace

std::string setOrigin(const SetRequester& r) {
    std::string out = "snmp";
    if (!r.securityName.empty()) {
        out += " user=" + printableQuoted(r.securityName);
    }
    if (!r.community.empty()) {
        out += " community=" + printableQuoted(r.community);
    }
    if (!r.context.empty()) {
        out += " context=" + printableQuoted(r.context);
    }
    if (!r.address.empty()) {
        out += " address=" + printableQuoted(r.address);
    }
    if (r.agentx) {
        out += fmt::format(" via=agentx transaction={}", r.transactionId);
        if (r.securityName.empty() && r.community.empty()) {
            out += " manager=unknown"; // AgentX does not carry it: see the master's log
        }
    }
    return out;
}

std::string_view toString(SetError e) {
    switch (e) {
    case SetError::NoError:
        return "noError";
    case SetError::WrongType:
        return "wrongType";
    case SetError::WrongValue:
        return "wrongValue";
    case SetError::NoCreation:
        return "noCreation";
    case SetError::InconsistentValue:
        return "inconsistentValue";
    case SetError::NotWritable:
        return "notWritable";
    }
    return "genErr";
}

namespace {

constexpr std::uint8_t kInteger = static_cast<std::uint8_t>(SmiType::Integer);
constexpr std::uint8_t kUnsigned = static_cast<std::uint8_t>(SmiType::Gauge32);

SetDecision fail(SetError e, std::string reason) {
    SetDecision d;
    d.error = e;
    d.reason = std::move(reason);
    return d;
}

SetDecision accept(ControlOp op, std::int64_t value = 0, std::uint32_t zone = 0) {
    SetDecision d;
    d.hasRequest = true;
    d.request.op = op;
    d.request.value = value;
    d.request.zone = zone;
    d.request.origin = "snmp";
    d.reason = std::string(toString(op));
    return d;
}

SetDecision acceptNoop(std::string what) {
    SetDecision d;
    d.reason = std::move(what);
    return d;
}

// Names the active module (the control API's answer, in MIB terms) so the operator knows where
// to send the write.
std::string whoIsActive(const Snapshot& s) {
    if (auto a = control::whoIsActive(control::roleView(s))) {
        return fmt::format("module {} is active", mibModuleIndex(a->slot));
    }
    return "no module is active";
}

SetDecision needActive(const char* object, const Snapshot& s, SetDecision ok) {
    if (s.local.role != Role::Active) {
        return fail(SetError::InconsistentValue,
                    fmt::format("{}: this module ({}) is {}, writes go to the active module; {}",
                                object, mibModuleIndex(s.local.slot), toString(s.local.role),
                                whoIsActive(s)));
    }
    return ok;
}

SetDecision checkSwitchoverAction(std::uint8_t type, std::int64_t v, const Snapshot& s,
                                  SetStage stage, std::int64_t nowUnixMs) {
    if (type != kInteger) {
        return fail(SetError::WrongType, "hsSwitchoverAction: needs an INTEGER");
    }
    if (v == 1) {
        return acceptNoop("hsSwitchoverAction: noop");
    }
    if (v != 2 && v != 3) {
        return fail(SetError::WrongValue,
                    fmt::format("hsSwitchoverAction: {} is not noop(1), switchover(2) or "
                                "forceTakeover(3)",
                                v));
    }
    if (stage == SetStage::Syntax) {
        return accept(v == 2 ? ControlOp::Switchover : ControlOp::ForceTakeover);
    }
    if (v == 2) {
        if (s.local.role != Role::Active) {
            return needActive("hsSwitchoverAction switchover", s, {});
        }
        if (!s.peerAlive || s.peer.role != Role::Standby) {
            return fail(SetError::InconsistentValue,
                        "hsSwitchoverAction switchover: no standby module to hand over to");
        }
        if (const auto& g = s.switchoverGuard; g.holdDownUntilUnixMs > nowUnixMs) {
            return fail(SetError::InconsistentValue,
                        fmt::format("hsSwitchoverAction switchover: switchover rate guard: {} "
                                    "switchovers within {} s; hold-down for {} s more",
                                    g.limit, g.windowMs / 1000,
                                    (g.holdDownUntilUnixMs - nowUnixMs + 999) / 1000));
        }
        return accept(ControlOp::Switchover);
    }
    if (s.local.role != Role::Standby) {
        return fail(SetError::InconsistentValue,
                    fmt::format("hsSwitchoverAction forceTakeover: only a standby module can take "
                                "over; this module ({}) is {}",
                                mibModuleIndex(s.local.slot), toString(s.local.role)));
    }
    return accept(ControlOp::ForceTakeover);
}

SetDecision checkPreempt(std::uint8_t type, std::int64_t v, const Snapshot& s, SetStage stage) {
    if (type != kInteger) {
        return fail(SetError::WrongType, "hsPreemptMode: needs a TruthValue (INTEGER)");
    }
    if (v != 1 && v != 2) {
        return fail(SetError::WrongValue,
                    fmt::format("hsPreemptMode: {} is not true(1) or false(2)", v));
    }
    SetDecision ok = accept(ControlOp::SetPreemption, v == 1 ? 1 : 0);
    return stage == SetStage::Syntax ? ok : needActive("hsPreemptMode", s, ok);
}

SetDecision needChassis(const char* object, const Snapshot& s, SetDecision ok) {
    if (!s.chassis.enabled) {
        return fail(SetError::InconsistentValue,
                    fmt::format("{}: no BMC is configured on this chassis", object));
    }
    return needActive(object, s, std::move(ok));
}

SetDecision checkPowerControl(std::uint8_t type, std::int64_t v, const Snapshot& s,
                              SetStage stage) {
    if (type != kInteger) {
        return fail(SetError::WrongType, "hsChassisPowerControl: needs an INTEGER");
    }
    ControlOp op{};
    switch (v) {
    case 1:
        return acceptNoop("hsChassisPowerControl: none");
    case 2:
        op = ControlOp::PowerOff;
        break;
    case 3:
        op = ControlOp::PowerOn;
        break;
    case 4:
        op = ControlOp::PowerCycle;
        break;
    case 5:
        op = ControlOp::HardReset;
        break;
    case 7:
        op = ControlOp::SoftShutdown;
        break;
    default:
        return fail(SetError::WrongValue,
                    fmt::format("hsChassisPowerControl: {} is not one of none(1), powerDown(2), "
                                "powerUp(3), powerCycle(4), hardReset(5), softShutdown(7)",
                                v));
    }
    SetDecision ok = accept(op);
    return stage == SetStage::Syntax ? ok : needChassis("hsChassisPowerControl", s, ok);
}

const FanSnapshot* findFan(const Snapshot& s, std::uint32_t index) {
    auto it = std::find_if(s.chassis.fans.begin(), s.chassis.fans.end(),
                           [index](const FanSnapshot& f) { return f.zone + 1 == index; });
    return it == s.chassis.fans.end() ? nullptr : &*it;
}

SetDecision checkFan(std::uint32_t column, std::uint32_t index, std::uint8_t type, std::int64_t v,
                     const Snapshot& s, SetStage stage) {
    SetDecision ok;
    if (column == mib::FanDuty) {
        if (type != kUnsigned) {
            return fail(SetError::WrongType, "hsFanDuty: needs an Unsigned32");
        }
        if (v < 0 || v > protocol::kMaxDutyPct) {
            return fail(SetError::WrongValue,
                        fmt::format("hsFanDuty.{}: {} is outside 0..100 percent", index, v));
        }
        ok = accept(ControlOp::FanDuty, v, index - 1);
    } else {
        if (type != kInteger) {
            return fail(SetError::WrongType, "hsFanMode: needs an INTEGER");
        }
        if (v != 2 && v != 3) {
            return fail(SetError::WrongValue,
                        fmt::format("hsFanMode.{}: {} cannot be written; only auto(2) or manual(3)",
                                    index, v));
        }
        ok = accept(v == 2 ? ControlOp::FanModeAuto : ControlOp::FanModeManual, 0, index - 1);
    }
    if (stage == SetStage::Syntax) {
        return ok;
    }
    if (findFan(s, index) == nullptr) {
        return fail(SetError::NoCreation, fmt::format("hsFanTable: no fan zone {}", index));
    }
    return needChassis(column == mib::FanDuty ? "hsFanDuty" : "hsFanMode", s, ok);
}

} // namespace

SetDecision checkSet(const Oid& oid, std::uint8_t type, std::int64_t value, const Snapshot& snap,
                     SetStage stage, std::optional<std::int64_t> nowUnixMs) {
    const Oid general = mibOid({mib::kObjects, mib::kGeneral});
    const Oid chassis = mibOid({mib::kObjects, mib::kChassis});
    const Oid fanEntry = mibOid({mib::kObjects, mib::kFanTable, 1});
    auto scalarIs = [&](const Oid& group, std::uint32_t object) {
        return oid.size() == group.size() + 2 && oidHasPrefix(oid, group) &&
               oid[group.size()] == object && oid.back() == 0;
    };
    if (scalarIs(general, mib::SwitchoverAction)) {
        const std::int64_t now = nowUnixMs
                                     ? *nowUnixMs
                                     : std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count();
        return checkSwitchoverAction(type, value, snap, stage, now);
    }
    if (scalarIs(general, mib::PreemptMode)) {
        return checkPreempt(type, value, snap, stage);
    }
    if (scalarIs(chassis, mib::ChassisPowerControl)) {
        return checkPowerControl(type, value, snap, stage);
    }
    if (oidHasPrefix(oid, fanEntry) && oid.size() == fanEntry.size() + 2) {
        std::uint32_t column = oid[fanEntry.size()];
        std::uint32_t index = oid.back();
        if (column == mib::FanDuty || column == mib::FanMode) {
            if (index == 0 || index > 256) {
                return fail(SetError::NoCreation, fmt::format("hsFanTable: no fan zone {}", index));
            }
            return checkFan(column, index, type, value, snap, stage);
        }
    }
    MibView probe(snap, {});
    if (probe.get(oid) != nullptr) {
        return fail(SetError::NotWritable, fmt::format("{} is read-only", oidToString(oid)));
    }
    return fail(SetError::NoCreation, fmt::format("{} does not exist", oidToString(oid)));
}

} // namespace hs::subagent

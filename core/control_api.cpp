#include "core/control_api.hpp"

#include <fmt/core.h>
#include <limits>

namespace hs::control {

namespace p = hs::protocol;
using nlohmann::json;

std::string_view commandName(Command c) {
    switch (c) {
    case Command::Status:
        return p::cmd::kStatus;
    case Command::Journal:
        return p::cmd::kJournal;
    case Command::Switchover:
        return p::cmd::kSwitchover;
    case Command::ChassisStatus:
        return p::cmd::kChassisStatus;
    case Command::ChassisPower:
        return p::cmd::kChassisPower;
    case Command::SensorList:
        return p::cmd::kSensorList;
    case Command::FanStatus:
        return p::cmd::kFanStatus;
    case Command::FanMode:
        return p::cmd::kFanMode;
    case Command::FanDuty:
        return p::cmd::kFanDuty;
    }
    return "unknown";
}

std::optional<Command> commandFromName(std::string_view name) {
    for (Command c : kCommands) {
        if (commandName(c) == name) {
            return c;
        }
    }
    return std::nullopt;
}

bool alwaysChanges(Command c) {
    return c == Command::Switchover || c == Command::FanMode || c == Command::FanDuty;
}

namespace {

Decoded invalid(Decoded d, std::string error) {
    d.request.reset();
    d.error = std::move(error);
    return d;
}

// An optional string field; a field of another type is an error.
std::optional<std::string> stringField(const json& req, std::string_view name,
                                       std::string_view dflt, std::string& error) {
    auto it = req.find(name);
    if (it == req.end()) {
        return std::string(dflt);
    }
    if (!it->is_string()) {
        error = fmt::format("\"{}\" must be a string", name);
        return std::nullopt;
    }
    return it->get<std::string>();
}

std::optional<ControlOp> powerOp(std::string_view action) {
    if (action == p::power::kOn) {
        return ControlOp::PowerOn;
    }
    if (action == p::power::kOff) {
        return ControlOp::PowerOff;
    }
    if (action == p::power::kCycle) {
        return ControlOp::PowerCycle;
    }
    if (action == p::power::kReset) {
        return ControlOp::HardReset;
    }
    if (action == p::power::kSoft) {
        return ControlOp::SoftShutdown;
    }
    return std::nullopt;
}

Decoded decodeSwitchover(Decoded d, const json& req) {
    bool force = false;
    if (auto it = req.find(p::field::kForce); it != req.end()) {
        if (!it->is_boolean()) {
            return invalid(std::move(d), "switchover: \"force\" must be true or false");
        }
        force = it->get<bool>();
    }
    d.request = ControlRequest{};
    d.request->op = force ? ControlOp::ForceTakeover : ControlOp::Switchover;
    return d;
}

Decoded decodePower(Decoded d, const json& req) {
    std::string error;
    auto action = stringField(req, p::field::kAction, p::power::kStatus, error);
    if (!action) {
        return invalid(std::move(d), "chassis.power: " + error);
    }
    d.what = fmt::format("{} {}", p::cmd::kChassisPower, *action);
    if (*action == p::power::kStatus) {
        return d; // a read
    }
    d.changes = true;
    auto op = powerOp(*action);
    if (!op) {
        return invalid(std::move(d), "unknown power action '" + *action +
                                         "' (status, on, off, cycle, reset, soft)");
    }
    d.request = ControlRequest{};
    d.request->op = *op;
    return d;
}

Decoded decodeFanMode(Decoded d, const json& req) {
    std::string error;
    auto mode = stringField(req, p::field::kMode, "", error);
    if (!mode || (*mode != p::fan::kAuto && *mode != p::fan::kManual)) {
        return invalid(std::move(d), "fan mode must be auto or manual");
    }
    d.request = ControlRequest{};
    d.request->op = *mode == p::fan::kAuto ? ControlOp::FanModeAuto : ControlOp::FanModeManual;
    return d;
}

} // namespace

std::string decodeFanDuty(const json& req, ControlRequest& out) {
    auto zone = req.find(p::field::kZone);
    auto pct = req.find(p::field::kPct);
    if (zone == req.end() || !zone->is_number_unsigned() || pct == req.end() ||
        !pct->is_number_unsigned()) {
        return "fan.duty needs unsigned \"zone\" and \"pct\"";
    }
    // Compare as the widest unsigned type first: get<std::uint32_t>() of 2^32+1 would be 1.
    const auto zoneValue = zone->get<std::uint64_t>();
    const auto pctValue = pct->get<std::uint64_t>();
    if (zoneValue > std::numeric_limits<std::uint32_t>::max()) {
        return "fan zone " + std::to_string(zoneValue) + " is out of range";
    }
    if (pctValue > p::kMaxDutyPct) {
        return "duty must be 0..100 %";
    }
    out.op = ControlOp::FanDuty;
    out.zone = static_cast<std::uint32_t>(zoneValue);
    out.value = static_cast<std::int64_t>(pctValue);
    return {};
}

Decoded decode(Command c, const json& req) {
    Decoded d;
    d.command = c;
    d.changes = alwaysChanges(c);
    d.what = std::string(commandName(c));
    if (!req.is_object()) {
        return invalid(std::move(d), "a request is a JSON object with a string \"cmd\"");
    }
    switch (c) {
    case Command::Switchover:
        return decodeSwitchover(std::move(d), req);
    case Command::ChassisPower:
        return decodePower(std::move(d), req);
    case Command::FanMode:
        return decodeFanMode(std::move(d), req);
    case Command::FanDuty: {
        ControlRequest r;
        if (std::string error = decodeFanDuty(req, r); !error.empty()) {
            return invalid(std::move(d), std::move(error));
        }
        d.request = std::move(r);
        return d;
    }
    case Command::Status:
    case Command::Journal:
    case Command::ChassisStatus:
    case Command::SensorList:
    case Command::FanStatus:
        break;
    }
    return d;
}

Decoded decodeLine(std::string_view line) {
    json req = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (req.is_discarded()) {
        Decoded d;
        d.error = "malformed JSON request";
        return d;
    }
    auto cmd = req.is_object() ? req.find(p::field::kCmd) : req.end();
    if (!req.is_object() || cmd == req.end() || !cmd->is_string()) {
        Decoded d;
        d.error = "a request is a JSON object with a string \"cmd\"";
        return d;
    }
    const auto& name = cmd->get_ref<const std::string&>();
    auto c = commandFromName(name);
    if (!c) {
        Decoded d;
        d.error = fmt::format("unknown command '{}'", name);
        return d;
    }
    return decode(*c, req);
}

std::string_view responseCode(ControlStatus s) {
    switch (s) {
    case ControlStatus::Ok:
        return "ok";
    case ControlStatus::NotActive:
        return p::code::kNotActive;
    case ControlStatus::InvalidArgument:
        return p::code::kInvalid;
    case ControlStatus::Unavailable:
        return p::code::kUnavailable;
    case ControlStatus::BmcError:
        return p::code::kBmcError;
    case ControlStatus::Busy:
        return p::code::kBusy;
    }
    return p::code::kUnavailable;
}

RoleView roleView(const Snapshot& s) {
    RoleView v;
    v.role = s.local.role;
    v.slot = s.local.slot;
    v.unconfirmed = s.unconfirmed;
    v.drivesChassis = s.local.role == Role::Active && !s.unconfirmed;
    v.peerAlive = s.peerAlive;
    v.peerRole = s.peer.role;
    v.peerNodeId = s.peer.nodeId;
    v.peerSlot = s.peer.slot;
    return v;
}

std::optional<ActiveNode> whoIsActive(const RoleView& v) {
    if (v.role == Role::Active) {
        return ActiveNode{true, 0, v.slot};
    }
    if (v.peerAlive && v.peerRole == Role::Active) {
        return ActiveNode{false, v.peerNodeId, v.peerSlot};
    }
    return std::nullopt;
}

std::string activePeerText(const RoleView& v) {
    if (v.peerAlive && v.peerRole == Role::Active) {
        return fmt::format("the active is node {} (slot {}); run the command there", v.peerNodeId,
                           v.peerSlot);
    }
    return "no active node is known right now";
}

std::string notActiveText(const RoleView& v) {
    return fmt::format("this node is {}; {}", toString(v.role), activePeerText(v));
}

std::optional<ControlResult> checkDrivesChassis(const RoleView& v) {
    if (v.drivesChassis) {
        return std::nullopt;
    }
    return ControlResult{ControlStatus::NotActive,
                         fmt::format("this node is {}{}; {}", toString(v.role),
                                     v.unconfirmed ? " (unconfirmed)" : "", activePeerText(v))};
}

} // namespace hs::control

// The one control API: command names, decoding of a request into a ControlRequest, range checks,
// the role checks and the "who is active" answer. Pure (no I/O, no clock): the control socket's
// handlers (daemon/) and the SNMP SET checks (subagent/) both decide through it. The chassis
// gate keeps its own last-moment check when the command leaves (a role may change meanwhile).
#pragma once

#include "base/control_protocol.hpp"
#include "base/types.hpp"

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace hs::control {

enum class Command : std::uint8_t {
    Status,
    Journal,
    Switchover,
    ChassisStatus,
    ChassisPower,
    SensorList,
    FanStatus,
    FanMode,
    FanDuty,
};
inline constexpr std::array kCommands = {
    Command::Status,        Command::Journal,      Command::Switchover,
    Command::ChassisStatus, Command::ChassisPower, Command::SensorList,
    Command::FanStatus,     Command::FanMode,      Command::FanDuty,
};

std::string_view commandName(Command c); // "chassis.power"
std::optional<Command> commandFromName(std::string_view name);
// Whether every use of the command changes something (the change tier is checked before the
// request is read). chassis.power reads for action "status" only: Decoded::changes says.
bool alwaysChanges(Command c);

struct Decoded {
    Command command = Command::Status;
    bool changes = false; // needs the change tier
    std::string what;     // "chassis.power off": names the request in a "denied" answer
    std::optional<ControlRequest> request; // the change for the core; empty for reads
    std::string error; // not empty: refused as "invalid" with this text (nothing else is set)
};

// Reads the fields of a request whose "cmd" named C. Never throws.
Decoded decode(Command c, const nlohmann::json& request);

// A whole request line as the control socket reads it: JSON, an object, a string "cmd", a known
// command, its fields. Never throws; errors carry the socket's texts.
Decoded decodeLine(std::string_view line);

// Reads a "fan.duty" request ({"zone":Z,"pct":P}) into OUT (op, zone, value). Ranges are checked
// on the full JSON number before it is narrowed: zone 0..2^32-1, pct 0..100. Returns an error
// text for an "invalid" answer, or "" when OUT is filled.
std::string decodeFanDuty(const nlohmann::json& request, ControlRequest& out);

// The protocol's error code for a status ("not_active", "invalid", ...).
std::string_view responseCode(ControlStatus s);

// ---- Role checks ----
// What the role checks look at, from the node logic (control socket) or a snapshot (SNMP).
struct RoleView {
    Role role = Role::Init;
    std::uint32_t slot = 0;
    bool unconfirmed = false;   // active, not yet re-confirmed after a local stall
    bool drivesChassis = false; // confirmed active: chassis commands may leave
    bool peerAlive = false;
    Role peerRole = Role::Init;
    std::uint32_t peerNodeId = 0;
    std::uint32_t peerSlot = 0;
};
RoleView roleView(const Snapshot& s); // drivesChassis: active and confirmed

// Who is active, as far as this node knows: itself or a live peer.
struct ActiveNode {
    bool local = false;
    std::uint32_t nodeId = 0; // 0 when local (the snapshot knows only the peer's id)
    std::uint32_t slot = 0;
};
std::optional<ActiveNode> whoIsActive(const RoleView& v);

// "the active is node 2 (slot 1); run the command there" / "no active node is known right now":
// where the operator should send a command this node refuses.
std::string activePeerText(const RoleView& v);
// "this node is STANDBY; the active is node 2 (slot 1); run the command there".
std::string notActiveText(const RoleView& v);

// The role check of every chassis command (power, fan mode, fan duty): NotActive, naming the
// active, unless this node drives the chassis.
std::optional<ControlResult> checkDrivesChassis(const RoleView& v);

} // namespace hs::control

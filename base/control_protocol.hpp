// The control socket's protocol, as far as both ends must agree on it: the default socket path,
// the command and field names, the values of the enumerated fields and the error codes
// (docs/control.md). Header-only and free of dependencies: hsctl includes this and nothing else
// of the daemon's.
#pragma once

#include <cstdint>
#include <string_view>

namespace hs::protocol {

inline constexpr std::string_view kDefaultSocket = "/run/hotstandby/hotstandbyd.sock";

// One JSON object per line each way: {"cmd":NAME, ...fields}.
namespace cmd {
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kJournal = "journal";
inline constexpr std::string_view kSwitchover = "switchover";
inline constexpr std::string_view kChassisStatus = "chassis.status";
inline constexpr std::string_view kChassisPower = "chassis.power";
inline constexpr std::string_view kSensorList = "sensor.list";
inline constexpr std::string_view kFanStatus = "fan.status";
inline constexpr std::string_view kFanMode = "fan.mode";
inline constexpr std::string_view kFanDuty = "fan.duty";
} // namespace cmd

namespace field {
inline constexpr std::string_view kCmd = "cmd";
inline constexpr std::string_view kForce = "force";   // switchover: bool
inline constexpr std::string_view kAction = "action"; // chassis.power: one of power::*
inline constexpr std::string_view kMode = "mode";     // fan.mode: one of fan::*
inline constexpr std::string_view kZone = "zone";     // fan.duty: 0..2^32-1
inline constexpr std::string_view kPct = "pct";       // fan.duty: 0..kMaxDutyPct
// Responses: {"ok":true,"result":{...}} or {"ok":false,"code":CODE,"error":TEXT}.
inline constexpr std::string_view kOk = "ok";
inline constexpr std::string_view kResult = "result";
inline constexpr std::string_view kCode = "code";
inline constexpr std::string_view kError = "error";
inline constexpr std::string_view kMessage = "message";
} // namespace field

namespace power {
inline constexpr std::string_view kStatus = "status"; // reads; every other action changes
inline constexpr std::string_view kOn = "on";
inline constexpr std::string_view kOff = "off";
inline constexpr std::string_view kCycle = "cycle";
inline constexpr std::string_view kReset = "reset";
inline constexpr std::string_view kSoft = "soft";
} // namespace power

namespace fan {
inline constexpr std::string_view kAuto = "auto";
inline constexpr std::string_view kManual = "manual";
} // namespace fan

inline constexpr std::uint32_t kMaxDutyPct = 100;

namespace code {
inline constexpr std::string_view kNotActive = "not_active";
inline constexpr std::string_view kInvalid = "invalid";
inline constexpr std::string_view kUnavailable = "unavailable";
inline constexpr std::string_view kBmcError = "bmc_error";
inline constexpr std::string_view kBusy = "busy";
inline constexpr std::string_view kDenied = "denied";
} // namespace code

} // namespace hs::protocol

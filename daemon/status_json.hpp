// JSON views of the core's snapshots for the control socket (field names in docs/control.md).
// Pure functions: a snapshot in, a JSON object out. Enumerations become snake_case strings.
#pragma once

#include "base/types.hpp"
#include "core/switchover_guard.hpp"
#include "daemon/float_addr_msg.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace hs {

// The enum's name (base/types.hpp) in snake_case (base's snakeCase()): "transitioning_on",
// "auth_failed".
std::string toJsonName(PowerState s);
std::string toJsonName(PowerControl c);
std::string toJsonName(BmcAccess a);
std::string toJsonName(SensorState s);
std::string toJsonName(FanMode m);

nlohmann::json toJson(const PathCounters& c);
nlohmann::json toJson(const PathSnapshot& p);
nlohmann::json toJson(const ModuleSnapshot& m);
nlohmann::json toJson(const SwitchoverRecord& r);
nlohmann::json toJson(const SensorSnapshot& s);
nlohmann::json toJson(const FanSnapshot& f);
nlohmann::json toJson(const ChassisSnapshot& c); // everything, sensors and fans included
nlohmann::json toJson(const Snapshot& s);        // the "status" result

// Results of the read-only commands, ready for controlOk().
nlohmann::json journalJson(const Snapshot& s);              // "journal"
nlohmann::json chassisStatusJson(const ChassisSnapshot& c); // "chassis.status"
nlohmann::json powerStatusJson(const ChassisSnapshot& c);   // "chassis.power" action=status
nlohmann::json sensorListJson(const ChassisSnapshot& c);    // "sensor.list"
nlohmann::json fanStatusJson(const ChassisSnapshot& c);     // "fan.status"
// The "addresses" array of "status": the floating addresses ([[address]]), empty when none.
nlohmann::json addressesJson(const std::vector<FloatAddrStatus>& a);

// The "switchover_guard" object of "status": the switchover rate guard at the time asked.
nlohmann::json switchoverGuardJson(const SwitchoverGuardState& g);

// A whole response for a ControlResult: ok -> {"ok":true,"result":RESULT + "message"},
// otherwise {"ok":false,"code":control::responseCode(status),"error":message}.
nlohmann::json toResponse(const ControlResult& r, nlohmann::json result = nlohmann::json::object());

} // namespace hs

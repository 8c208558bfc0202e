// Human (ipmitool-style) output of hsctl, one function per command, from the daemon's result
// objects (docs/control.md). Throws nlohmann::json::exception on a result of the wrong shape.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>

namespace hs::cli {

void renderStatus(std::ostream& out, const nlohmann::json& status);
void renderPaths(std::ostream& out, const nlohmann::json& status);
// The "addresses" of a status result (hsctl address).
void renderAddresses(std::ostream& out, const nlohmann::json& status);
void renderJournal(std::ostream& out, const nlohmann::json& journal);
void renderReplication(std::ostream& out, const nlohmann::json& replication);
// `hsctl status`'s Replication line: the store's role, readiness or joined standby, lag, degraded.
std::string replicationSummary(const nlohmann::json& replication);
void renderChassisStatus(std::ostream& out, const nlohmann::json& chassis);
void renderPowerStatus(std::ostream& out, const nlohmann::json& power);
void renderPowerAction(std::ostream& out, std::string_view action);
void renderSensorList(std::ostream& out, const nlohmann::json& sensors);
void renderFanStatus(std::ostream& out, const nlohmann::json& fans);
void renderMessage(std::ostream& out, std::string_view what, const nlohmann::json& result);

} // namespace hs::cli

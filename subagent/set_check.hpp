// Validation of SNMP SETs on HOTSTANDBY-MIB against the latest snapshot. Pure: the Net-SNMP handler
// calls it in RESERVE1 (type and value), RESERVE2 (role and chassis consistency) and COMMIT (to
// build the ControlRequest it hands to the core).
#pragma once

#include "base/types.hpp"
#include "subagent/mib_view.hpp"

#include <optional>
#include <string>

namespace hs::subagent {

// The SNMP error-status values a SET can end with (RFC 3416 numbering).
enum class SetError : int {
    NoError = 0,
    WrongType = 7,
    WrongValue = 10,
    NoCreation = 11,
    InconsistentValue = 12,
    NotWritable = 17,
};

struct SetDecision {
    SetError error = SetError::NoError;
    bool hasRequest = false; // false for accepted no-ops (noop, none)
    ControlRequest request;  // valid when hasRequest
    std::string reason;      // why it failed, or what it does (for the log)
};

// type: the BER tag of the varbind; value: its integer value (Integer32 or Unsigned32/Gauge32).
// Stage Syntax checks writability, type and range only; stage Consistency also checks the role,
// the chassis and that the row exists.
enum class SetStage { Syntax, Consistency };
// NOW_UNIX_MS: the wall clock for the switchover rate guard's hold-down (none: read it).
SetDecision checkSet(const Oid& oid, std::uint8_t type, std::int64_t value, const Snapshot& snap,
                     SetStage stage, std::optional<std::int64_t> nowUnixMs = std::nullopt);

// Who sent a SET, as the PDU handed to the handler tells it. Over AgentX (RFC 2741) the master
// passes only the context and its transaction id, not the manager's security name, community or
// address; those fields are filled only when the PDU carries them.
struct SetRequester {
    bool agentx = false;      // the request came through an AgentX master
    std::string securityName; // USM user (SNMPv3) when known
    std::string community;    // SNMPv1/v2c community when known
    std::string context;      // SNMP context (non-default only)
    std::string address;      // transport address of the sender (or of the master's session)
    std::uint32_t transactionId = 0;
};
// "snmp user=admin address=udp:[127.0.0.1]:5000 ..." for the audit log line of a SET and for
// ControlRequest::origin. Values are quoted and cut to 64 printable characters.
std::string setOrigin(const SetRequester& r);

std::string_view toString(SetError e);
using hs::toString; // the names of the shared enums (ControlOp, ControlStatus, ...) live in base/

} // namespace hs::subagent

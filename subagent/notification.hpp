// Varbinds of HOTSTANDBY-MIB notifications. Pure: values come from the Event (what happened, at the
// time it happened); names and indexes the Event lacks come from the latest Snapshot.
#pragma once

#include "core/types.hpp"
#include "subagent/mib_view.hpp"

#include <vector>

namespace hs::subagent {

struct Notification {
    Oid trapOid;                   // value of snmpTrapOID.0
    std::vector<VarBind> varbinds; // hsNotificationSeq first, then hsLocalModuleIndex, ...
};

// EventType to notification; seq is this notification's hsNotificationSeq.
Notification buildNotification(const Event& ev, std::uint32_t seq, const Snapshot& snap);
// hsStateResync: the current state after an AgentX (re)connection.
Notification buildResync(std::uint32_t seq, const Snapshot& snap);

} // namespace hs::subagent

// Varbinds of HOTSTANDBY-MIB notifications. Pure: values come from the Event (what happened, at the
// time it happened); names, indexes and counters the Event lacks come from the Snapshot published
// with that event, never from a later one.
#pragma once

#include "base/types.hpp"
#include "subagent/mib_view.hpp"

#include <memory>
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

// One notification waiting to be sent: its event and the snapshot made with it.
struct PendingNotification {
    bool resync = false;
    Event event;
    std::uint32_t seq = 0;
    std::shared_ptr<const Snapshot> snapshot; // null: LATEST at send time (resyncs)
};
// The notification for P: from P's own snapshot, or LATEST when it has none.
Notification render(const PendingNotification& p, const Snapshot& latest);

} // namespace hs::subagent

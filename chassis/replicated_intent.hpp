// The chassis's share of replication (docs/replication.md): what the active's chassis reports as
// operator intent, so that the daemon can write it into the replicated store, and what a node
// that takes over inherits from its mirror of that store. The chassis room does not know repl/:
// the daemon converts between these structs and repl records.
#pragma once

#include "base/types.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

namespace hs::chassis {

using hs::PowerOutcome; // base/types.hpp

// One power request as the active knows it.
struct PowerRequestState {
    std::uint64_t requestId = 0; // rises on every request of this activation lineage
    PowerControl transition = PowerControl::None;
    std::int64_t requestedUnixMs = 0;
    std::int64_t deadlineUnixMs = 0; // confirm by then, else Failed
    PowerOutcome outcome = PowerOutcome::Pending;
    std::int64_t outcomeUnixMs = 0;
};

// An intent change on the active, in the order it happened. FanModeChanged carries Auto (the
// BMC's own control), Manual (our thermal policy) or FailSafe.
struct FanModeChanged {
    FanMode mode = FanMode::Unknown;
};
struct FanFloorChanged {
    std::uint32_t zone = 0;           // zone index as configured (0-based)
    std::optional<unsigned> floorPct; // none: cleared
};
using IntentUpdate = std::variant<FanModeChanged, FanFloorChanged, PowerRequestState>;

// What a node taking over inherits from its mirror of the active's store.
struct ReplicatedIntent {
    // The mirror was hot at the takeover (docs/replication.md "Readiness"): the inherited intent
    // is the old active's, so the blind fail-safe may be skipped when this node's own readings are
    // fresh too. False: the takeover goes fail-safe first as without replication; the fan mode
    // and floors below still apply once the thermal policy arms, and a pending power request is
    // still confirmed (never re-issued) or reported (docs/replication.md "The chassis at a
    // takeover").
    bool hot = false;
    std::optional<FanMode> fanMode;
    std::vector<std::optional<unsigned>> floors; // per zone index; shorter than the zones: none
    std::optional<PowerRequestState> power;      // the newest power request, any outcome
};

} // namespace hs::chassis

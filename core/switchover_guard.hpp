// The switchover rate guard: at most `limit` voluntary switchovers (manual ones and preemption)
// within `window`; the one that reaches the limit starts a hold-down during which further
// voluntary switchovers are refused. A takeover for a lost, stopped or unfit active is never asked
// here: a dead active is always replaced. Pure (time in, decisions out), owned by RoleFsm; both
// modules count every voluntary switchover they take part in, so their guards agree.
#pragma once

#include "base/types.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace hs {

struct SwitchoverGuardConfig {
    std::uint32_t limit = 3; // 0: no guard
    Duration window{seconds(600)};
    Duration holdDown{seconds(300)};
};

// What the status shows of the guard at a given time.
struct SwitchoverGuardState {
    std::uint32_t limit = 0;
    std::int64_t windowMs = 0;
    std::int64_t holdDownMs = 0;
    std::uint32_t recent = 0;        // voluntary switchovers within the window
    bool holding = false;            // in hold-down now
    std::int64_t holdDownLeftMs = 0; // 0 when not holding
    std::uint64_t holdDowns = 0;     // hold-downs started since the start
    std::uint64_t refused = 0;       // voluntary switchovers refused since the start
};

class SwitchoverGuard {
  public:
    explicit SwitchoverGuard(SwitchoverGuardConfig cfg = {}) : cfg_(cfg) {}

    // Whether a switchover for REASON counts toward the limit (and may be refused): manual ones
    // (hsctl, SNMP, forced takeovers) and preemption.
    static bool voluntary(SwitchoverReason reason) {
        return reason == SwitchoverReason::Manual || reason == SwitchoverReason::PeerPreempted;
    }

    // A voluntary switchover happened at NOW. Returns true when it reached the limit and started
    // a hold-down (the caller raises the notification).
    bool record(TimePoint now);
    // Whether a voluntary switchover may start now.
    bool allows(TimePoint now) const { return !holding(now); }
    bool holding(TimePoint now) const { return holdUntil_ && now < *holdUntil_; }
    // Counts a refusal and returns its reason for the operator.
    std::string refuse(TimePoint now);
    // When the current hold-down ends (none when not holding).
    std::optional<TimePoint> holdUntil(TimePoint now) const {
        return holding(now) ? holdUntil_ : std::nullopt;
    }
    SwitchoverGuardState state(TimePoint now) const;
    const SwitchoverGuardConfig& config() const { return cfg_; }
    std::uint64_t holdDowns() const { return holdDowns_; }
    std::uint64_t refused() const { return refused_; }

  private:
    void expire(TimePoint now);

    SwitchoverGuardConfig cfg_;
    std::deque<TimePoint> recent_;
    std::optional<TimePoint> holdUntil_;
    std::uint64_t holdDowns_ = 0;
    std::uint64_t refused_ = 0;
};

} // namespace hs

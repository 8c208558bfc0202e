// CommandLease: the right of this node to command its chassis, as a deadline on the monotonic
// clock. Pure: no clock of its own, no I/O, no locking; every question takes `now`.
//
// The core renews the lease on every tick while it drives the chassis (confirmed ACTIVE, not
// stalled); the chassis gate asks held(now) immediately before a command is handed to FreeIPMI.
// A lease that is not renewed expires by itself, however the process was stopped: the monotonic
// clock (std::chrono::steady_clock, CLOCK_MONOTONIC) keeps running through SIGSTOP, so threads
// that run again after a stop find it expired before the core thread has noticed the stall.
//
// How long a renewal may last (commandLeaseLength): docs/chassis.md, "The command lease".
#pragma once

#include "base/types.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace hs::chassis {

// The lease with miss_threshold 1, where the formula leaves no room at all.
constexpr Duration kMinCommandLease = std::chrono::milliseconds(1);

// How far past the core tick it was renewed at a lease may reach.
//
// The peer declares this node lost when every path has been silent for N intervals of that path
// (N x the larger of its interval and ours: never less than N x ours). At a tick the core sends
// every heartbeat that is due, so after it the last heartbeat on every path left less than one
// interval I of that path before the tick. The peer therefore cannot declare this node lost, let
// alone take over, earlier than tick + (N - 1) x I on any path still up; the shortest interval is
// the worst case, as its path may be the only one still up. The lease ends a margin of half the
// shortest interval before that (the way from the final check to the BMC, timer granularity):
//
//     lease = (N - 1) x Imin - Imin / 2          (N = miss_threshold, Imin = shortest interval)
//
// e.g. 20 ms x 3 -> 30 ms. Positive for every N >= 2. N = 1 leaves no room for any lease: it
// gets kMinCommandLease, without the guarantee (the daemon warns).
inline Duration commandLeaseLength(std::uint32_t missThreshold, Duration shortestInterval) {
    Duration room = shortestInterval * (missThreshold > 0 ? missThreshold - 1 : 0);
    Duration lease = room - shortestInterval / 2;
    return lease > Duration::zero() ? lease : kMinCommandLease;
}

class CommandLease {
  public:
    // The core confirms the right until `deadline`. A renewal never shortens the lease: every
    // deadline the core hands out is a safe bound by itself, so the latest one holds.
    void renew(TimePoint deadline) {
        if (!deadline_ || deadline > *deadline_) {
            deadline_ = deadline;
        }
        ++renewals_;
    }
    // The node stopped driving the chassis: no command from now on, until the next renew().
    void revoke() { deadline_.reset(); }

    bool held(TimePoint now) const { return deadline_ && now < *deadline_; }
    // Time left at `now`; zero once expired or revoked.
    Duration remaining(TimePoint now) const {
        return held(now) ? *deadline_ - now : Duration::zero();
    }
    // How long ago it expired (zero while held or when never granted / revoked).
    Duration expiredFor(TimePoint now) const {
        return deadline_ && now >= *deadline_ ? now - *deadline_ : Duration::zero();
    }
    std::optional<TimePoint> deadline() const { return deadline_; }
    std::uint64_t renewals() const { return renewals_; }

  private:
    std::optional<TimePoint> deadline_;
    std::uint64_t renewals_ = 0;
};

} // namespace hs::chassis

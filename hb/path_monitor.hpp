// Failure detection for one heartbeat path. Pure: time is an input, no I/O.
//
// A path is Up after K good frames in a row and Down once N intervals pass without a frame
// (N x the larger of our interval and the one the peer advertises, as BFD's detection time).
// It starts in Init: not yet heard, which counts as not up.
#pragma once

#include "core/types.hpp"

#include <cstdint>
#include <optional>

namespace hs::hb {

struct PathMonitorConfig {
    Duration interval{milliseconds(10)};
    std::uint32_t missThreshold = 3;     // N
    std::uint32_t recoveryThreshold = 3; // K
};

class PathMonitor {
  public:
    explicit PathMonitor(PathMonitorConfig cfg) : cfg_(cfg) {}

    // An authenticated, fresh frame arrived. Returns true if the state changed.
    bool onFrame(TimePoint now, Duration peerInterval);
    // Re-evaluate at or after deadline(). Returns true if the state changed.
    bool onTimer(TimePoint now);
    // After a local stall: frames that could not be read meanwhile are not the peer's fault, so
    // the detection window restarts now.
    void grace(TimePoint now);
    // Operator/admin control, and the I/O layer reporting a dead device.
    void setDiag(PathDiag d) { diag_ = d; }
    // The peer said it is leaving: down now, without waiting for the detection time.
    bool forceDown(TimePoint now, PathDiag d);

    // When the path goes down if nothing arrives (nullopt while not Up or recovering).
    std::optional<TimePoint> deadline() const;
    Duration detectionTime() const;

    PathState state() const { return state_; }
    PathDiag diag() const { return diag_; }
    TimePoint lastChange() const { return lastChange_; }
    std::uint64_t missed() const { return missed_; }
    // missed() plus the intervals of a silence still going on at `now` (counted for good once
    // the next frame arrives).
    std::uint64_t missedAt(TimePoint now) const;
    bool up() const { return state_ == PathState::Up; }
    // The peer was heard within the detection time (Up, or recovering towards Up). A peer is
    // lost only when no path is hearing it.
    bool hearing() const { return state_ == PathState::Up || good_ > 0; }
    const PathMonitorConfig& config() const { return cfg_; }

  private:
    void setState(TimePoint now, PathState s, PathDiag d);

    PathMonitorConfig cfg_;
    PathState state_ = PathState::Init;
    PathDiag diag_ = PathDiag::NoDiag;
    std::optional<TimePoint> lastRx_;
    Duration peerInterval_{0};
    std::uint32_t good_ = 0;
    std::uint64_t missed_ = 0;
    TimePoint lastChange_{};
};

} // namespace hs::hb

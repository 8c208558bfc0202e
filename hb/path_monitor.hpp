// Failure detection for one heartbeat path. Pure: time is an input, no I/O.
//
// A path is Up after K good frames in a row and Down once N intervals pass without a frame
// (N x the larger of our interval and the one the peer advertises, as BFD's detection time).
// It starts in Init: not yet heard, which counts as not up.
//
// Missed intervals (the MIB's Counter64): every interval boundary after the last frame that
// passes with no frame is one miss, committed once it is certain (half an interval of slack for
// jitter, or at once when the path goes down: a path that goes down after N silent intervals has
// missed N) and never taken back, even when a late frame credited with its send time shows the
// silence was shorter.
#pragma once

#include "base/types.hpp"

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
    // The larger of our interval and the one the peer advertises.
    Duration interval() const { return step(); }

    PathState state() const { return state_; }
    PathDiag diag() const { return diag_; }
    TimePoint lastChange() const { return lastChange_; }
    // Committed misses: never decreases.
    std::uint64_t missed() const { return missed_; }
    bool up() const { return state_ == PathState::Up; }
    // The peer was heard within the detection time (Up, or recovering towards Up). A peer is
    // lost only when no path is hearing it.
    bool hearing() const { return state_ == PathState::Up || good_ > 0; }
    const PathMonitorConfig& config() const { return cfg_; }

  private:
    void setState(TimePoint now, PathState s, PathDiag d);
    Duration step() const;
    // Interval boundaries after lastRx_ that are certainly missed at `t`.
    std::uint64_t certainMisses(TimePoint t) const;
    // Commits the first `n` boundaries after lastRx_ as missed (each one only once).
    void commitMisses(std::uint64_t n);
    // Makes `ref` the time of the last frame.
    void rebase(TimePoint ref);

    PathMonitorConfig cfg_;
    PathState state_ = PathState::Init;
    PathDiag diag_ = PathDiag::NoDiag;
    std::optional<TimePoint> lastRx_;
    Duration peerInterval_{0};
    std::uint32_t good_ = 0;
    std::uint64_t missed_ = 0;
    std::uint64_t gapMissed_ = 0; // boundaries after lastRx_ already counted in missed_
    TimePoint lastChange_{};
};

} // namespace hs::hb

#include "hb/path_monitor.hpp"

#include <algorithm>

namespace hs::hb {

Duration PathMonitor::detectionTime() const {
    return std::max(cfg_.interval, peerInterval_) * cfg_.missThreshold;
}

std::optional<TimePoint> PathMonitor::deadline() const {
    if (!lastRx_) {
        return std::nullopt;
    }
    if (state_ != PathState::Up && good_ == 0) {
        return std::nullopt; // already down and not recovering: nothing to time out
    }
    return *lastRx_ + detectionTime();
}

Duration PathMonitor::step() const {
    return std::max(cfg_.interval, peerInterval_);
}

std::uint64_t PathMonitor::certainMisses(TimePoint t) const {
    Duration s = step();
    if (!lastRx_ || s.count() <= 0 || t < *lastRx_ + s + s / 2) {
        return 0;
    }
    return static_cast<std::uint64_t>((t - *lastRx_ - s / 2) / s);
}

void PathMonitor::commitMisses(std::uint64_t n) {
    if (n > gapMissed_) {
        missed_ += n - gapMissed_;
        gapMissed_ = n;
    }
}

bool PathMonitor::onFrame(TimePoint now, Duration peerInterval) {
    if (lastRx_ && now < *lastRx_) {
        now = *lastRx_; // never move backwards (frames credited with their send time)
    }
    if (lastRx_) {
        // The boundaries this frame shows were missed (between timer runs), before the new
        // frame becomes the reference.
        commitMisses(certainMisses(now));
        Duration gap = now - *lastRx_;
        if (state_ != PathState::Up && good_ > 0 && gap > detectionTime()) {
            good_ = 0; // the recovery run was broken by a silence: start counting again
        }
    }
    rebase(now);
    peerInterval_ = peerInterval;
    if (state_ == PathState::Up) {
        return false;
    }
    ++good_;
    if (good_ >= cfg_.recoveryThreshold) {
        setState(now, PathState::Up, PathDiag::NoDiag);
        return true;
    }
    return false;
}

bool PathMonitor::onTimer(TimePoint now) {
    commitMisses(certainMisses(now));
    auto dl = deadline();
    if (!dl || now < *dl) {
        return false;
    }
    good_ = 0;
    if (state_ == PathState::Up) {
        // Down after N silent intervals: those N are missed, whatever arrives late.
        commitMisses(cfg_.missThreshold);
        setState(now, PathState::Down, PathDiag::DetectTimeExpired);
        return true;
    }
    return false;
}

bool PathMonitor::forceDown(TimePoint now, PathDiag d) {
    good_ = 0;
    if (state_ == PathState::Up) {
        setState(now, PathState::Down, d);
        return true;
    }
    diag_ = d;
    return false;
}

void PathMonitor::grace(TimePoint now) {
    if (lastRx_ && (state_ == PathState::Up || good_ > 0) && now > *lastRx_) {
        rebase(now);
    }
}

void PathMonitor::rebase(TimePoint ref) {
    if (lastRx_) {
        // Boundaries of the new reference that were already counted against the old one (a late
        // frame credited with an earlier send time, a grace period) are not counted twice.
        Duration s = step();
        TimePoint counted = *lastRx_ + s * static_cast<std::int64_t>(gapMissed_);
        gapMissed_ =
            counted > ref && s.count() > 0 ? static_cast<std::uint64_t>((counted - ref) / s) : 0;
    }
    lastRx_ = ref;
}

void PathMonitor::setState(TimePoint now, PathState s, PathDiag d) {
    state_ = s;
    diag_ = d;
    lastChange_ = now;
}

} // namespace hs::hb

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

bool PathMonitor::onFrame(TimePoint now, Duration peerInterval) {
    peerInterval_ = peerInterval;
    if (lastRx_ && now < *lastRx_) {
        now = *lastRx_; // never move backwards (frames credited with their send time)
    }
    if (lastRx_) {
        // Count whole intervals that passed without a frame (for the MIB's missed counter).
        Duration gap = now - *lastRx_;
        Duration step = std::max(cfg_.interval, peerInterval_);
        if (step.count() > 0 && gap > step + step / 2) {
            missed_ += static_cast<std::uint64_t>(gap / step) - 1;
        }
        if (state_ != PathState::Up && good_ > 0 && gap > detectionTime()) {
            good_ = 0; // the recovery run was broken by a silence: start counting again
        }
    }
    lastRx_ = now;
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
    auto dl = deadline();
    if (!dl || now < *dl) {
        return false;
    }
    good_ = 0;
    if (state_ == PathState::Up) {
        setState(now, PathState::Down, PathDiag::DetectTimeExpired);
        return true;
    }
    return false;
}

std::uint64_t PathMonitor::missedAt(TimePoint now) const {
    Duration step = std::max(cfg_.interval, peerInterval_);
    if (!lastRx_ || step.count() <= 0 || now <= *lastRx_ + step + step / 2) {
        return missed_;
    }
    return missed_ + static_cast<std::uint64_t>((now - *lastRx_) / step) - 1;
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
    if (lastRx_ && (state_ == PathState::Up || good_ > 0)) {
        lastRx_ = std::max(*lastRx_, now);
    }
}

void PathMonitor::setState(TimePoint now, PathState s, PathDiag d) {
    state_ = s;
    diag_ = d;
    lastChange_ = now;
}

} // namespace hs::hb

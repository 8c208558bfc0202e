#include "core/switchover_guard.hpp"

#include <fmt/format.h>

namespace hs {

namespace {
std::int64_t toMs(Duration d) {
    return std::chrono::duration_cast<milliseconds>(d).count();
}
} // namespace

void SwitchoverGuard::expire(TimePoint now) {
    while (!recent_.empty() && now - recent_.front() >= cfg_.window) {
        recent_.pop_front();
    }
}

bool SwitchoverGuard::record(TimePoint now) {
    if (cfg_.limit == 0) {
        return false;
    }
    expire(now);
    recent_.push_back(now);
    if (recent_.size() < cfg_.limit) {
        return false;
    }
    // The limit is reached: hold down, and count afresh once the hold-down is over.
    recent_.clear();
    holdUntil_ = now + cfg_.holdDown;
    ++holdDowns_;
    return true;
}

std::string SwitchoverGuard::refuse(TimePoint now) {
    ++refused_;
    return fmt::format("switchover rate guard: {} switchovers within {} s; hold-down for {} s more "
                       "(a lost or failed active is still replaced)",
                       cfg_.limit, toMs(cfg_.window) / 1000,
                       holdUntil_ ? (toMs(*holdUntil_ - now) + 999) / 1000 : 0);
}

SwitchoverGuardState SwitchoverGuard::state(TimePoint now) const {
    SwitchoverGuardState s;
    s.limit = cfg_.limit;
    s.windowMs = toMs(cfg_.window);
    s.holdDownMs = toMs(cfg_.holdDown);
    for (TimePoint t : recent_) {
        if (now - t < cfg_.window) {
            ++s.recent;
        }
    }
    s.holding = holding(now);
    s.holdDownLeftMs = s.holding ? toMs(*holdUntil_ - now) : 0;
    s.holdDowns = holdDowns_;
    s.refused = refused_;
    return s;
}

} // namespace hs

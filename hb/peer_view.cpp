#include "hb/peer_view.hpp"

#include "base/log.hpp"

#include <algorithm>
#include <utility>

namespace hs::hb {
namespace {

constexpr Duration kFreshnessWindow = seconds(5);
constexpr Duration kAuthAlarmEvery = seconds(10);

std::int64_t toNs(TimePoint t) {
    return std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

} // namespace

PeerView::PeerView(PeerViewConfig cfg)
    : cfg_(std::move(cfg)), storedIncarnation_(cfg_.storedIncarnation) {
    for (const auto& mc : cfg_.paths) {
        paths_.push_back(PathRx{PathMonitor(mc)});
    }
}

void PeerView::start(TimePoint now) {
    lastCurrentHeard_ = now;
    for (auto& p : paths_) {
        p.windowStart = now;
    }
}

PeerView::Reception PeerView::receive(TimePoint now, std::size_t path, const Frame& f,
                                      bool echoesUs) {
    Reception r;
    PathRx& p = paths_.at(path);
    bool current = incarnation_ && f.incarnation == *incarnation_ && f.seq > p.lastSeq;
    if (!current && !adopt(now, f, echoesUs, r)) {
        r.verdict = Verdict::Replayed;
        r.answer = echoUnadopted(now, path, f);
        return r;
    }
    p.lastSeq = f.seq;
    auto age = frameAge(now, p, f);
    if (!age) {
        r.verdict = Verdict::Stale;
        return r;
    }
    // The path is credited with when the peer sent the frame (on our clock), not when we read it:
    // a frame that sat in a buffer must not extend the peer's life.
    r.sentAt = now - *age;
    p.authStreak = 0;
    if (echoesUs) {
        p.trusted = true;
        std::int64_t rtt = toNs(now) - static_cast<std::int64_t>(f.echoTimeNs) -
                           static_cast<std::int64_t>(f.echoHoldUs) * 1000;
        if (rtt >= 0 && rtt < 10'000'000'000) {
            p.rttUs = static_cast<std::uint32_t>(rtt / 1000);
        }
    }
    if (p.trusted) {
        // (a replayed recording must not look like the peer we follow; frames read late, with
        // their arrival times, may come in out of order across paths)
        lastCurrentHeard_ = std::max(lastCurrentHeard_, now);
    }
    r.answer = p.peerSendNs == 0 || !p.echoAdopted;
    p.peerSendNs = f.sendTimeNs;
    p.peerRxTime = now;
    p.echoAdopted = true;
    if (nodeId_ && *nodeId_ != f.nodeId) {
        HS_WARN("event=peer_changed node_id={} previous={}", f.nodeId, *nodeId_);
    }
    nodeId_ = f.nodeId;
    if (!p.trusted) {
        // Nothing shows this frame was sent after our start (it may be a recording): it proves
        // the path alive, but its content changes no role until the peer echoes one of ours.
        r.verdict = Verdict::Unverified;
        return r;
    }
    r.verdict = Verdict::Trusted;
    r.info.role = f.role;
    r.info.epoch = f.epoch;
    r.info.slot = f.slot;
    r.info.nodeId = f.nodeId;
    r.info.fit = (f.flags & flag::Fit) != 0;
    r.info.unconfirmed = (f.flags & flag::Unconfirmed) != 0;
    r.info.takingOver = (f.flags & flag::TakingOver) != 0;
    if (!lastRole_ || *lastRole_ != f.role) {
        lastRole_ = f.role;
        r.roleChanged = true;
    }
    return r;
}

// A frame that is not news from the peer incarnation we follow: a restarted peer, a recording of
// an old one, or a replayed sequence number. Adopted (as a new life of the peer) only with proof
// of liveness (the frame echoes a send time of this incarnation of ours). A lower incarnation, or
// the same one counting its sequence numbers again (the peer's state was wiped, or the module
// replaced), also only once it has answered for a detection time while the life we follow
// stayed silent: a recent frame replayed within our echo window never passes that.
bool PeerView::adopt(TimePoint now, const Frame& f, bool echoesUs, Reception& r) {
    if (!echoesUs) {
        return false; // possibly a recording; the peer answers our frames within a round trip
    }
    std::optional<std::uint32_t> known = incarnation_;
    bool older = incarnation_ && f.incarnation <= *incarnation_;
    if (!known && storedIncarnation_ != 0) {
        known = storedIncarnation_;
        older = f.incarnation < storedIncarnation_;
    }
    if (older) {
        if (!lowerIncarnation_ || lowerIncarnation_->incarnation != f.incarnation) {
            lowerIncarnation_ = LowerIncarnation{f.incarnation, now};
            HS_INFO("event=peer_incarnation_lower incarnation={} known={}: the peer answers "
                    "with an incarnation that is not newer (state wiped or module replaced?); "
                    "adopting it if the known one stays silent",
                    f.incarnation, *known);
            return false;
        }
        // The echo must also be of a frame we sent after the last one we heard of the life we
        // followed: no frame of that life that reached us can carry one.
        if (now - lowerIncarnation_->since < cfg_.detection ||
            now - lastCurrentHeard_ < cfg_.detection ||
            static_cast<std::int64_t>(f.echoTimeNs) <= toNs(lastCurrentHeard_)) {
            return false;
        }
        HS_WARN("event=peer_incarnation_adopted incarnation={} previous={}", f.incarnation, *known);
    } else if (incarnation_) {
        HS_INFO("event=peer_restarted incarnation={} previous={}", f.incarnation, *incarnation_);
    }
    incarnation_ = f.incarnation;
    lowerIncarnation_.reset();
    newestNs_ = 0;
    for (auto& p : paths_) {
        p.lastSeq = 0;
        p.trusted = false;
        p.curMin.reset();
        p.prevMin.reset();
        p.windowStart = now;
        p.peerSendNs = 0;
    }
    if (f.incarnation != storedIncarnation_) {
        storedIncarnation_ = f.incarnation;
        r.persistIncarnation = f.incarnation;
    }
    return true;
}

// A new peer incarnation proves itself by echoing us, so we must echo it before we adopt it.
// The incarnation we follow keeps the echo while it is heard, so replays of old frames cannot
// spoil the challenge it answers. Returns true if the caller should answer on the path now.
bool PeerView::echoUnadopted(TimePoint now, std::size_t path, const Frame& f) {
    PathRx& p = paths_[path];
    if (p.echoAdopted && p.peerSendNs != 0 && now - p.peerRxTime < 2 * p.mon.interval()) {
        return false;
    }
    p.peerSendNs = f.sendTimeNs;
    p.peerRxTime = now;
    p.echoAdopted = false;
    return true;
}

std::optional<std::int64_t> PeerView::offsetFloor(const PathRx& p) const {
    auto own = [](const PathRx& r) -> std::optional<std::int64_t> {
        if (r.curMin && r.prevMin) {
            return std::min(*r.curMin, *r.prevMin);
        }
        return r.curMin ? r.curMin : r.prevMin;
    };
    if (auto o = own(p)) {
        return o;
    }
    // No history on this path (first contact or just restored): borrow the other paths' view of
    // the peer's clock, so a burst of frames buffered while this line was cut is seen as stale.
    std::optional<std::int64_t> best;
    for (const auto& r : paths_) {
        if (auto o = own(r); o && (!best || *o < *best)) {
            best = o;
        }
    }
    return best;
}

std::optional<Duration> PeerView::frameAge(TimePoint now, PathRx& p, const Frame& f) {
    std::int64_t d = toNs(now) - static_cast<std::int64_t>(f.sendTimeNs);
    auto floor = offsetFloor(p);
    if (now - p.windowStart >= kFreshnessWindow && p.curMin) {
        p.prevMin = p.curMin;
        p.curMin.reset();
        p.windowStart = now;
    }
    if (!p.curMin || d < *p.curMin) {
        p.curMin = d;
    }
    if (!floor || d <= *floor) {
        return Duration{0};
    }
    Duration age = std::chrono::duration_cast<Duration>(nanoseconds(d - *floor));
    if (age > p.mon.detectionTime()) {
        return std::nullopt; // stale: buffered while the line was cut or this node was stalled
    }
    return age;
}

bool PeerView::pathHeard(std::size_t path, TimePoint sentAt, Duration peerInterval) {
    return paths_.at(path).mon.onFrame(sentAt, peerInterval);
}

bool PeerView::forceDown(TimePoint now, std::size_t path, PathDiag d) {
    return paths_.at(path).mon.forceDown(now, d);
}

bool PeerView::takeNews(const Frame& f, const PeerInfo& info) {
    if (f.sendTimeNs < newestNs_) {
        return false;
    }
    newestNs_ = f.sendTimeNs;
    peer_ = info;
    return true;
}

std::uint32_t PeerView::onAuthFailure(std::size_t path) {
    PathRx& p = paths_.at(path);
    ++p.authStreak;
    if (!p.mon.up()) {
        p.mon.setDiag(PathDiag::AuthFailure);
    }
    return p.authStreak;
}

bool PeerView::authAlarmDue(TimePoint now, std::size_t path) {
    PathRx& p = paths_.at(path);
    if (p.lastAuthAlarm && now - *p.lastAuthAlarm < kAuthAlarmEvery) {
        return false;
    }
    p.lastAuthAlarm = now;
    return true;
}

void PeerView::onLinkError(std::size_t path) {
    PathRx& p = paths_.at(path);
    if (!p.mon.up()) {
        p.mon.setDiag(PathDiag::IoError);
    }
}

bool PeerView::pathTimer(TimePoint now, std::size_t path) {
    return paths_.at(path).mon.onTimer(now);
}

void PeerView::grace(TimePoint now) {
    for (auto& p : paths_) {
        p.mon.grace(now);
    }
}

PeerView::Liveness PeerView::refresh() {
    Liveness l;
    bool hearing = false;
    for (const auto& p : paths_) {
        l.pathsUp += p.mon.up() ? 1 : 0;
        hearing = hearing || p.mon.hearing();
    }
    l.redundancy = l.pathsUp == paths_.size() && l.pathsUp > 0 ? Redundancy::Redundant
                   : l.pathsUp > 0                             ? Redundancy::Degraded
                                                               : Redundancy::NotRedundant;
    if (hearing != alive_) {
        alive_ = hearing;
        if (!hearing) {
            everLost_ = true;
            l.lost = true;
        } else {
            l.heard = true;
            l.recovered = everLost_;
        }
    }
    if (l.redundancy != redundancy_) {
        Redundancy before = redundancy_;
        redundancy_ = l.redundancy;
        l.redundancyChanged = true;
        if (l.redundancy == Redundancy::Redundant) {
            l.redundancyRestored = everRedundant_;
            everRedundant_ = true;
        } else if (before == Redundancy::Redundant) {
            l.redundancyDegraded = true;
        }
    }
    return l;
}

std::optional<TimePoint> PeerView::deadline() const {
    std::optional<TimePoint> t;
    for (const auto& p : paths_) {
        if (auto d = p.mon.deadline(); d && (!t || *d < *t)) {
            t = d;
        }
    }
    return t;
}

} // namespace hs::hb

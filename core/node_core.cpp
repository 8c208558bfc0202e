#include "core/node_core.hpp"

#include "base/log.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace hs {
namespace {

std::int64_t toNs(TimePoint t) {
    return std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

RoleFsmConfig fsmConfig(const NodeCoreConfig& c) {
    Duration maxInterval{0};
    for (const auto& p : c.paths) {
        maxInterval = std::max(maxInterval, p.interval);
    }
    RoleFsmConfig f;
    f.nodeId = c.nodeId;
    f.slot = c.slot;
    f.initDead = c.initDead;
    f.interval = maxInterval;
    f.detection = maxInterval * c.missThreshold;
    f.preempt = c.preempt;
    f.preemptDelay = c.preemptDelay;
    return f;
}

// What the receiver should call a handover, given why the sender hands over.
SwitchoverReason receiverReason(SwitchoverReason senderReason) {
    switch (senderReason) {
    case SwitchoverReason::LocalFault:
        return SwitchoverReason::PeerFault;
    case SwitchoverReason::PeerPreempted:
    case SwitchoverReason::PeerShutdown:
    case SwitchoverReason::Manual:
        return senderReason;
    default:
        return SwitchoverReason::Manual;
    }
}

constexpr Duration kFreshnessWindow = seconds(5);
constexpr std::uint32_t kAuthAlarmStreak = 5;
constexpr Duration kAuthAlarmEvery = seconds(10);
constexpr Duration kPersistRetryFirst = milliseconds(100);
constexpr Duration kPersistRetryMax = seconds(5);
// A BMC must stay unreachable this long before the node calls itself unfit (no ping-pong); and
// not within this long of the start (the BMC session is still being set up).
constexpr Duration kUnfitAfter = seconds(3);
// The stop frames go out twice, this far apart: one lost datagram must not cost a handover.
constexpr Duration kStopResend = milliseconds(5);

// Authenticated is not the same as sane: a key holder or a broken peer can still send values
// that would wrap an epoch (epoch + 1), overflow time arithmetic (send and echo times are
// subtracted as signed 64-bit nanoseconds) or stretch the detection time without bound.
constexpr std::uint64_t kMaxEpoch = std::uint64_t{1} << 62;
constexpr std::uint64_t kMaxTimeNs = std::uint64_t{1} << 62; // 146 years of uptime
constexpr std::uint32_t kMaxIntervalUs = 10'000'000;         // the configuration's maximum

bool inRange(const hb::Frame& f) {
    return f.epoch <= kMaxEpoch && f.sendTimeNs <= kMaxTimeNs && f.echoTimeNs <= kMaxTimeNs &&
           f.intervalUs <= kMaxIntervalUs;
}

} // namespace

NodeCore::NodeCore(NodeCoreConfig cfg, std::uint64_t storedEpoch, std::uint32_t incarnation,
                   std::uint32_t storedPeerIncarnation)
    : cfg_(std::move(cfg)), fsm_(fsmConfig(cfg_)), storedEpoch_(storedEpoch),
      durableEpoch_(storedEpoch), requestedEpoch_(storedEpoch), incarnation_(incarnation),
      storedPeerIncarnation_(storedPeerIncarnation), persistBackoff_(kPersistRetryFirst) {
    for (const auto& pc : cfg_.paths) {
        hb::PathMonitorConfig mc{pc.interval, cfg_.missThreshold, cfg_.recoveryThreshold};
        paths_.push_back(PathRuntime{pc, hb::PathMonitor(mc)});
    }
    // A stall shorter than this cannot have let the peer's detection time run out, so it needs no
    // special handling; a longer one might have.
    Duration detection = fsm_.config().detection;
    Duration interval = fsm_.config().interval;
    Duration thr = std::clamp<Duration>(detection - interval * 3 / 2, interval / 2, detection / 2);
    stallThreshold_ = cfg_.stallThreshold.count() > 0 ? cfg_.stallThreshold : thr;
}

bool NodeCore::PathRuntime::sentByUs(std::uint64_t ns) const {
    return ns != 0 && std::find(sent.begin(), sent.end(), ns) != sent.end();
}

std::int64_t NodeCore::wallMs(TimePoint now) const {
    if (cfg_.wallClockMs) {
        return cfg_.wallClockMs();
    }
    return std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
}

// A path changed state at `at` (a frame is credited with its send time), noticed at `now`.
void NodeCore::notePathChange(TimePoint now, PathRuntime& p, TimePoint at) {
    p.lastChangeUnixMs =
        wallMs(now) - std::chrono::duration_cast<milliseconds>(now - std::min(at, now)).count();
}

void NodeCore::start(TimePoint now) {
    fsm_.start(now, storedEpoch_);
    startedAt_ = now;
    localRoleChangeUnixMs_ = wallMs(now);
    lastCurrentHeard_ = now;
    for (auto& p : paths_) {
        p.nextSend = now;
        p.windowStart = now;
    }
    drainFsm(now);
    onTimer(now);
}

void NodeCore::checkStall(TimePoint now) {
    if (!scheduledWake_ || now <= *scheduledWake_ + stallThreshold_) {
        return;
    }
    auto late = std::chrono::duration_cast<milliseconds>(now - *scheduledWake_);
    scheduledWake_.reset();
    ++stalls_;
    HS_WARN("event=stall late_ms={} role={}: this node's timers fired late; paths get a fresh "
            "detection window and an active role is unconfirmed until the peer is heard",
            late.count(), toString(fsm_.role()));
    for (auto& p : paths_) {
        p.mon.grace(now);
    }
    fsm_.onStall(now);
    drainFsm(now);
}

std::optional<std::int64_t> NodeCore::offsetFloor(const PathRuntime& p) const {
    auto own = [](const PathRuntime& r) -> std::optional<std::int64_t> {
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

std::optional<Duration> NodeCore::frameAge(TimePoint now, PathRuntime& p, const hb::Frame& f) {
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

void NodeCore::onFrame(TimePoint now, std::size_t path, const hb::Frame& f) {
    if (stopped_ || path >= paths_.size()) {
        return;
    }
    checkStall(now);
    PathRuntime& p = paths_[path];
    if (f.nodeId == cfg_.nodeId) {
        ++p.counters.malformed;
        HS_WARN("event=own_frame path={}: received a frame carrying our own node id {}; is the "
                "path looped back or the peer misconfigured?",
                p.cfg.name, f.nodeId);
        return;
    }
    // A frame relayed from another path (a 10 ms path into a 50 ms one) would push that path's
    // sequence number ahead of the genuine sender's: the authenticated path index must match.
    if (f.pathIndex != path + 1) {
        ++p.counters.malformed;
        HS_DEBUG("event=frame_wrong_path path={} frame_path_index={}", p.cfg.name, f.pathIndex);
        return;
    }
    if (!inRange(f)) {
        ++p.counters.malformed;
        HS_DEBUG("event=frame_out_of_range path={} epoch={} send_ns={} echo_ns={} interval_us={}",
                 p.cfg.name, f.epoch, f.sendTimeNs, f.echoTimeNs, f.intervalUs);
        return;
    }
    bool echoed = p.sentByUs(f.echoTimeNs);
    bool current = peerIncarnation_ && f.incarnation == *peerIncarnation_ && f.seq > p.lastSeq;
    if (!current && !adoptIncarnation(now, f, echoed)) {
        ++p.counters.replayed;
        echoUnadopted(now, path, f);
        return;
    }
    p.lastSeq = f.seq;
    auto age = frameAge(now, p, f);
    if (!age) {
        ++p.counters.stale;
        return;
    }
    // The path is credited with when the peer sent the frame (on our clock), not when we read it:
    // a frame that sat in a buffer must not extend the peer's life.
    TimePoint sentAt = now - *age;
    ++p.counters.framesReceived;
    p.authStreak = 0;
    if (echoed) {
        p.trusted = true;
        std::int64_t rtt = toNs(now) - static_cast<std::int64_t>(f.echoTimeNs) -
                           static_cast<std::int64_t>(f.echoHoldUs) * 1000;
        if (rtt >= 0 && rtt < 10'000'000'000) {
            p.rttUs = static_cast<std::uint32_t>(rtt / 1000);
        }
    }
    if (p.trusted) {
        lastCurrentHeard_ = now; // (a replayed recording must not look like the peer we follow)
    }
    bool firstEcho = p.peerSendNs == 0 || !p.echoAdopted;
    p.peerSendNs = f.sendTimeNs;
    p.peerRxTime = now;
    p.echoAdopted = true;
    if (firstEcho) {
        answerNow(now, path); // our frames on this path echoed nothing of the peer's yet
    }
    if (peerNodeId_ && *peerNodeId_ != f.nodeId) {
        HS_WARN("event=peer_changed node_id={} previous={}", f.nodeId, *peerNodeId_);
    }
    peerNodeId_ = f.nodeId;
    if (!p.trusted) {
        // Nothing shows this frame was sent after our start (it may be a recording): it proves
        // the path alive, but its content changes no role until the peer echoes one of ours.
        if (p.mon.onFrame(sentAt, microseconds(f.intervalUs))) {
            notePathChange(now, p, sentAt);
            emit({.type = EventType::PathUp,
                  .pathIndex = static_cast<std::uint32_t>(path + 1),
                  .pathState = PathState::Up,
                  .pathDiag = PathDiag::NoDiag});
            HS_INFO("event=path_up path={} verified=no", p.cfg.name);
        }
        updatePeerView(now);
        drainFsm(now);
        return;
    }

    PeerInfo info;
    info.role = f.role;
    info.epoch = f.epoch;
    info.slot = f.slot;
    info.nodeId = f.nodeId;
    info.fit = (f.flags & hb::flag::Fit) != 0;
    info.unconfirmed = (f.flags & hb::flag::Unconfirmed) != 0;
    info.takingOver = (f.flags & hb::flag::TakingOver) != 0;
    if (!lastPeerRole_ || *lastPeerRole_ != f.role) {
        lastPeerRole_ = f.role;
        peerRoleChangeUnixMs_ = wallMs(now);
    }

    if (f.role == Role::Stopped) {
        for (std::size_t i = 0; i < paths_.size(); ++i) {
            if (paths_[i].mon.forceDown(now, PathDiag::NeighborSignaledDown)) {
                notePathChange(now, paths_[i], now);
                emit({.type = EventType::PathDown,
                      .pathIndex = static_cast<std::uint32_t>(i + 1),
                      .pathState = PathState::Down,
                      .pathDiag = PathDiag::NeighborSignaledDown});
            }
        }
    } else if (p.mon.onFrame(sentAt, microseconds(f.intervalUs))) {
        notePathChange(now, p, sentAt);
        emit({.type = EventType::PathUp,
              .pathIndex = static_cast<std::uint32_t>(path + 1),
              .pathState = PathState::Up,
              .pathDiag = PathDiag::NoDiag});
        HS_INFO("event=path_up path={} rtt_us={}", p.cfg.name, p.rttUs);
    }
    // Frames over different paths overtake each other: only the newest news about the peer's
    // role counts (the peer's send time orders them, it is one clock for all its paths).
    if (f.sendTimeNs < peerNewestNs_) {
        updatePeerView(now);
        drainFsm(now);
        return;
    }
    peerNewestNs_ = f.sendTimeNs;
    if (f.type == hb::FrameType::Handover) {
        auto reason = f.payload.empty() ? SwitchoverReason::Manual
                                        : static_cast<SwitchoverReason>(f.payload[0]);
        if (reason > SwitchoverReason::PeerFault) {
            reason = SwitchoverReason::Manual;
        }
        updatePeerView(now);
        fsm_.onPeerHandover(now, info, reason);
    } else {
        updatePeerView(now);
        fsm_.onPeerFrame(now, info);
    }
    drainFsm(now);
}

// A frame that is not news from the peer incarnation we follow: a restarted peer, a recording of
// an old one, or a replayed sequence number. Adopted (as a new life of the peer) only with proof
// of liveness (the frame echoes a send time of this incarnation of ours). A lower incarnation, or
// the same one counting its sequence numbers again (the peer's state was wiped, or the module
// replaced), also only once it has answered for a detection time while the life we follow
// stayed silent: a recent frame replayed within our echo window never passes that.
bool NodeCore::adoptIncarnation(TimePoint now, const hb::Frame& f, bool echoed) {
    if (!echoed) {
        return false; // possibly a recording; the peer answers our frames within a round trip
    }
    std::optional<std::uint32_t> known = peerIncarnation_;
    bool older = peerIncarnation_ && f.incarnation <= *peerIncarnation_;
    if (!known && storedPeerIncarnation_ != 0) {
        known = storedPeerIncarnation_;
        older = f.incarnation < storedPeerIncarnation_;
    }
    if (older) {
        Duration detection = fsm_.config().detection;
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
        if (now - lowerIncarnation_->since < detection || now - lastCurrentHeard_ < detection ||
            static_cast<std::int64_t>(f.echoTimeNs) <= toNs(lastCurrentHeard_)) {
            return false;
        }
        HS_WARN("event=peer_incarnation_adopted incarnation={} previous={}", f.incarnation, *known);
    } else if (peerIncarnation_) {
        HS_INFO("event=peer_restarted incarnation={} previous={}", f.incarnation,
                *peerIncarnation_);
    }
    peerIncarnation_ = f.incarnation;
    lowerIncarnation_.reset();
    peerNewestNs_ = 0;
    for (auto& r : paths_) {
        r.lastSeq = 0;
        r.trusted = false;
        r.curMin.reset();
        r.prevMin.reset();
        r.windowStart = now;
        r.peerSendNs = 0;
    }
    if (f.incarnation != storedPeerIncarnation_) {
        storedPeerIncarnation_ = f.incarnation;
        effects_.push_back(effect::PersistPeerIncarnation{f.incarnation});
    }
    return true;
}

// A new peer incarnation proves itself by echoing us, so we must echo it before we adopt it.
// The incarnation we follow keeps the echo while it is heard, so replays of old frames cannot
// spoil the challenge it answers.
void NodeCore::echoUnadopted(TimePoint now, std::size_t path, const hb::Frame& f) {
    PathRuntime& p = paths_[path];
    if (p.echoAdopted && p.peerSendNs != 0 && now - p.peerRxTime < 2 * p.mon.interval()) {
        return;
    }
    p.peerSendNs = f.sendTimeNs;
    p.peerRxTime = now;
    p.echoAdopted = false;
    answerNow(now, path);
}

// Sends a frame on `path` now, echoing the peer's latest: the round trip of the proof of liveness
// is then all a restarted peer (or a path heard again) waits for. At most once an interval per
// path, whatever a replayer sends.
void NodeCore::answerNow(TimePoint now, std::size_t path) {
    PathRuntime& p = paths_[path];
    if (!p.lastAnswer || now - *p.lastAnswer >= p.cfg.interval) {
        p.lastAnswer = now;
        effects_.push_back(effect::SendFrame{path, buildFrame(now, path)});
    }
}

void NodeCore::onRejected(TimePoint now, std::size_t path, hb::DecodeError e) {
    if (path >= paths_.size()) {
        return;
    }
    checkStall(now);
    PathRuntime& p = paths_[path];
    if (e != hb::DecodeError::AuthFailure) {
        ++p.counters.malformed;
        return;
    }
    ++p.counters.authFailures;
    ++p.authStreak;
    fsm_.onUnauthenticatedPeer(now);
    if (!p.mon.up()) {
        p.mon.setDiag(PathDiag::AuthFailure);
    }
    if (p.authStreak >= kAuthAlarmStreak &&
        (!p.lastAuthAlarm || now - *p.lastAuthAlarm >= kAuthAlarmEvery)) {
        p.lastAuthAlarm = now;
        HS_ERROR("event=auth_alarm path={} failures_in_a_row={} total={}: frames keep failing "
                 "authentication; the peer's key file differs from ours (compare the key "
                 "fingerprints both daemons log at start)",
                 p.cfg.name, p.authStreak, p.counters.authFailures);
        emit({.type = EventType::AuthAlarm,
              .pathIndex = static_cast<std::uint32_t>(path + 1),
              .pathState = p.mon.state(),
              .pathDiag = PathDiag::AuthFailure,
              .text = "authentication failures"});
    }
}

void NodeCore::onLinkError(TimePoint, std::size_t path) {
    if (path >= paths_.size()) {
        return;
    }
    ++paths_[path].counters.ioErrors;
    if (!paths_[path].mon.up()) {
        paths_[path].mon.setDiag(PathDiag::IoError);
    }
}

void NodeCore::updatePeerView(TimePoint now) {
    std::size_t up = 0;
    bool hearing = false;
    for (const auto& p : paths_) {
        up += p.mon.up() ? 1 : 0;
        hearing = hearing || p.mon.hearing();
    }
    Redundancy r = up == paths_.size() && up > 0 ? Redundancy::Redundant
                   : up > 0                      ? Redundancy::Degraded
                                                 : Redundancy::NotRedundant;
    bool alive = hearing;
    if (alive != peerAlive_) {
        peerAlive_ = alive;
        if (!alive) {
            peerEverLost_ = true;
            HS_WARN("event=peer_lost role={}: every path is down", toString(fsm_.role()));
            emit({.type = EventType::PeerLost, .redundancy = r});
            fsm_.onPeerLost(now);
        } else {
            if (peerEverLost_) {
                emit({.type = EventType::PeerRecovered, .redundancy = r});
            }
            HS_INFO("event=peer_alive paths_up={}", up);
            fenceRetryAt_.reset();
            if (pendingFence_) {
                HS_WARN("event=fence_cancel: the peer is heard again; not taking over");
                pendingFence_.reset();
                effects_.push_back(effect::CancelFence{});
                fsm_.abortTakeover(now);
            }
            fsm_.onPeerRecovered(now);
        }
    }
    if (r != redundancy_) {
        Redundancy before = redundancy_;
        redundancy_ = r;
        if (r == Redundancy::Redundant) {
            if (everRedundant_) {
                emit({.type = EventType::RedundancyRestored, .redundancy = r});
            }
            everRedundant_ = true;
        } else if (before == Redundancy::Redundant) {
            emit({.type = EventType::RedundancyDegraded, .redundancy = r});
        }
        HS_INFO("event=redundancy state={} paths_up={}/{}", toString(r), up, paths_.size());
    }
}

void NodeCore::onTimer(TimePoint now) {
    if (stopped_) {
        resendStopFrames(now);
        return;
    }
    checkStall(now);
    for (std::size_t i = 0; i < paths_.size(); ++i) {
        PathRuntime& p = paths_[i];
        if (p.mon.onTimer(now)) {
            notePathChange(now, p, now);
            HS_WARN("event=path_down path={} diag={}", p.cfg.name, toString(p.mon.diag()));
            emit({.type = EventType::PathDown,
                  .pathIndex = static_cast<std::uint32_t>(i + 1),
                  .pathState = PathState::Down,
                  .pathDiag = p.mon.diag()});
        }
    }
    updatePeerView(now);
    checkBmcFit(now);
    fsm_.onTimer(now);
    if (fenceRetryAt_ && now >= *fenceRetryAt_) {
        fenceRetryAt_.reset();
        if (!peerAlive_) {
            fsm_.onPeerLost(now); // try the fenced takeover again
        }
    }
    if (persistRetryAt_ && now >= *persistRetryAt_) {
        persistRetryAt_.reset();
        if (requestedEpoch_ > durableEpoch_) {
            HS_INFO("event=epoch_persist_retry epoch={}", requestedEpoch_);
            effects_.push_back(effect::PersistEpoch{requestedEpoch_});
        }
    }
    drainFsm(now);
    for (std::size_t i = 0; i < paths_.size(); ++i) {
        PathRuntime& p = paths_[i];
        if (now >= p.nextSend) {
            effects_.push_back(effect::SendFrame{i, buildFrame(now, i)});
            p.nextSend += p.cfg.interval;
            if (p.nextSend <= now) {
                p.nextSend = now + p.cfg.interval;
            }
        }
    }
    scheduledWake_ = nextWakeup();
}

// The chassis is let go before anything else leaves: frames that follow may let the peer act.
void NodeCore::stopDrivingIfNeeded() {
    if (driving_ && !fsm_.drivesChassis()) {
        driving_ = false;
        effects_.push_back(effect::DriveChassis{false});
    }
}

void NodeCore::drainFsm(TimePoint now) {
    stopDrivingIfNeeded();
    auto actions = fsm_.takeActions();
    if (actions.empty()) {
        return;
    }
    for (const FsmAction& a : actions) {
        switch (a.type) {
        case FsmActionType::PersistEpoch:
            HS_INFO("event=takeover_start epoch={} reason={}", a.epoch, toString(a.reason));
            if (cfg_.fencing && a.reason == SwitchoverReason::PeerLost) {
                // The peer may only look dead: power it off through its BMC first.
                HS_WARN("event=fence_start epoch={}: fencing the peer before taking over", a.epoch);
                pendingFence_ = a.epoch;
                effects_.push_back(effect::FencePeer{});
                sendAll(now);
            } else {
                proceedTakeover(now, a.epoch);
            }
            break;
        case FsmActionType::RoleChanged: {
            Role r = fsm_.role();
            if (r != lastRole_) {
                HS_INFO("event=role_change from={} role={} epoch={}", toString(lastRole_),
                        toString(r), fsm_.epoch());
                lastRole_ = r;
                localRoleChangeUnixMs_ = wallMs(now);
            }
            sendAll(now);
            break;
        }
        case FsmActionType::SendHandover:
            handoverReason_ = a.reason;
            HS_INFO("event=handover_start reason={} epoch={}", toString(a.reason), a.epoch);
            sendAll(now);
            break;
        case FsmActionType::Switchover:
            journal(now, a);
            HS_INFO("event=switchover from={} to={} reason={} epoch={}", toString(a.from),
                    toString(a.to), toString(a.reason), a.epoch);
            emit({.type = EventType::Switchover,
                  .role = a.to,
                  .fromRole = a.from,
                  .reason = a.reason,
                  .epoch = a.epoch});
            break;
        case FsmActionType::SplitBrainResolved:
            HS_WARN("event=split_brain_resolved role={} epoch={}", toString(fsm_.role()),
                    fsm_.epoch());
            emit({.type = EventType::SplitBrainResolved,
                  .role = fsm_.role(),
                  .reason = SwitchoverReason::SplitBrain,
                  .epoch = fsm_.epoch()});
            break;
        }
    }
    reserveNextEpoch();
}

void NodeCore::journal(TimePoint now, const FsmAction& a) {
    ++switchoverCount_;
    lastReason_ = a.reason;
    lastSwitchoverUnixMs_ = wallMs(now);
    journal_.push_back({journalNext_++, lastSwitchoverUnixMs_, a.reason, a.from, a.to, a.epoch});
    while (journal_.size() > cfg_.journalSize) {
        journal_.pop_front();
    }
}

void NodeCore::sendAll(TimePoint now) {
    for (std::size_t i = 0; i < paths_.size(); ++i) {
        effects_.push_back(effect::SendFrame{i, buildFrame(now, i)});
    }
}

hb::Frame NodeCore::buildFrame(TimePoint now, std::size_t path) {
    PathRuntime& p = paths_[path];
    hb::Frame f;
    bool handover = fsm_.handingOver() || shutdownHandover_;
    f.type = handover ? hb::FrameType::Handover : hb::FrameType::Heartbeat;
    if (handover) {
        f.payload.push_back(static_cast<std::uint8_t>(receiverReason(handoverReason_)));
    }
    f.flags = static_cast<std::uint8_t>((bmcOk_ ? hb::flag::BmcOk : 0) |
                                        (fsm_.fit() ? hb::flag::Fit : 0) |
                                        (fsm_.unconfirmed() ? hb::flag::Unconfirmed : 0) |
                                        (cfg_.slot == 0 ? hb::flag::Preferred : 0) |
                                        (fsm_.takingOver() ? hb::flag::TakingOver : 0));
    f.slot = cfg_.slot;
    f.role = fsm_.role();
    f.pathIndex = static_cast<std::uint8_t>(path + 1);
    f.nodeId = cfg_.nodeId;
    f.incarnation = incarnation_;
    f.epoch = fsm_.epoch();
    f.seq = ++p.txSeq;
    f.sendTimeNs = static_cast<std::uint64_t>(toNs(now));
    p.sent[p.sentNext] = f.sendTimeNs;
    p.sentNext = (p.sentNext + 1) % kSentWindow;
    f.echoTimeNs = p.peerSendNs;
    if (p.peerSendNs != 0) {
        auto hold = std::chrono::duration_cast<microseconds>(now - p.peerRxTime).count();
        f.echoHoldUs = static_cast<std::uint32_t>(std::clamp<std::int64_t>(hold, 0, UINT32_MAX));
    }
    f.intervalUs = static_cast<std::uint32_t>(
        std::chrono::duration_cast<microseconds>(p.cfg.interval).count());
    ++p.counters.framesSent;
    return f;
}

void NodeCore::onEpochPersisted(TimePoint now, std::uint64_t epoch) {
    checkStall(now);
    durableEpoch_ = std::max(durableEpoch_, epoch);
    if (!stateDirWritable_ && durableEpoch_ >= requestedEpoch_) {
        HS_INFO("event=state_dir_recovered epoch={}", durableEpoch_);
        stateDirWritable_ = true;
        stateDirError_.clear();
        persistRetryAt_.reset();
        persistBackoff_ = kPersistRetryFirst;
        emit({.type = EventType::StateDirRecovered, .epoch = durableEpoch_});
        applyFit(now);
    }
    if (pendingTakeover_ && *pendingTakeover_ <= durableEpoch_) {
        std::uint64_t e = *pendingTakeover_;
        pendingTakeover_.reset();
        fsm_.onEpochPersisted(now, e);
    }
    drainFsm(now);
}

// The epoch could not be made durable: never act on it. The node is unfit (a fit peer keeps or
// takes the active role) and tries again, 100 ms after the first failure, doubling up to 5 s.
void NodeCore::onEpochPersistFailed(TimePoint now, std::uint64_t epoch, std::string reason) {
    checkStall(now);
    if (epoch <= durableEpoch_) {
        return; // a later write made it durable meanwhile
    }
    HS_ERROR("event=epoch_persist_failed epoch={} error=\"{}\" retry_ms={}: this node is unfit "
             "and does not act on an epoch that is not durable",
             epoch, reason, std::chrono::duration_cast<milliseconds>(persistBackoff_).count());
    stateDirError_ = std::move(reason);
    if (stateDirWritable_) {
        stateDirWritable_ = false;
        emit({.type = EventType::StateDirUnwritable, .epoch = epoch, .text = stateDirError_});
        applyFit(now);
    }
    if (!persistRetryAt_) {
        persistRetryAt_ = now + persistBackoff_;
        persistBackoff_ = std::min(persistBackoff_ * 2, kPersistRetryMax);
    }
    drainFsm(now);
}

void NodeCore::applyFit(TimePoint now) {
    fsm_.setFit(now, bmcFit_ && stateDirWritable_);
}

void NodeCore::proceedTakeover(TimePoint now, std::uint64_t epoch) {
    if (epoch <= durableEpoch_) {
        // The epoch was reserved on disk beforehand: act at once, no fsync on the way.
        fsm_.onEpochPersisted(now, epoch);
        drainFsm(now);
    } else {
        pendingTakeover_ = epoch;
        if (!requestPersist(epoch) && !stateDirWritable_) {
            // The reservation failed earlier: a takeover is waiting, so try again now.
            persistBackoff_ = kPersistRetryFirst;
            persistRetryAt_ = now;
        }
        sendAll(now); // tell the peer we are taking over (TakingOver flag)
    }
}

void NodeCore::onFenceResult(TimePoint now, bool ok) {
    if (!pendingFence_) {
        return;
    }
    std::uint64_t epoch = *pendingFence_;
    pendingFence_.reset();
    if (ok && !peerAlive_) {
        HS_INFO("event=fence_done epoch={}: the peer is off; taking over", epoch);
        proceedTakeover(now, epoch);
        return;
    }
    HS_ERROR("event=fence_failed epoch={} peer_alive={}: not taking over; retrying in {} ms", epoch,
             peerAlive_, std::chrono::duration_cast<milliseconds>(cfg_.fenceRetry).count());
    fsm_.abortTakeover(now);
    fenceRetryAt_ = now + cfg_.fenceRetry;
    drainFsm(now);
}

bool NodeCore::requestPersist(std::uint64_t epoch) {
    if (epoch > requestedEpoch_) {
        requestedEpoch_ = epoch;
        effects_.push_back(effect::PersistEpoch{epoch});
        return true;
    }
    return false;
}

// Keeps the next epoch this node could take over with already on disk, so that a takeover needs
// no fsync on its critical path. A restarted node starts from the reservation: epochs only jump
// forward, never back.
void NodeCore::reserveNextEpoch() {
    if (fsm_.epoch() < std::numeric_limits<std::uint64_t>::max()) {
        requestPersist(fsm_.epoch() + 1);
    }
}

ControlResult NodeCore::requestSwitchover(TimePoint now, bool force) {
    ControlResult r = fsm_.requestSwitchover(now, force);
    drainFsm(now);
    return r;
}

void NodeCore::setFit(TimePoint now, bool fit) {
    bmcFit_ = fit;
    applyFit(now);
    drainFsm(now);
}

void NodeCore::setBmcReachable(TimePoint now, bool reachable) {
    if (stopped_) {
        return;
    }
    bmcOk_ = reachable;
    if (reachable) {
        bmcDownSince_.reset();
        bmcFit_ = true;
        applyFit(now);
    } else {
        if (!bmcDownSince_) {
            bmcDownSince_ = now;
        }
        checkBmcFit(now);
    }
    drainFsm(now);
}

std::optional<TimePoint> NodeCore::bmcUnfitAt() const {
    if (!bmcDownSince_ || !bmcFit_) {
        return std::nullopt;
    }
    return std::max(*bmcDownSince_, startedAt_) + kUnfitAfter;
}

// Called before the role logic runs on a timer: the node turns unfit when the debounce ends.
void NodeCore::checkBmcFit(TimePoint now) {
    if (auto at = bmcUnfitAt(); at && now >= *at) {
        HS_WARN("event=bmc_unreachable_unfit down_ms={}: this node cannot reach its BMC and is "
                "unfit to be active",
                std::chrono::duration_cast<milliseconds>(now - *bmcDownSince_).count());
        bmcFit_ = false;
        applyFit(now);
    }
}

void NodeCore::setPreempt(bool on) {
    fsm_.setPreempt(on);
}

void NodeCore::shutdown(TimePoint now) {
    if (stopped_) {
        return;
    }
    if (fsm_.shutdown(now)) {
        handoverReason_ = SwitchoverReason::PeerShutdown;
        shutdownHandover_ = true; // the STOPPED frames are handovers
    }
    std::size_t first = effects_.size();
    drainFsm(now); // lets the chassis go, then queues role=STOPPED frames on every path
    for (std::size_t i = first; i < effects_.size(); ++i) {
        if (const auto* f = std::get_if<effect::SendFrame>(&effects_[i])) {
            stopFrames_.push_back(*f);
        }
    }
    stopResendAt_ = now + kStopResend;
    stopped_ = true;
}

// The second copy of the stop frames: the same frames with fresh sequence numbers, so the peer
// does not take it for a replay of the first.
void NodeCore::resendStopFrames(TimePoint now) {
    if (!stopResendAt_ || now < *stopResendAt_) {
        return;
    }
    stopResendAt_.reset();
    for (effect::SendFrame& f : stopFrames_) {
        PathRuntime& p = paths_[f.path];
        f.frame.seq = ++p.txSeq;
        ++p.counters.framesSent;
        effects_.push_back(std::move(f));
    }
    stopFrames_.clear();
}

TimePoint NodeCore::nextWakeup() const {
    if (stopped_) {
        return stopResendAt_.value_or(TimePoint::max());
    }
    TimePoint t = TimePoint::max();
    for (const auto& p : paths_) {
        t = std::min(t, p.nextSend);
        if (auto d = p.mon.deadline()) {
            t = std::min(t, *d);
        }
    }
    if (auto d = fsm_.deadline()) {
        t = std::min(t, *d);
    }
    if (fenceRetryAt_) {
        t = std::min(t, *fenceRetryAt_);
    }
    if (persistRetryAt_) {
        t = std::min(t, *persistRetryAt_);
    }
    if (auto u = bmcUnfitAt()) {
        t = std::min(t, *u);
    }
    return t;
}

std::vector<Effect> NodeCore::takeEffects() {
    stopDrivingIfNeeded();
    if (!driving_ && fsm_.drivesChassis()) {
        driving_ = true;
        effects_.push_back(effect::DriveChassis{true});
    }
    std::vector<Effect> out;
    out.swap(effects_);
    return out;
}

Snapshot NodeCore::snapshot() const {
    Snapshot s;
    s.local.slot = cfg_.slot;
    s.local.nodeId = cfg_.nodeId;
    s.local.role = fsm_.role();
    s.local.present = true;
    s.local.bmcOk = bmcOk_;
    s.local.lastChangeUnixMs = localRoleChangeUnixMs_;
    if (const auto& p = fsm_.peer()) {
        s.peer.slot = p->slot;
        s.peer.nodeId = p->nodeId;
        s.peer.role = peerAlive_ ? p->role : Role::Init;
        s.peer.bmcOk = p->fit;
        s.peer.present = peerAlive_;
        s.peer.lastChangeUnixMs = peerRoleChangeUnixMs_;
    }
    s.epoch = fsm_.epoch();
    s.peerAlive = peerAlive_;
    s.unconfirmed = fsm_.unconfirmed();
    s.redundancy = redundancy_;
    s.preemption = fsm_.config().preempt;
    s.switchoverCount = switchoverCount_;
    s.lastSwitchoverReason = lastReason_;
    s.lastSwitchoverUnixMs = lastSwitchoverUnixMs_;
    s.stateDirWritable = stateDirWritable_;
    s.stateDirError = stateDirError_;
    for (std::size_t i = 0; i < paths_.size(); ++i) {
        const PathRuntime& p = paths_[i];
        PathSnapshot ps;
        ps.index = static_cast<std::uint32_t>(i + 1);
        ps.name = p.cfg.name;
        ps.type = p.cfg.type;
        ps.endpoint = p.cfg.endpoint;
        ps.state = p.mon.state();
        ps.diag = p.mon.diag();
        ps.intervalUs = static_cast<std::uint32_t>(
            std::chrono::duration_cast<microseconds>(p.cfg.interval).count());
        ps.missThreshold = cfg_.missThreshold;
        ps.recoveryThreshold = cfg_.recoveryThreshold;
        ps.rttUs = p.rttUs;
        ps.counters = p.counters;
        ps.counters.missed = p.mon.missed(); // the monitor keeps the one count
        ps.lastChangeUnixMs = p.lastChangeUnixMs;
        s.paths.push_back(std::move(ps));
    }
    for (const auto& j : journal_) {
        s.journal.push_back({j.index, j.unixMs, j.reason, j.from, j.to, j.epoch});
    }
    return s;
}

} // namespace hs

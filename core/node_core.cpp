#include "core/node_core.hpp"

#include "base/log.hpp"

#include <algorithm>
#include <fmt/format.h>
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
    f.guard = c.switchoverGuard;
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

constexpr std::uint32_t kAuthAlarmStreak = 5;
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

hb::PeerViewConfig peerViewConfig(const NodeCoreConfig& c, Duration detection,
                                  std::uint32_t storedPeerIncarnation) {
    hb::PeerViewConfig v;
    for (const auto& pc : c.paths) {
        v.paths.push_back({pc.interval, c.missThreshold, c.recoveryThreshold});
    }
    v.detection = detection;
    v.storedIncarnation = storedPeerIncarnation;
    return v;
}

} // namespace

NodeCore::NodeCore(NodeCoreConfig cfg, std::uint64_t storedEpoch, std::uint32_t incarnation,
                   std::uint32_t storedPeerIncarnation)
    : cfg_(std::move(cfg)), fsm_(fsmConfig(cfg_)), storedEpoch_(storedEpoch),
      durableEpoch_(storedEpoch), requestedEpoch_(storedEpoch), incarnation_(incarnation),
      peerView_(peerViewConfig(cfg_, fsm_.config().detection, storedPeerIncarnation)),
      persistBackoff_(kPersistRetryFirst) {
    for (const auto& pc : cfg_.paths) {
        paths_.push_back(PathRuntime{pc});
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
    peerView_.start(now);
    for (auto& p : paths_) {
        p.nextSend = now;
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
    peerView_.grace(now);
    fsm_.onStall(now);
    drainFsm(now);
}

void NodeCore::onFrame(TimePoint now, std::size_t path, const hb::Frame& f, TimePoint rxTime) {
    if (stopped_ || path >= paths_.size()) {
        return;
    }
    rxTime = std::min(rxTime, now);
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
    hb::PeerView::Reception rx = peerView_.receive(rxTime, path, f, p.sentByUs(f.echoTimeNs));
    if (rx.persistIncarnation) {
        effects_.push_back(effect::PersistPeerIncarnation{*rx.persistIncarnation});
    }
    if (rx.verdict == hb::PeerView::Verdict::Replayed) {
        ++p.counters.replayed;
        if (rx.answer) {
            answerNow(now, path);
        }
        return;
    }
    if (rx.verdict == hb::PeerView::Verdict::Stale) {
        ++p.counters.stale;
        return;
    }
    ++p.counters.framesReceived;
    if (rx.answer) {
        answerNow(now, path); // our frames on this path echoed nothing of the peer's yet
    }
    if (rx.verdict == hb::PeerView::Verdict::Unverified) {
        if (peerView_.pathHeard(path, rx.sentAt, microseconds(f.intervalUs))) {
            notePathChange(now, p, rx.sentAt);
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

    const PeerInfo& info = rx.info;
    if (rx.roleChanged) {
        peerRoleChangeUnixMs_ = wallMs(now);
    }
    if (f.role == Role::Stopped) {
        for (std::size_t i = 0; i < paths_.size(); ++i) {
            if (peerView_.forceDown(now, i, PathDiag::NeighborSignaledDown)) {
                notePathChange(now, paths_[i], now);
                emit({.type = EventType::PathDown,
                      .pathIndex = static_cast<std::uint32_t>(i + 1),
                      .pathState = PathState::Down,
                      .pathDiag = PathDiag::NeighborSignaledDown});
            }
        }
    } else if (peerView_.pathHeard(path, rx.sentAt, microseconds(f.intervalUs))) {
        notePathChange(now, p, rx.sentAt);
        emit({.type = EventType::PathUp,
              .pathIndex = static_cast<std::uint32_t>(path + 1),
              .pathState = PathState::Up,
              .pathDiag = PathDiag::NoDiag});
        HS_INFO("event=path_up path={} rtt_us={}", p.cfg.name, peerView_.rttUs(path));
    }
    if ((f.type == hb::FrameType::Replication || f.type == hb::FrameType::Heartbeat) &&
        !f.payload.empty()) {
        peerPayloads_.push_back({path, f.type, f.role, f.epoch, f.payload});
    }
    if (!peerView_.takeNews(f, info)) {
        updatePeerView(now);
        drainFsm(now);
        return;
    }
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
    std::uint32_t streak = peerView_.onAuthFailure(path);
    fsm_.onUnauthenticatedPeer(now);
    if (streak >= kAuthAlarmStreak && peerView_.authAlarmDue(now, path)) {
        HS_ERROR("event=auth_alarm path={} failures_in_a_row={} total={}: frames keep failing "
                 "authentication; the peer's key file differs from ours (compare the key "
                 "fingerprints both daemons log at start)",
                 p.cfg.name, streak, p.counters.authFailures);
        emit({.type = EventType::AuthAlarm,
              .pathIndex = static_cast<std::uint32_t>(path + 1),
              .pathState = peerView_.monitor(path).state(),
              .pathDiag = PathDiag::AuthFailure,
              .text = "authentication failures"});
    }
}

void NodeCore::onLinkError(TimePoint, std::size_t path) {
    if (path >= paths_.size()) {
        return;
    }
    ++paths_[path].counters.ioErrors;
    peerView_.onLinkError(path);
}

void NodeCore::updatePeerView(TimePoint now) {
    hb::PeerView::Liveness l = peerView_.refresh();
    Redundancy r = l.redundancy;
    if (l.lost) {
        HS_WARN("event=peer_lost role={}: every path is down", toString(fsm_.role()));
        emit({.type = EventType::PeerLost, .redundancy = r});
        fsm_.onPeerLost(now);
    } else if (l.heard) {
        if (l.recovered) {
            emit({.type = EventType::PeerRecovered, .redundancy = r});
        }
        HS_INFO("event=peer_alive paths_up={}", l.pathsUp);
        fenceRetryAt_.reset();
        if (pendingFence_) {
            HS_WARN("event=fence_cancel: the peer is heard again; not taking over");
            pendingFence_.reset();
            effects_.push_back(effect::CancelFence{});
            fsm_.abortTakeover(now);
        }
        fsm_.onPeerRecovered(now);
    }
    if (l.redundancyChanged) {
        if (l.redundancyRestored) {
            emit({.type = EventType::RedundancyRestored, .redundancy = r});
        } else if (l.redundancyDegraded) {
            emit({.type = EventType::RedundancyDegraded, .redundancy = r});
        }
        HS_INFO("event=redundancy state={} paths_up={}/{}", toString(r), l.pathsUp, paths_.size());
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
        if (peerView_.pathTimer(now, i)) {
            PathDiag diag = peerView_.monitor(i).diag();
            notePathChange(now, p, now);
            HS_WARN("event=path_down path={} diag={}", p.cfg.name, toString(diag));
            emit({.type = EventType::PathDown,
                  .pathIndex = static_cast<std::uint32_t>(i + 1),
                  .pathState = PathState::Down,
                  .pathDiag = diag});
        }
    }
    updatePeerView(now);
    checkBmcFit(now);
    fsm_.onTimer(now);
    if (fenceRetryAt_ && now >= *fenceRetryAt_) {
        fenceRetryAt_.reset();
        if (!peerView_.alive()) {
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
        case FsmActionType::SwitchoverHoldDown: {
            const SwitchoverGuardConfig& g = fsm_.guard().config();
            holdDownUntilUnixMs_ =
                wallMs(now) + std::chrono::duration_cast<milliseconds>(g.holdDown).count();
            std::string text = fmt::format(
                "{} switchovers within {} s: manual switchovers and preemption are refused for "
                "{} s",
                g.limit, std::chrono::duration_cast<milliseconds>(g.window).count() / 1000,
                std::chrono::duration_cast<milliseconds>(g.holdDown).count() / 1000);
            HS_WARN("event=switchover_holddown limit={} window_ms={} holddown_ms={} role={} "
                    "epoch={}: {}",
                    g.limit, std::chrono::duration_cast<milliseconds>(g.window).count(),
                    std::chrono::duration_cast<milliseconds>(g.holdDown).count(),
                    toString(fsm_.role()), fsm_.epoch(), text);
            emit({.type = EventType::SwitchoverHoldDown,
                  .role = fsm_.role(),
                  .reason = a.reason,
                  .epoch = fsm_.epoch(),
                  .text = std::move(text)});
            break;
        }
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
    } else if (!hbPayload_.empty() &&
               (p.cfg.type != PathType::Serial || p.heartbeatsSent % kSerialPayloadEvery == 0)) {
        f.payload = hbPayload_;
    }
    ++p.heartbeatsSent;
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
    f.echoTimeNs = peerView_.echoTimeNs(path);
    if (f.echoTimeNs != 0) {
        auto hold =
            std::chrono::duration_cast<microseconds>(now - peerView_.echoReceivedAt(path)).count();
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
    if (ok && !peerView_.alive()) {
        HS_INFO("event=fence_done epoch={}: the peer is off; taking over", epoch);
        proceedTakeover(now, epoch);
        return;
    }
    HS_ERROR("event=fence_failed epoch={} peer_alive={}: not taking over; retrying in {} ms", epoch,
             peerView_.alive(), std::chrono::duration_cast<milliseconds>(cfg_.fenceRetry).count());
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
    }
    if (auto d = peerView_.deadline()) {
        t = std::min(t, *d);
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

std::optional<hb::Frame> NodeCore::replicationFrame(TimePoint now, std::size_t path,
                                                    std::vector<std::uint8_t> payload) {
    if (stopped_ || path >= paths_.size()) {
        return std::nullopt;
    }
    hb::Frame f = buildFrame(now, path);
    --paths_[path].heartbeatsSent;
    f.type = hb::FrameType::Replication;
    f.payload = std::move(payload);
    return f;
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
    bool peerAlive = peerView_.alive();
    if (const auto& p = peerView_.peer()) {
        s.peer.slot = p->slot;
        s.peer.nodeId = p->nodeId;
        s.peer.role = peerAlive ? p->role : Role::Init;
        s.peer.bmcOk = p->fit;
        s.peer.present = peerAlive;
        s.peer.lastChangeUnixMs = peerRoleChangeUnixMs_;
    }
    s.epoch = fsm_.epoch();
    s.peerAlive = peerAlive;
    s.unconfirmed = fsm_.unconfirmed();
    s.redundancy = peerView_.redundancy();
    s.preemption = fsm_.config().preempt;
    s.switchoverCount = switchoverCount_;
    s.lastSwitchoverReason = lastReason_;
    s.lastSwitchoverUnixMs = lastSwitchoverUnixMs_;
    s.stateDirWritable = stateDirWritable_;
    s.stateDirError = stateDirError_;
    const SwitchoverGuard& guard = fsm_.guard();
    s.switchoverGuard.limit = guard.config().limit;
    s.switchoverGuard.windowMs =
        std::chrono::duration_cast<milliseconds>(guard.config().window).count();
    s.switchoverGuard.holdDownMs =
        std::chrono::duration_cast<milliseconds>(guard.config().holdDown).count();
    s.switchoverGuard.holdDownUntilUnixMs = holdDownUntilUnixMs_;
    s.switchoverGuard.holdDowns = guard.holdDowns();
    s.switchoverGuard.refused = guard.refused();
    for (std::size_t i = 0; i < paths_.size(); ++i) {
        const PathRuntime& p = paths_[i];
        PathSnapshot ps;
        ps.index = static_cast<std::uint32_t>(i + 1);
        ps.name = p.cfg.name;
        ps.type = p.cfg.type;
        ps.endpoint = p.cfg.endpoint;
        const hb::PathMonitor& mon = peerView_.monitor(i);
        ps.state = mon.state();
        ps.diag = mon.diag();
        ps.intervalUs = static_cast<std::uint32_t>(
            std::chrono::duration_cast<microseconds>(p.cfg.interval).count());
        ps.missThreshold = cfg_.missThreshold;
        ps.recoveryThreshold = cfg_.recoveryThreshold;
        ps.rttUs = peerView_.rttUs(i);
        ps.counters = p.counters;
        ps.counters.missed = mon.missed(); // the monitor keeps the one count
        ps.lastChangeUnixMs = p.lastChangeUnixMs;
        s.paths.push_back(std::move(ps));
    }
    for (const auto& j : journal_) {
        s.journal.push_back({j.index, j.unixMs, j.reason, j.from, j.to, j.epoch});
    }
    return s;
}

} // namespace hs

#include "core/role_fsm.hpp"

#include "base/log.hpp"

#include <algorithm>
#include <limits>

namespace hs {

std::string_view toString(FsmState s) {
    switch (s) {
    case FsmState::Init:
        return "init";
    case FsmState::Standby:
        return "standby";
    case FsmState::TakingOver:
        return "taking_over";
    case FsmState::Active:
        return "active";
    case FsmState::ActiveUnconfirmed:
        return "active_unconfirmed";
    case FsmState::HandingOver:
        return "handing_over";
    case FsmState::HandingOverUnconfirmed:
        return "handing_over_unconfirmed";
    case FsmState::Stopped:
        return "stopped";
    }
    return "unknown";
}

std::string_view toString(FsmCause c) {
    switch (c) {
    case FsmCause::PeerActive:
        return "peer_active";
    case FsmCause::PeerStopped:
        return "peer_stopped";
    case FsmCause::PeerLost:
        return "peer_lost";
    case FsmCause::PeerHandover:
        return "peer_handover";
    case FsmCause::Arbitration:
        return "arbitration";
    case FsmCause::InitDead:
        return "init_dead";
    case FsmCause::ManualTakeover:
        return "manual_takeover";
    case FsmCause::EpochDurable:
        return "epoch_durable";
    case FsmCause::PeerKeepsRole:
        return "peer_keeps_role";
    case FsmCause::TakeoverAborted:
        return "takeover_aborted";
    case FsmCause::NewerTerm:
        return "newer_term";
    case FsmCause::Stall:
        return "stall";
    case FsmCause::PeerConfirms:
        return "peer_confirms";
    case FsmCause::Uncontested:
        return "uncontested";
    case FsmCause::HandoverStart:
        return "handover_start";
    case FsmCause::HandoverEnded:
        return "handover_ended";
    case FsmCause::Shutdown:
        return "shutdown";
    }
    return "unknown";
}

bool RoleFsm::enter(FsmState to, FsmCause cause) {
    FsmState from = state_;
    if (!fsmAllows(from, to)) {
        ++refused_;
        HS_ERROR("event=fsm_transition_refused from={} to={} cause={}: not in the transition "
                 "table; the state stays",
                 toString(from), toString(to), toString(cause));
        return false;
    }
    state_ = to;
    ++transitions_;
    lastTransition_ = FsmTransition{from, to, cause};
    HS_DEBUG("event=fsm_transition from={} to={} cause={} epoch={}", toString(from), toString(to),
             toString(cause), epoch_);
    return true;
}

bool RoleFsm::active() const {
    return state_ == FsmState::Active || state_ == FsmState::ActiveUnconfirmed ||
           state_ == FsmState::HandingOver || state_ == FsmState::HandingOverUnconfirmed;
}

// The peer was heard not contesting our term, or nobody did for a detection time.
void RoleFsm::confirm(FsmCause cause) {
    if (state_ == FsmState::ActiveUnconfirmed) {
        enter(FsmState::Active, cause);
    } else if (state_ == FsmState::HandingOverUnconfirmed) {
        enter(FsmState::HandingOver, cause);
    }
}

// The handover did not happen: this node keeps managing.
void RoleFsm::endHandover() {
    if (state_ == FsmState::HandingOver) {
        enter(FsmState::Active, FsmCause::HandoverEnded);
    } else if (state_ == FsmState::HandingOverUnconfirmed) {
        enter(FsmState::ActiveUnconfirmed, FsmCause::HandoverEnded);
    }
}

void RoleFsm::start(TimePoint now, std::uint64_t storedEpoch) {
    epoch_ = storedEpoch;
    started_ = now; // the state is Init from construction
    actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Init, Role::Init});
}

Role RoleFsm::visibleRole(FsmState s) const {
    switch (s) {
    case FsmState::Init:
        return fit_ ? Role::Init : Role::Fault;
    case FsmState::Standby:
    case FsmState::TakingOver:
        return fit_ ? Role::Standby : Role::Fault;
    case FsmState::Active:
    case FsmState::ActiveUnconfirmed:
    case FsmState::HandingOver:
    case FsmState::HandingOverUnconfirmed:
        return Role::Active;
    case FsmState::Stopped:
        return Role::Stopped;
    }
    return Role::Init;
}

Role RoleFsm::role() const {
    return visibleRole(state_);
}

bool RoleFsm::iWinTie(const PeerInfo& p) const {
    if (cfg_.slot != p.slot) {
        return cfg_.slot < p.slot;
    }
    return cfg_.nodeId < p.nodeId; // misconfigured equal slots: still deterministic
}

void RoleFsm::onPeerFrame(TimePoint now, const PeerInfo& p) {
    peer_ = p;
    if (p.role == Role::Stopped) {
        peerPresent_ = false;
        preemptSince_.reset();
        if (state_ == FsmState::Init || state_ == FsmState::Standby) {
            takeOver(now,
                     state_ == FsmState::Init ? SwitchoverReason::InitAlone
                                              : SwitchoverReason::PeerShutdown,
                     FsmCause::PeerStopped);
        } else if (handingOver()) {
            endHandover();
            handoverUntil_.reset();
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
        }
        return;
    }
    peerPresent_ = true;
    if (!peerActing(p)) {
        splitReported_ = false;
    }
    switch (state_) {
    case FsmState::Init:
        epoch_ = std::max(epoch_, p.epoch);
        if (peerActing(p)) {
            standDown(now, SwitchoverReason::None, FsmCause::PeerActive);
        } else {
            arbitrateWithoutActive(now, p);
        }
        break;
    case FsmState::Standby:
        epoch_ = std::max(epoch_, p.epoch);
        if (!peerActing(p)) {
            arbitrateWithoutActive(now, p);
        }
        break;
    case FsmState::TakingOver:
        // The peer keeps (or holds) the role when the active we thought lost is heard again
        // before we acted, or when it is active in a newer term: give up the takeover before
        // acting at all.
        if (peerActing(p) &&
            (pendingReason_ == SwitchoverReason::PeerLost || p.epoch > pendingEpoch_ ||
             (p.epoch == pendingEpoch_ && !iWinTie(p)))) {
            epoch_ = std::max(epoch_, p.epoch);
            enter(FsmState::Standby, FsmCause::PeerKeepsRole);
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Standby, Role::Standby});
        }
        break;
    case FsmState::Active:
    case FsmState::ActiveUnconfirmed:
    case FsmState::HandingOver:
    case FsmState::HandingOverUnconfirmed:
        if (peerActing(p)) {
            bool peerWins = p.epoch > epoch_ || (p.epoch == epoch_ && !iWinTie(p));
            if (peerWins) {
                SwitchoverReason why =
                    handingOver() ? handoverReason_ : SwitchoverReason::SplitBrain;
                bool split = !handingOver();
                epoch_ = std::max(epoch_, p.epoch);
                standDown(now, why, FsmCause::NewerTerm);
                if (split) {
                    actions_.push_back({FsmActionType::SplitBrainResolved, epoch_, Role::Active,
                                        Role::Standby, SwitchoverReason::SplitBrain});
                }
            } else {
                if (unconfirmed()) {
                    confirm(FsmCause::PeerConfirms);
                    unconfirmedUntil_.reset();
                    actions_.push_back(
                        {FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
                }
                if (!splitReported_) {
                    splitReported_ = true;
                    actions_.push_back({FsmActionType::SplitBrainResolved, epoch_, Role::Active,
                                        Role::Active, SwitchoverReason::SplitBrain});
                }
            }
            return;
        }
        if (unconfirmed() && !p.takingOver) {
            // The peer is not active nor about to be: our term stands.
            epoch_ = std::max(epoch_, p.epoch);
            confirm(FsmCause::PeerConfirms);
            unconfirmedUntil_.reset();
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
        }
        if (!fit_ && p.fit && p.role == Role::Standby && !handingOver()) {
            beginHandover(now, SwitchoverReason::LocalFault);
        }
        checkPreempt(now);
        break;
    case FsmState::Stopped:
        break;
    }
}

void RoleFsm::arbitrateWithoutActive(TimePoint now, const PeerInfo& p) {
    // Neither node is active. Exactly one of the two must decide to take over.
    if (fit_ != p.fit) {
        if (fit_) {
            takeOver(now,
                     state_ == FsmState::Init ? SwitchoverReason::InitPreferred
                                              : SwitchoverReason::PeerFault,
                     FsmCause::Arbitration);
        }
        return;
    }
    bool meStandby = state_ == FsmState::Standby;
    bool peerStandby = p.role == Role::Standby || p.role == Role::Fault;
    bool peerInit = p.role == Role::Init;
    if (meStandby && peerInit) {
        // The active restarted: we hold the state.
        takeOver(now, SwitchoverReason::PeerLost, FsmCause::Arbitration);
        return;
    }
    if (!meStandby && peerStandby) {
        return; // the standby peer takes over
    }
    if (iWinTie(p)) {
        takeOver(now, meStandby ? SwitchoverReason::PeerLost : SwitchoverReason::InitPreferred,
                 FsmCause::Arbitration);
    }
}

void RoleFsm::onPeerHandover(TimePoint now, const PeerInfo& p, SwitchoverReason reason) {
    peer_ = p;
    peerPresent_ = true;
    if (active() && p.role == Role::Active) {
        return; // the peer hands over to us and stands down once it sees us active
    }
    if (active() || state_ == FsmState::TakingOver || state_ == FsmState::Stopped) {
        onPeerFrame(now, p);
        return;
    }
    epoch_ = std::max(epoch_, p.epoch);
    if (!fit_ && p.fit) {
        return; // not fit to manage; the peer keeps the role and aborts its handover
    }
    takeOver(now, reason, FsmCause::PeerHandover);
}

void RoleFsm::onPeerLost(TimePoint now) {
    peerPresent_ = false;
    preemptSince_.reset();
    if (state_ == FsmState::Standby || (state_ == FsmState::Init && peer_)) {
        takeOver(now, SwitchoverReason::PeerLost, FsmCause::PeerLost);
    } else if (handingOver()) {
        endHandover();
        handoverUntil_.reset();
        actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
    }
}

void RoleFsm::onPeerRecovered(TimePoint) {
    peerPresent_ = true;
}

// When a node still in INIT becomes active alone. Frames that fail authentication, or that we
// hear but cannot verify (nothing shows they were sent after our start), hold it back, but never
// beyond init_dead plus two detection times: otherwise one forged or replayed datagram now and
// then would keep a lone node from ever managing the chassis.
TimePoint RoleFsm::initDeadline() const {
    TimePoint alone = started_ + cfg_.initDead;
    TimePoint cap = alone + 2 * cfg_.detection;
    if (peerPresent_ && peer_) {
        return TimePoint::max(); // the peer told us its role: arbitration decides
    }
    if (peerPresent_) {
        return cap;
    }
    return std::min(std::max(alone, initHoldUntil_.value_or(alone)), cap);
}

void RoleFsm::onTimer(TimePoint now) {
    if (state_ == FsmState::Init && now >= initDeadline()) {
        takeOver(now, SwitchoverReason::InitAlone, FsmCause::InitDead);
    }
    if (unconfirmedUntil_ && now >= *unconfirmedUntil_) {
        unconfirmedUntil_.reset();
        if (unconfirmed()) {
            confirm(FsmCause::Uncontested); // nobody contested our term for a detection time
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
        }
    }
    if (handoverUntil_ && now >= *handoverUntil_) {
        handoverUntil_.reset();
        if (handingOver()) {
            endHandover(); // the peer did not take over: keep managing
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
        }
    }
    checkPreempt(now);
}

void RoleFsm::onUnauthenticatedPeer(TimePoint now) {
    if (state_ == FsmState::Init) {
        initHoldUntil_ = now + 2 * cfg_.detection;
    }
}

void RoleFsm::onStall(TimePoint now) {
    if (active()) {
        bool was = unconfirmed();
        if (state_ == FsmState::Active) {
            enter(FsmState::ActiveUnconfirmed, FsmCause::Stall);
        } else if (state_ == FsmState::HandingOver) {
            enter(FsmState::HandingOverUnconfirmed, FsmCause::Stall);
        }
        unconfirmedUntil_ = now + cfg_.detection;
        if (!was) {
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
        }
    }
}

void RoleFsm::takeOver(TimePoint, SwitchoverReason reason, FsmCause cause) {
    if (active() || state_ == FsmState::TakingOver || state_ == FsmState::Stopped) {
        return;
    }
    pendingFrom_ = visibleRole(state_);
    std::uint64_t newest = std::max(epoch_, peer_ ? peer_->epoch : 0);
    pendingEpoch_ = newest < std::numeric_limits<std::uint64_t>::max() ? newest + 1 : newest;
    pendingReason_ = reason;
    enter(FsmState::TakingOver, cause);
    actions_.push_back(
        {FsmActionType::PersistEpoch, pendingEpoch_, pendingFrom_, Role::Active, reason});
}

void RoleFsm::onEpochPersisted(TimePoint now, std::uint64_t epoch) {
    if (state_ != FsmState::TakingOver || epoch != pendingEpoch_) {
        epoch_ = std::max(epoch_, epoch);
        return;
    }
    epoch_ = epoch;
    enter(FsmState::Active, FsmCause::EpochDurable);
    splitReported_ = false;
    actions_.push_back(
        {FsmActionType::Switchover, epoch_, pendingFrom_, Role::Active, pendingReason_});
    countSwitchover(now, pendingReason_);
    actions_.push_back({FsmActionType::RoleChanged, epoch_, pendingFrom_, Role::Active});
}

// Both modules count every voluntary switchover they take part in (the one handing over when it
// stands down, the one taking over when it is active), so either one, once active, holds down.
void RoleFsm::countSwitchover(TimePoint now, SwitchoverReason reason) {
    if (SwitchoverGuard::voluntary(reason) && guard_.record(now)) {
        actions_.push_back({FsmActionType::SwitchoverHoldDown, epoch_, role(), role(), reason});
    }
}

void RoleFsm::abortTakeover(TimePoint) {
    if (state_ != FsmState::TakingOver) {
        return;
    }
    enter(FsmState::Standby, FsmCause::TakeoverAborted);
    actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Standby, Role::Standby});
}

void RoleFsm::standDown(TimePoint now, SwitchoverReason reason, FsmCause cause) {
    Role from = visibleRole(state_);
    bool wasActive = active();
    enter(FsmState::Standby, cause);
    unconfirmedUntil_.reset();
    handoverUntil_.reset();
    preemptSince_.reset();
    if (wasActive) {
        actions_.push_back({FsmActionType::Switchover, epoch_, from, visibleRole(state_), reason});
        countSwitchover(now, reason);
    }
    actions_.push_back({FsmActionType::RoleChanged, epoch_, from, visibleRole(state_)});
}

void RoleFsm::beginHandover(TimePoint now, SwitchoverReason reason) {
    enter(state_ == FsmState::ActiveUnconfirmed ? FsmState::HandingOverUnconfirmed
                                                : FsmState::HandingOver,
          FsmCause::HandoverStart);
    handoverReason_ = reason;
    preemptSince_.reset();
    handoverUntil_ = now + 2 * cfg_.detection + milliseconds(500);
    actions_.push_back({FsmActionType::SendHandover, epoch_, Role::Active, Role::Standby, reason});
    actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
}

ControlResult RoleFsm::requestSwitchover(TimePoint now, bool force) {
    if (force) {
        if (active() || state_ == FsmState::TakingOver) {
            return {ControlStatus::InvalidArgument, "this node is already active"};
        }
        takeOver(now, SwitchoverReason::Manual, FsmCause::ManualTakeover);
        return {ControlStatus::Ok, "forced takeover started"};
    }
    if (!active()) {
        return {ControlStatus::NotActive, "this node is not active"};
    }
    if (handingOver()) {
        return {ControlStatus::Busy, "a switchover is already in progress"};
    }
    if (!guard_.allows(now)) {
        return {ControlStatus::Busy, guard_.refuse(now)};
    }
    if (unconfirmed()) {
        return {ControlStatus::Busy, "active role not yet confirmed after a local stall"};
    }
    if (!peerPresent_ || !peer_) {
        return {ControlStatus::Unavailable, "no standby: the peer is not reachable on any path"};
    }
    if (peer_->role != Role::Standby) {
        return {ControlStatus::Unavailable, std::string("the peer is not a ready standby (role ") +
                                                std::string(toString(peer_->role)) + ")"};
    }
    if (!peer_->fit) {
        return {ControlStatus::Unavailable, "the peer is unfit to be active"};
    }
    beginHandover(now, SwitchoverReason::Manual);
    return {ControlStatus::Ok, "handover started"};
}

void RoleFsm::setFit(TimePoint now, bool fit) {
    if (fit_ == fit) {
        return;
    }
    Role before = role();
    fit_ = fit;
    actions_.push_back({FsmActionType::RoleChanged, epoch_, before, role()});
    if (!fit_ && active() && peerPresent_ && peer_ && peer_->fit && peer_->role == Role::Standby &&
        !handingOver()) {
        beginHandover(now, SwitchoverReason::LocalFault);
    }
}

bool RoleFsm::preemptWanted() const {
    return cfg_.preempt && state_ == FsmState::Active && peerPresent_ && peer_ &&
           peer_->role == Role::Standby && peer_->fit && peer_->slot < cfg_.slot;
}

void RoleFsm::checkPreempt(TimePoint now) {
    if (!preemptWanted()) {
        preemptSince_.reset();
        preemptHeldUntil_.reset();
        return;
    }
    preemptHeldUntil_ = guard_.holdUntil(now);
    if (preemptHeldUntil_) { // the delay starts again once the hold-down is over
        preemptSince_.reset();
        return;
    }
    if (!preemptSince_) {
        preemptSince_ = now;
    }
    if (now >= *preemptSince_ + cfg_.preemptDelay) {
        beginHandover(now, SwitchoverReason::PeerPreempted);
    }
}

bool RoleFsm::shutdown(TimePoint) {
    bool handOver = active() && peerPresent_ && peer_ && peer_->role != Role::Active;
    Role before = role();
    if (state_ != FsmState::Stopped) {
        enter(FsmState::Stopped, FsmCause::Shutdown);
    }
    actions_.push_back({FsmActionType::RoleChanged, epoch_, before, Role::Stopped});
    return handOver;
}

std::optional<TimePoint> RoleFsm::deadline() const {
    std::optional<TimePoint> d;
    auto consider = [&d](std::optional<TimePoint> t) {
        if (t && (!d || *t < *d)) {
            d = t;
        }
    };
    if (state_ == FsmState::Init && initDeadline() != TimePoint::max()) {
        consider(initDeadline());
    }
    consider(unconfirmedUntil_);
    consider(handoverUntil_);
    if (preemptSince_) {
        consider(*preemptSince_ + cfg_.preemptDelay);
    }
    consider(preemptHeldUntil_);
    return d;
}

std::vector<FsmAction> RoleFsm::takeActions() {
    std::vector<FsmAction> out;
    out.swap(actions_);
    return out;
}

} // namespace hs

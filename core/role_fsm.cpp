#include "core/role_fsm.hpp"

#include <algorithm>
#include <limits>

namespace hs {

void RoleFsm::start(TimePoint now, std::uint64_t storedEpoch) {
    epoch_ = storedEpoch;
    state_ = State::Init;
    started_ = now;
    actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Init, Role::Init});
}

Role RoleFsm::visibleRole(State s) const {
    switch (s) {
    case State::Init:
        return fit_ ? Role::Init : Role::Fault;
    case State::Standby:
    case State::TakingOver:
        return fit_ ? Role::Standby : Role::Fault;
    case State::Active:
        return Role::Active;
    case State::Stopped:
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
        if (state_ == State::Init || state_ == State::Standby) {
            takeOver(now, state_ == State::Init ? SwitchoverReason::InitAlone
                                                : SwitchoverReason::PeerShutdown);
        } else if (state_ == State::Active && handingOver_) {
            handingOver_ = false;
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
    case State::Init:
        epoch_ = std::max(epoch_, p.epoch);
        if (peerActing(p)) {
            standDown(now, SwitchoverReason::None);
        } else {
            arbitrateWithoutActive(now, p);
        }
        break;
    case State::Standby:
        epoch_ = std::max(epoch_, p.epoch);
        if (!peerActing(p)) {
            arbitrateWithoutActive(now, p);
        }
        break;
    case State::TakingOver:
        if (peerActing(p) && pendingReason_ == SwitchoverReason::PeerLost) {
            // The active we thought lost is heard again before we acted: it keeps the role.
            epoch_ = std::max(epoch_, p.epoch);
            state_ = State::Standby;
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Standby, Role::Standby});
        } else if (peerActing(p) &&
                   (p.epoch > pendingEpoch_ || (p.epoch == pendingEpoch_ && !iWinTie(p)))) {
            // The peer is active in a newer term: give up the takeover before acting at all.
            epoch_ = std::max(epoch_, p.epoch);
            state_ = State::Standby;
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Standby, Role::Standby});
        }
        break;
    case State::Active:
        if (peerActing(p)) {
            bool peerWins = p.epoch > epoch_ || (p.epoch == epoch_ && !iWinTie(p));
            if (peerWins) {
                SwitchoverReason why =
                    handingOver_ ? handoverReason_ : SwitchoverReason::SplitBrain;
                bool split = !handingOver_;
                epoch_ = std::max(epoch_, p.epoch);
                standDown(now, why);
                if (split) {
                    actions_.push_back({FsmActionType::SplitBrainResolved, epoch_, Role::Active,
                                        Role::Standby, SwitchoverReason::SplitBrain});
                }
            } else {
                if (unconfirmed_) {
                    unconfirmed_ = false;
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
        if (unconfirmed_ && !p.takingOver) {
            // The peer is not active nor about to be: our term stands.
            epoch_ = std::max(epoch_, p.epoch);
            unconfirmed_ = false;
            unconfirmedUntil_.reset();
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
        }
        if (!fit_ && p.fit && p.role == Role::Standby && !handingOver_) {
            beginHandover(now, SwitchoverReason::LocalFault);
        }
        checkPreempt(now);
        break;
    case State::Stopped:
        break;
    }
}

void RoleFsm::arbitrateWithoutActive(TimePoint now, const PeerInfo& p) {
    // Neither node is active. Exactly one of the two must decide to take over.
    if (fit_ != p.fit) {
        if (fit_) {
            takeOver(now, state_ == State::Init ? SwitchoverReason::InitPreferred
                                                : SwitchoverReason::PeerFault);
        }
        return;
    }
    bool meStandby = state_ == State::Standby;
    bool peerStandby = p.role == Role::Standby || p.role == Role::Fault;
    bool peerInit = p.role == Role::Init;
    if (meStandby && peerInit) {
        takeOver(now, SwitchoverReason::PeerLost); // the active restarted: we hold the state
        return;
    }
    if (!meStandby && peerStandby) {
        return; // the standby peer takes over
    }
    if (iWinTie(p)) {
        takeOver(now, meStandby ? SwitchoverReason::PeerLost : SwitchoverReason::InitPreferred);
    }
}

void RoleFsm::onPeerHandover(TimePoint now, const PeerInfo& p, SwitchoverReason reason) {
    peer_ = p;
    peerPresent_ = true;
    if (state_ == State::Active && p.role == Role::Active) {
        return; // the peer hands over to us and stands down once it sees us active
    }
    if (state_ == State::Active || state_ == State::TakingOver || state_ == State::Stopped) {
        onPeerFrame(now, p);
        return;
    }
    epoch_ = std::max(epoch_, p.epoch);
    if (!fit_ && p.fit) {
        return; // not fit to manage; the peer keeps the role and aborts its handover
    }
    takeOver(now, reason);
}

void RoleFsm::onPeerLost(TimePoint now) {
    peerPresent_ = false;
    preemptSince_.reset();
    if (state_ == State::Standby || (state_ == State::Init && peer_)) {
        takeOver(now, SwitchoverReason::PeerLost);
    } else if (state_ == State::Active && handingOver_) {
        handingOver_ = false;
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
    if (state_ == State::Init && now >= initDeadline()) {
        takeOver(now, SwitchoverReason::InitAlone);
    }
    if (unconfirmedUntil_ && now >= *unconfirmedUntil_) {
        unconfirmedUntil_.reset();
        if (unconfirmed_) {
            unconfirmed_ = false; // nobody contested our term for a whole detection time
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
        }
    }
    if (handoverUntil_ && now >= *handoverUntil_) {
        handoverUntil_.reset();
        if (handingOver_) {
            handingOver_ = false; // the peer did not take over: keep managing
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
        }
    }
    checkPreempt(now);
}

void RoleFsm::onUnauthenticatedPeer(TimePoint now) {
    if (state_ == State::Init) {
        initHoldUntil_ = now + 2 * cfg_.detection;
    }
}

void RoleFsm::onStall(TimePoint now) {
    if (state_ == State::Active) {
        bool was = unconfirmed_;
        unconfirmed_ = true;
        unconfirmedUntil_ = now + cfg_.detection;
        if (!was) {
            actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
        }
    }
}

void RoleFsm::takeOver(TimePoint, SwitchoverReason reason) {
    if (state_ == State::Active || state_ == State::TakingOver || state_ == State::Stopped) {
        return;
    }
    pendingFrom_ = visibleRole(state_);
    std::uint64_t newest = std::max(epoch_, peer_ ? peer_->epoch : 0);
    pendingEpoch_ = newest < std::numeric_limits<std::uint64_t>::max() ? newest + 1 : newest;
    pendingReason_ = reason;
    state_ = State::TakingOver;
    actions_.push_back(
        {FsmActionType::PersistEpoch, pendingEpoch_, pendingFrom_, Role::Active, reason});
}

void RoleFsm::onEpochPersisted(TimePoint, std::uint64_t epoch) {
    if (state_ != State::TakingOver || epoch != pendingEpoch_) {
        epoch_ = std::max(epoch_, epoch);
        return;
    }
    epoch_ = epoch;
    state_ = State::Active;
    unconfirmed_ = false;
    handingOver_ = false;
    splitReported_ = false;
    actions_.push_back(
        {FsmActionType::Switchover, epoch_, pendingFrom_, Role::Active, pendingReason_});
    actions_.push_back({FsmActionType::RoleChanged, epoch_, pendingFrom_, Role::Active});
}

void RoleFsm::abortTakeover(TimePoint) {
    if (state_ != State::TakingOver) {
        return;
    }
    state_ = State::Standby;
    actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Standby, Role::Standby});
}

void RoleFsm::standDown(TimePoint, SwitchoverReason reason) {
    Role from = visibleRole(state_);
    bool wasActive = state_ == State::Active;
    state_ = State::Standby;
    unconfirmed_ = false;
    unconfirmedUntil_.reset();
    handingOver_ = false;
    handoverUntil_.reset();
    preemptSince_.reset();
    if (wasActive) {
        actions_.push_back({FsmActionType::Switchover, epoch_, from, visibleRole(state_), reason});
    }
    actions_.push_back({FsmActionType::RoleChanged, epoch_, from, visibleRole(state_)});
}

void RoleFsm::beginHandover(TimePoint now, SwitchoverReason reason) {
    handingOver_ = true;
    handoverReason_ = reason;
    preemptSince_.reset();
    handoverUntil_ = now + 2 * cfg_.detection + milliseconds(500);
    actions_.push_back({FsmActionType::SendHandover, epoch_, Role::Active, Role::Standby, reason});
    actions_.push_back({FsmActionType::RoleChanged, epoch_, Role::Active, Role::Active});
}

ControlResult RoleFsm::requestSwitchover(TimePoint now, bool force) {
    if (force) {
        if (state_ == State::Active || state_ == State::TakingOver) {
            return {ControlStatus::InvalidArgument, "this node is already active"};
        }
        takeOver(now, SwitchoverReason::Manual);
        return {ControlStatus::Ok, "forced takeover started"};
    }
    if (state_ != State::Active) {
        return {ControlStatus::NotActive, "this node is not active"};
    }
    if (handingOver_) {
        return {ControlStatus::Busy, "a switchover is already in progress"};
    }
    if (unconfirmed_) {
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
    if (!fit_ && state_ == State::Active && peerPresent_ && peer_ && peer_->fit &&
        peer_->role == Role::Standby && !handingOver_) {
        beginHandover(now, SwitchoverReason::LocalFault);
    }
}

bool RoleFsm::preemptWanted() const {
    return cfg_.preempt && state_ == State::Active && !handingOver_ && !unconfirmed_ &&
           peerPresent_ && peer_ && peer_->role == Role::Standby && peer_->fit &&
           peer_->slot < cfg_.slot;
}

void RoleFsm::checkPreempt(TimePoint now) {
    if (!preemptWanted()) {
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
    bool handOver = state_ == State::Active && peerPresent_ && peer_ && peer_->role != Role::Active;
    Role before = role();
    state_ = State::Stopped;
    handingOver_ = false;
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
    if (state_ == State::Init && initDeadline() != TimePoint::max()) {
        consider(initDeadline());
    }
    consider(unconfirmedUntil_);
    consider(handoverUntil_);
    if (preemptSince_) {
        consider(*preemptSince_ + cfg_.preemptDelay);
    }
    return d;
}

std::vector<FsmAction> RoleFsm::takeActions() {
    std::vector<FsmAction> out;
    out.swap(actions_);
    return out;
}

} // namespace hs

// Role arbitration between the two modules. Pure: events and time in, actions out; no I/O.
//
// Rules (docs/design.md explains why):
// - At start the node is INIT and waits up to init_dead for the peer. A peer that is ACTIVE makes
//   it STANDBY; with nobody active the STANDBY beats an INIT node, and between equals the
//   preferred slot (the lower one) wins; an unfit node never takes over from a fit one.
// - A STANDBY takes over only when the peer is lost (every path down for the detection time), on
//   a handover from the peer, or when the peer reports itself unfit.
// - Every takeover raises the epoch, which is persisted (fsynced) before the node acts as ACTIVE.
// - Two ACTIVE nodes (after a partition heals): the higher epoch keeps ACTIVE, ties by the lower
//   slot; the other stands down at once.
// - A node that finds its own timers fired far too late (it was stalled) keeps the ACTIVE role
//   only as "unconfirmed": it does nothing as active until it has heard the peer or a further
//   detection time has passed.
// The sub-states (taking over, unconfirmed, handing over) are states of their own (FsmState),
// changed only through enter() and only along the from/to table kFsmTransitions.
#pragma once

#include "base/types.hpp"
#include "core/switchover_guard.hpp"
#include "hb/peer_view.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hs {

struct RoleFsmConfig {
    std::uint32_t nodeId = 0;
    std::uint8_t slot = 0;
    Duration initDead{seconds(2)};
    Duration detection{milliseconds(30)}; // N x interval
    Duration interval{milliseconds(10)};
    bool preempt = false;
    Duration preemptDelay{seconds(5)};
    // The switchover rate guard over manual switchovers and preemption (limit 0: off).
    SwitchoverGuardConfig guard{.limit = 0};
};

// What the node knows of the peer from its latest authenticated frame (kept by hb::PeerView).
using PeerInfo = hb::PeerInfo;

// Every state the arbitration can be in. The visible Role (frames, MIB, hsctl, journal) is a
// function of the state and the fitness: INIT/STANDBY/TAKING_OVER show FAULT while the node is
// unfit; the four active sub-states all show ACTIVE. Fitness is an input, not a state: it colours
// the visible role and guards transitions.
enum class FsmState : std::uint8_t {
    Init,                   // waiting up to init_dead for the peer
    Standby,                // ready to take over
    TakingOver,             // a new epoch is being made durable (or the peer fenced) first
    Active,                 // active and confirmed: the only state that drives the chassis
    ActiveUnconfirmed,      // active after a local stall, until the peer is heard or a detection
                            // time passes uncontested
    HandingOver,            // active, has asked the peer to take over, no longer drives
    HandingOverUnconfirmed, // both of the above
    Stopped,                // shut down cleanly
};
inline constexpr std::size_t kFsmStateCount = 8;

// Why a transition happened (logged with it; the journal keeps its own SwitchoverReason).
enum class FsmCause : std::uint8_t {
    PeerActive,      // the peer is active: INIT stands by
    PeerStopped,     // the peer left cleanly
    PeerLost,        // every path down for the detection time
    PeerHandover,    // the peer asked us to take over
    Arbitration,     // nobody is active and this node wins the arbitration
    InitDead,        // init_dead passed without a verified peer
    ManualTakeover,  // forced takeover (operator)
    EpochDurable,    // the takeover's epoch is on disk: act as active
    PeerKeepsRole,   // the active we thought lost, or one in a newer term, is heard
    TakeoverAborted, // fencing failed or the peer came back while fencing
    NewerTerm,       // two actives: the peer's term wins (split brain or completed handover)
    Stall,           // this node's timers fired far too late
    PeerConfirms,    // the peer was heard and does not contest our term
    Uncontested,     // a detection time passed after the stall with nobody contesting
    HandoverStart,   // manual switchover, local fault or preemption
    HandoverEnded,   // the peer did not take over (timeout, lost, stopped): keep managing
    Shutdown,
};

std::string_view toString(FsmState s);
std::string_view toString(FsmCause c);

// The allowed transitions, from -> to. Everything else is refused by RoleFsm::enter. A test walks
// all 64 pairs: every allowed one is driven through the public API, every other one refused.
inline constexpr std::array<std::array<bool, kFsmStateCount>, kFsmStateCount> kFsmTransitions = [] {
    std::array<std::array<bool, kFsmStateCount>, kFsmStateCount> t{};
    auto allow = [&t](FsmState from, FsmState to) {
        t[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)] = true;
    };
    using S = FsmState;
    allow(S::Init, S::Standby);
    allow(S::Init, S::TakingOver);
    allow(S::Init, S::Stopped);
    allow(S::Standby, S::TakingOver);
    allow(S::Standby, S::Stopped);
    allow(S::TakingOver, S::Standby);
    allow(S::TakingOver, S::Active);
    allow(S::TakingOver, S::Stopped);
    allow(S::Active, S::ActiveUnconfirmed);
    allow(S::Active, S::HandingOver);
    allow(S::Active, S::Standby);
    allow(S::Active, S::Stopped);
    allow(S::ActiveUnconfirmed, S::Active);
    allow(S::ActiveUnconfirmed, S::HandingOverUnconfirmed);
    allow(S::ActiveUnconfirmed, S::Standby);
    allow(S::ActiveUnconfirmed, S::Stopped);
    allow(S::HandingOver, S::Active);
    allow(S::HandingOver, S::HandingOverUnconfirmed);
    allow(S::HandingOver, S::Standby);
    allow(S::HandingOver, S::Stopped);
    allow(S::HandingOverUnconfirmed, S::HandingOver);
    allow(S::HandingOverUnconfirmed, S::ActiveUnconfirmed);
    allow(S::HandingOverUnconfirmed, S::Standby);
    allow(S::HandingOverUnconfirmed, S::Stopped);
    return t;
}();

constexpr bool fsmAllows(FsmState from, FsmState to) {
    return kFsmTransitions[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)];
}

struct FsmTransition {
    FsmState from = FsmState::Init;
    FsmState to = FsmState::Init;
    FsmCause cause = FsmCause::Shutdown;
};

enum class FsmActionType : std::uint8_t {
    PersistEpoch, // write + fsync epoch, then call onEpochPersisted
    RoleChanged,  // role (or active confirmation) changed: re-send heartbeats now
    SendHandover, // ask the peer to take over now (send on every path)
    Switchover,   // journal + notify: from/to role, reason, epoch
    SplitBrainResolved,
    SwitchoverHoldDown, // the rate guard's limit is reached: voluntary switchovers held down
};

struct FsmAction {
    FsmActionType type{};
    std::uint64_t epoch = 0;
    Role from = Role::Init;
    Role to = Role::Init;
    SwitchoverReason reason = SwitchoverReason::None;
};

class RoleFsm {
  public:
    explicit RoleFsm(RoleFsmConfig cfg) : cfg_(cfg), guard_(cfg.guard) {}

    void start(TimePoint now, std::uint64_t storedEpoch);
    void onPeerFrame(TimePoint now, const PeerInfo& peer);
    void onPeerHandover(TimePoint now, const PeerInfo& peer, SwitchoverReason reason);
    void onPeerLost(TimePoint now);      // every path down
    void onPeerRecovered(TimePoint now); // some path up again
    void onTimer(TimePoint now);
    void onStall(TimePoint now);
    // Frames that fail authentication keep arriving: something that looks like the peer is alive
    // but speaks with another key. A starting node then waits two detection times longer before
    // it becomes active alone, and the daemon raises the key alarm; the whole wait is capped at
    // init_dead + 2 detection times (anyone can send a bad-tag datagram).
    void onUnauthenticatedPeer(TimePoint now);
    void onEpochPersisted(TimePoint now, std::uint64_t epoch);
    // A takeover that must not go ahead (fencing the peer failed): back to STANDBY.
    void abortTakeover(TimePoint now);
    ControlResult requestSwitchover(TimePoint now, bool force);
    void setFit(TimePoint now, bool fit);
    void setPreempt(bool on) { cfg_.preempt = on; }
    // Clean shutdown: returns true if the peer should be told to take over now.
    bool shutdown(TimePoint now);

    // The role other nodes and the MIB see.
    Role role() const;
    std::uint64_t epoch() const { return epoch_; }
    bool unconfirmed() const {
        return state_ == FsmState::ActiveUnconfirmed || state_ == FsmState::HandingOverUnconfirmed;
    }
    bool fit() const { return fit_; }
    bool peerPresent() const { return peerPresent_; }
    const std::optional<PeerInfo>& peer() const { return peer_; }
    // Only this node may send control commands to the chassis right now.
    bool drivesChassis() const { return state_ == FsmState::Active; }
    bool handingOver() const {
        return state_ == FsmState::HandingOver || state_ == FsmState::HandingOverUnconfirmed;
    }
    SwitchoverReason handoverReason() const { return handoverReason_; }
    bool takingOver() const { return state_ == FsmState::TakingOver; }
    FsmState state() const { return state_; }
    // Every change of state goes through here: checked against kFsmTransitions, logged and
    // recorded. A pair the table does not allow is refused: the state stays, the refusal is
    // counted and logged as an error, and the call returns false (in every build type, so the
    // table walk can test it). The handlers are the normal callers; it is public for that test.
    bool enter(FsmState to, FsmCause cause);
    const std::optional<FsmTransition>& lastTransition() const { return lastTransition_; }
    std::uint64_t transitions() const { return transitions_; }
    std::uint64_t refusedTransitions() const { return refused_; }
    std::optional<TimePoint> deadline() const;
    std::vector<FsmAction> takeActions();
    const RoleFsmConfig& config() const { return cfg_; }
    // The switchover rate guard (manual switchovers and preemption).
    const SwitchoverGuard& guard() const { return guard_; }

  private:
    TimePoint initDeadline() const;
    void takeOver(TimePoint now, SwitchoverReason reason, FsmCause cause);
    void standDown(TimePoint now, SwitchoverReason reason, FsmCause cause);
    void arbitrateWithoutActive(TimePoint now, const PeerInfo& peer);
    bool peerActing(const PeerInfo& p) const { return p.role == Role::Active; }
    bool iWinTie(const PeerInfo& p) const;
    Role visibleRole(FsmState s) const;
    bool active() const; // any of the four active sub-states
    void confirm(FsmCause cause);
    void endHandover();
    void beginHandover(TimePoint now, SwitchoverReason reason);
    void checkPreempt(TimePoint now);
    bool preemptWanted() const;
    void countSwitchover(TimePoint now, SwitchoverReason reason);

    RoleFsmConfig cfg_;
    FsmState state_ = FsmState::Init;
    std::uint64_t epoch_ = 0;
    std::uint64_t pendingEpoch_ = 0;
    SwitchoverReason pendingReason_ = SwitchoverReason::None;
    Role pendingFrom_ = Role::Init;
    bool fit_ = true;
    bool peerPresent_ = false;
    std::optional<PeerInfo> peer_;
    TimePoint started_{};
    std::optional<TimePoint> unconfirmedUntil_;
    std::optional<TimePoint> initHoldUntil_;
    std::optional<TimePoint> handoverUntil_;
    SwitchoverReason handoverReason_ = SwitchoverReason::None;
    std::optional<TimePoint> preemptSince_;
    std::optional<TimePoint> preemptHeldUntil_; // preemption waits for the guard's hold-down
    SwitchoverGuard guard_{cfg_.guard};
    bool splitReported_ = false;
    std::vector<FsmAction> actions_;
    std::optional<FsmTransition> lastTransition_;
    std::uint64_t transitions_ = 0;
    std::uint64_t refused_ = 0;
};

} // namespace hs

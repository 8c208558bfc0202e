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
#pragma once

#include "base/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
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
};

// What the node knows of the peer from its latest authenticated frame.
struct PeerInfo {
    Role role = Role::Init;
    std::uint64_t epoch = 0;
    std::uint8_t slot = 0;
    bool fit = true;
    bool unconfirmed = false;
    std::uint32_t nodeId = 0;
    bool takingOver = false; // standby persisting a new epoch: about to become active
};

enum class FsmActionType : std::uint8_t {
    PersistEpoch, // write + fsync epoch, then call onEpochPersisted
    RoleChanged,  // role (or active confirmation) changed: re-send heartbeats now
    SendHandover, // ask the peer to take over now (send on every path)
    Switchover,   // journal + notify: from/to role, reason, epoch
    SplitBrainResolved,
};

struct FsmAction {
    FsmActionType type;
    std::uint64_t epoch = 0;
    Role from = Role::Init;
    Role to = Role::Init;
    SwitchoverReason reason = SwitchoverReason::None;
};

class RoleFsm {
  public:
    explicit RoleFsm(RoleFsmConfig cfg) : cfg_(cfg) {}

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
    bool unconfirmed() const { return unconfirmed_; }
    bool fit() const { return fit_; }
    bool peerPresent() const { return peerPresent_; }
    const std::optional<PeerInfo>& peer() const { return peer_; }
    // Only this node may send control commands to the chassis right now.
    bool drivesChassis() const { return state_ == State::Active && !unconfirmed_ && !handingOver_; }
    bool handingOver() const { return handingOver_; }
    SwitchoverReason handoverReason() const { return handoverReason_; }
    bool takingOver() const { return state_ == State::TakingOver; }
    std::optional<TimePoint> deadline() const;
    std::vector<FsmAction> takeActions();
    const RoleFsmConfig& config() const { return cfg_; }

  private:
    enum class State : std::uint8_t { Init, Standby, TakingOver, Active, Stopped };

    TimePoint initDeadline() const;
    void takeOver(TimePoint now, SwitchoverReason reason);
    void standDown(TimePoint now, SwitchoverReason reason);
    void arbitrateWithoutActive(TimePoint now, const PeerInfo& peer);
    bool peerActing(const PeerInfo& p) const { return p.role == Role::Active; }
    bool iWinTie(const PeerInfo& p) const;
    Role visibleRole(State s) const;
    void beginHandover(TimePoint now, SwitchoverReason reason);
    void checkPreempt(TimePoint now);
    bool preemptWanted() const;

    RoleFsmConfig cfg_;
    State state_ = State::Init;
    std::uint64_t epoch_ = 0;
    std::uint64_t pendingEpoch_ = 0;
    SwitchoverReason pendingReason_ = SwitchoverReason::None;
    Role pendingFrom_ = Role::Init;
    bool fit_ = true;
    bool unconfirmed_ = false;
    bool handingOver_ = false;
    bool peerPresent_ = false;
    std::optional<PeerInfo> peer_;
    TimePoint started_{};
    std::optional<TimePoint> unconfirmedUntil_;
    std::optional<TimePoint> initHoldUntil_;
    std::optional<TimePoint> handoverUntil_;
    SwitchoverReason handoverReason_ = SwitchoverReason::None;
    std::optional<TimePoint> preemptSince_;
    bool splitReported_ = false;
    std::vector<FsmAction> actions_;
};

} // namespace hs

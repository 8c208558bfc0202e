// The whole heartbeat logic of one node: the peer view (hb::PeerView: path monitors, replay,
// freshness, RTT, peer incarnation and liveness), role arbitration (RoleFsm), heartbeat
// scheduling, epoch persistence and the fitness debounce. Pure and deterministic: time and decoded
// frames in, frames to send, epoch writes and events out. The daemon drives it from Asio; the
// simulation drives two of them under a virtual clock.
#pragma once

#include "base/types.hpp"
#include "core/role_fsm.hpp"
#include "hb/frame.hpp"
#include "hb/path_monitor.hpp"
#include "hb/peer_view.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace hs {

struct NodePathConfig {
    std::string name;
    PathType type = PathType::Udp;
    std::string endpoint;
    Duration interval{milliseconds(10)};
};

struct NodeCoreConfig {
    std::uint32_t nodeId = 1;
    std::uint8_t slot = 0;
    std::uint32_t missThreshold = 3;
    std::uint32_t recoveryThreshold = 3;
    Duration initDead{seconds(2)};
    bool preempt = false;
    Duration preemptDelay{seconds(5)};
    // The switchover rate guard over manual switchovers and preemption (limit 0: off).
    SwitchoverGuardConfig switchoverGuard{.limit = 0};
    std::vector<NodePathConfig> paths;
    // Timers firing later than this mean the node itself was stalled (0: half the detection time).
    Duration stallThreshold{0};
    std::size_t journalSize = 64;
    // Fence the peer (power it off through its BMC) before taking over for peer loss.
    bool fencing = false;
    Duration fenceRetry{seconds(2)};
    // Read once when something happens (role, path or peer change, switchover) to stamp it with
    // the wall-clock time in unix ms. Empty: the steady time in ms (tests, simulation).
    std::function<std::int64_t()> wallClockMs;
};

// What the node logic asks of the world, in the order it must happen. The daemon and the
// simulation carry out each kind; a new kind (replication) is one more alternative here.
namespace effect {
struct SendFrame { // send on path `path` (0-based)
    std::size_t path = 0;
    hb::Frame frame;
};
struct PersistEpoch { // write + fsync, then onEpochPersisted or onEpochPersistFailed
    std::uint64_t epoch = 0;
};
struct PersistPeerIncarnation { // a safeguard across restarts; a failure is only logged
    std::uint32_t incarnation = 0;
};
struct FencePeer {}; // power the peer off through its BMC, then onFenceResult
struct CancelFence {};
struct DriveChassis { // start (on) or stop (off) commanding the chassis
    bool on = false;
};
struct Notify { // an event for the log, the MIB and a notification
    Event event;
};
} // namespace effect

using Effect =
    std::variant<effect::SendFrame, effect::PersistEpoch, effect::PersistPeerIncarnation,
                 effect::FencePeer, effect::CancelFence, effect::DriveChassis, effect::Notify>;

class NodeCore {
  public:
    // storedPeerIncarnation: the peer incarnation persisted by an earlier run (0: none).
    NodeCore(NodeCoreConfig cfg, std::uint64_t storedEpoch, std::uint32_t incarnation,
             std::uint32_t storedPeerIncarnation = 0);

    void start(TimePoint now);
    // An authenticated frame from path `path` (0-based) received at `now`.
    void onFrame(TimePoint now, std::size_t path, const hb::Frame& f) {
        onFrame(now, path, f, now);
    }
    // The same, read at `now` but arrived at `rxTime` (<= now; the kernel's arrival stamp of a
    // frame that waited for the next tick): freshness, the round trip and the path's failure
    // detector count from the arrival, everything this node does in answer from `now`.
    void onFrame(TimePoint now, std::size_t path, const hb::Frame& f, TimePoint rxTime);
    // A frame that failed decoding/authentication, or a link I/O error.
    void onRejected(TimePoint now, std::size_t path, hb::DecodeError e);
    void onLinkError(TimePoint now, std::size_t path);
    void onTimer(TimePoint now);
    void onEpochPersisted(TimePoint now, std::uint64_t epoch);
    // A write asked for by a PersistEpoch effect failed: the node is unfit until a write succeeds
    // and retries with backoff (nextWakeup includes the retry).
    void onEpochPersistFailed(TimePoint now, std::uint64_t epoch, std::string reason);
    // Result of a FencePeer effect: the takeover goes ahead only if ok.
    void onFenceResult(TimePoint now, bool ok);
    ControlResult requestSwitchover(TimePoint now, bool force);
    // The node's own view of its fitness, bypassing the BMC debounce (tests).
    void setFit(TimePoint now, bool fit);
    // Whether the node reaches its BMC, reported every now and then: a BMC unreachable for 3 s
    // makes the node unfit (not within 3 s of the start), a reachable one fit again at once.
    void setBmcReachable(TimePoint now, bool reachable);
    void setPreempt(bool on);
    // A clean stop: lets the chassis go and sends role=STOPPED frames (handovers when this node
    // was active with a peer present) on every path, and a second copy of them 5 ms later with
    // fresh sequence numbers (nextWakeup includes it); then the node falls silent.
    void shutdown(TimePoint now);
    // The stop frames, both copies, have been handed out: the daemon may close the links.
    bool shutdownDone() const { return stopped_ && !stopResendAt_; }

    // Replication (docs/replication.md "How it rides"). The payload every heartbeat frame carries
    // from now on (the replication watermark); on a serial path only every
    // kSerialPayloadEvery-th heartbeat carries it, so the line keeps its spare room.
    void setHeartbeatPayload(std::vector<std::uint8_t> payload) { hbPayload_ = std::move(payload); }
    // A frame of the replication kind carrying PAYLOAD on PATH, with the path's next sequence
    // number (replay-checked by the peer like every frame); none once the node has stopped.
    std::optional<hb::Frame> replicationFrame(TimePoint now, std::size_t path,
                                              std::vector<std::uint8_t> payload);
    // Payloads of the peer's frames that passed every check (authentic, on their path, fresh,
    // not replayed, from the peer incarnation we follow) since the last take: heartbeat
    // watermarks and replication messages, for the daemon to decode.
    struct PeerPayload {
        std::size_t path = 0;
        hb::FrameType type = hb::FrameType::Heartbeat;
        Role role = Role::Init;
        std::uint64_t epoch = 0;
        std::vector<std::uint8_t> payload;
    };
    std::vector<PeerPayload> takePeerPayloads() {
        std::vector<PeerPayload> out;
        out.swap(peerPayloads_);
        return out;
    }
    static constexpr std::uint32_t kSerialPayloadEvery = 4;

    // When onTimer wants to be called next.
    TimePoint nextWakeup() const;
    // Everything the calls since the last take asked for, in order. A DriveChassis off comes
    // before any frame that may let the peer take over; a DriveChassis on comes last.
    std::vector<Effect> takeEffects();

    Role role() const { return fsm_.role(); }
    std::uint64_t epoch() const { return fsm_.epoch(); }
    // Only this node may command the chassis right now (DriveChassis effects follow it).
    bool drivesChassis() const { return fsm_.drivesChassis(); }
    bool unconfirmed() const { return fsm_.unconfirmed(); }
    bool peerAlive() const { return peerView_.alive(); }
    Redundancy redundancy() const { return peerView_.redundancy(); }
    std::uint64_t stalls() const { return stalls_; }
    bool stateDirWritable() const { return stateDirWritable_; }
    const std::optional<PeerInfo>& peer() const { return peerView_.peer(); }
    // What is known of the peer and the per-path receive state.
    const hb::PeerView& peerView() const { return peerView_; }
    // The role state machine, read-only (its state and transition counters).
    const RoleFsm& fsm() const { return fsm_; }
    const hb::PathMonitor& monitor(std::size_t i) const { return peerView_.monitor(i); }
    std::size_t pathCount() const { return paths_.size(); }
    const NodeCoreConfig& config() const { return cfg_; }
    // Every time in it was recorded when its event happened: two snapshots agree on the past.
    Snapshot snapshot() const;
    // Older form; the arguments are no longer needed.
    Snapshot snapshot(TimePoint, std::int64_t) const { return snapshot(); }

  private:
    // Send times of our latest frames on a path: the peer's echo of one of them proves that it
    // answers this incarnation of ours (a recording cannot).
    // Replication frames take send times too (at most about 11 a tick on a network path), which
    // makes the window shorter in time, never longer: a larger window would let older
    // recordings pass (sim_roles finds a false takeover with 256).
    static constexpr std::size_t kSentWindow = 64;

    // The sending side of a path and its counters; the receive state is in peerView_.
    struct PathRuntime {
        NodePathConfig cfg;
        std::uint64_t txSeq = 0;
        TimePoint nextSend{};
        std::array<std::uint64_t, kSentWindow> sent{};
        std::size_t sentNext = 0;
        std::optional<TimePoint> lastAnswer;
        PathCounters counters;
        std::int64_t lastChangeUnixMs = 0;
        std::uint32_t heartbeatsSent = 0; // (which of them carry the payload on serial)

        bool sentByUs(std::uint64_t ns) const;
    };

    void checkStall(TimePoint now);
    void answerNow(TimePoint now, std::size_t path);
    void notePathChange(TimePoint now, PathRuntime& p, TimePoint at);
    std::int64_t wallMs(TimePoint now) const;
    void applyFit(TimePoint now);
    void checkBmcFit(TimePoint now);
    std::optional<TimePoint> bmcUnfitAt() const;
    void resendStopFrames(TimePoint now);
    void updatePeerView(TimePoint now);
    void drainFsm(TimePoint now);
    bool requestPersist(std::uint64_t epoch);
    void reserveNextEpoch();
    void proceedTakeover(TimePoint now, std::uint64_t epoch);
    void sendAll(TimePoint now);
    hb::Frame buildFrame(TimePoint now, std::size_t path);
    void emit(Event e) { effects_.push_back(effect::Notify{std::move(e)}); }
    void stopDrivingIfNeeded();
    void journal(TimePoint now, const FsmAction& a);

    NodeCoreConfig cfg_;
    RoleFsm fsm_;
    std::uint64_t storedEpoch_;
    std::uint64_t durableEpoch_;   // highest epoch known to be on disk
    std::uint64_t requestedEpoch_; // highest epoch asked to be written
    std::optional<std::uint64_t> pendingTakeover_;
    std::optional<std::uint64_t> pendingFence_; // takeover epoch waiting for the fence
    std::optional<TimePoint> fenceRetryAt_;
    std::uint32_t incarnation_;
    std::vector<PathRuntime> paths_;
    hb::PeerView peerView_;
    bool bmcOk_ = true;
    bool bmcFit_ = true; // setFit / the debounced setBmcReachable
    std::optional<TimePoint> bmcDownSince_;
    TimePoint startedAt_{};
    bool stateDirWritable_ = true; // the last epoch write did not fail
    std::string stateDirError_;
    std::optional<TimePoint> persistRetryAt_;
    Duration persistBackoff_;
    bool stopped_ = false;
    SwitchoverReason handoverReason_ = SwitchoverReason::Manual;
    std::optional<TimePoint> scheduledWake_;
    Duration stallThreshold_{};
    std::uint64_t stalls_ = 0;
    std::uint64_t switchoverCount_ = 0;
    SwitchoverReason lastReason_ = SwitchoverReason::None;
    std::int64_t lastSwitchoverUnixMs_ = 0;
    std::int64_t holdDownUntilUnixMs_ = 0;
    std::int64_t localRoleChangeUnixMs_ = 0;
    std::int64_t peerRoleChangeUnixMs_ = 0;
    Role lastRole_ = Role::Init;
    struct JournalEntry {
        std::uint32_t index;
        std::int64_t unixMs;
        SwitchoverReason reason;
        Role from, to;
        std::uint64_t epoch;
    };
    std::deque<JournalEntry> journal_;
    std::uint32_t journalNext_ = 1;
    bool driving_ = false;          // the latest DriveChassis effect said on
    bool shutdownHandover_ = false; // the stop frames ask the peer to take over
    std::optional<TimePoint> stopResendAt_;
    std::vector<effect::SendFrame> stopFrames_;
    std::vector<Effect> effects_;
    std::vector<std::uint8_t> hbPayload_;
    std::vector<PeerPayload> peerPayloads_;
};

} // namespace hs

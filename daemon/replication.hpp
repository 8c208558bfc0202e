// The daemon's replication (docs/replication.md): one repl::Store, the Sender while this node
// drives the chassis (the store's only writer) and the Receiver otherwise (the mirror), driven on
// the core thread from the heartbeat tick. Messages ride as replication frames on the best path
// that is up, within the path's spare bytes per tick; the watermark rides in every heartbeat
// (on serial in every NodeCore::kSerialPayloadEvery-th).
//
// What the writer writes: operator intent (the chassis's IntentUpdates, preemption), the
// switchover journal rows, chassis events, and telemetry coalesced from the chassis snapshot.
// At a takeover the mirror becomes chassis::ReplicatedIntent.
#pragma once

#include "base/types.hpp"
#include "chassis/replicated_intent.hpp"
#include "core/node_core.hpp"
#include "repl/protocol.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hs {

// What replication needs to know of a heartbeat path.
struct ReplicationPath {
    PathType type = PathType::Udp;
    Duration interval{milliseconds(10)};
    std::uint32_t baud = 115200; // serial only
};

// ---- pure conversions (tested on their own) ----

// Line rate assumed for a network path (100 Mbit/s) and the cap of replication bytes per tick
// on it: a snapshot travels in bounded slices, the link's send queue stays short.
inline constexpr std::uint64_t kNetworkBytesPerSecond = 12'500'000;
inline constexpr std::size_t kNetworkBytesPerTick = 8192;
// While the standby is far behind (a snapshot or catch-up in flight: more than
// ReceiverConfig::hotLagRecords sequence numbers of a stream unacknowledged), a network path's
// cap is this instead (within the 100 Mbit/s line rate: 125,000 bytes a tick at 10 ms): a snapshot
// of 10,000 records (about 235 KB) takes about 8 ticks, not about 30. The tick's heartbeat is
// still sent first; the serial line's budget never changes. About 35 frames a tick, so the echo
// window (NodeCore::kSentWindow, 64 send times) still covers more than one interval.
inline constexpr std::size_t kNetworkBulkBytesPerTick = 32768;
// A network link's send queue drops its oldest frame when full (hb::LinkConfig::maxQueuedFrames,
// 2 for heartbeats alone): a tick sends its heartbeat and then up to about 35 replication frames
// (the join reply, kNetworkBulkBytesPerTick of Deltas of at most 1024 bytes, one per stream to
// finish), so the network links queue this many. The serial line's budget fits at most one
// message a tick.
inline constexpr std::size_t kNetworkQueuedFrames = 48;
// Replication messages a network path may carry at once between two ticks (a Delta as soon as
// an ordered record is written, the standby's Ack as soon as it holds it), out of what the tick
// left of its budget: with the tick's about 35 frames still within kNetworkQueuedFrames and the
// echo window. The serial line carries none (a frame sent late in an interval would still be on
// the line when the next heartbeat is due): there everything waits for the tick.
inline constexpr std::size_t kNetworkImmediatePerTick = 4;
// The budget of one tick on PATH when the heartbeat watermark takes WATERMARKBYTES: the path's
// spare bytes per interval (repl::spareBytesPerTick) less the heartbeat frame with its share of
// the watermark, capped (kNetworkBulkBytesPerTick when BULK, else kNetworkBytesPerTick); on
// serial telemetry waits and BULK changes nothing. Network paths allow kNetworkImmediatePerTick
// messages at once between ticks, the serial line none.
repl::Budget pathBudget(const ReplicationPath& path, std::size_t watermarkBytes, bool bulk = false);

// The record an intent update of the chassis becomes, and its index.
struct IndexedValue {
    std::uint32_t index = 0;
    repl::RecordValue value;
};
std::optional<IndexedValue> intentRecord(const chassis::IntentUpdate& u);
// A chassis event (power change, BMC unreachable/recovered, threshold, fan failure) as a log
// record; none for other events.
std::optional<repl::ChassisEventRecord> eventRecord(const Event& e);
// What a node taking over inherits from its mirror.
chassis::ReplicatedIntent inheritedIntent(const repl::Store& store, bool hot);
// The telemetry records of a chassis snapshot (sensors, power, fans, BMC access).
std::vector<IndexedValue> telemetryRecords(const ChassisSnapshot& s, std::int64_t unixMs);

// The answer to an operator's intent change, from the decision of its wait.
std::string replicationAnswer(std::string_view applied, repl::WaitOutcome o);
// Logs a notice of the protocol (readiness, degraded, restored, conflict, divergence).
void logNotice(const repl::Notice& n);
// The event (for the notifications) a notice makes: Degraded, Restored and Conflict (the number
// of dropped records in Event.count); none for the others. unixMs is left to the caller.
std::optional<Event> noticeEvent(const repl::Notice& n);

class Replication {
  public:
    // An operator's answer waits for the standby's acknowledgement (the core thread then reads
    // the links at once: Daemon::Impl::quiet).
    bool awaitingAck() const { return !waits_.empty(); }
    // Sends one replication message on a path (0-based): the daemon wraps it in a frame.
    using Send = std::function<void(std::size_t path, std::vector<std::uint8_t> message)>;
    using Done = std::function<void(repl::WaitOutcome)>;

    Replication(std::uint32_t nodeId, std::uint32_t incarnation, std::vector<ReplicationPath> paths,
                Send send, repl::SenderConfig senderCfg = {});

    // ---- role ----
    // This node starts driving the chassis: reads the mirror's readiness, stops following, opens
    // a term and becomes the writer. Returns what the chassis inherits.
    chassis::ReplicatedIntent takeOver(TimePoint now, std::uint64_t epoch);
    // This node stops driving the chassis: pending waits are abandoned, it mirrors again.
    void stepDown();
    bool writer() const { return writer_; }

    // ---- the wire ----
    // A payload of the peer's (heartbeat watermark or replication message), already authentic.
    void onPeerPayload(TimePoint now, const NodeCore::PeerPayload& p);
    // Called on every core tick after the heartbeats: notices a lost peer, sends what the budget
    // of the best path up allows, settles waits.
    void tick(TimePoint now, const NodeCore& core);
    // The same with the peer's liveness and each path's state given (tests).
    void tick(TimePoint now, bool peerAlive, const std::vector<bool>& pathsUp);
    // The watermark for our heartbeats (encoded).
    std::vector<std::uint8_t> watermark() const;

    // ---- writes (ignored unless this node is the writer) ----
    // Writes a record; DONE (optional) hears when the standby holds it (or why not).
    void write(std::uint32_t index, repl::RecordValue v, TimePoint now, Done done = {});
    // Waits until the standby holds KEY at its current value (DONE at once when not the writer).
    void await(const repl::RecordKey& key, TimePoint now, Done done);
    void onIntent(const chassis::IntentUpdate& u, TimePoint now);
    // The answer to an operator's chassis command, once replication allows it: a fan mode change
    // that succeeded is written (fan mode record) and answered when the standby holds it; a fan
    // duty waits for the zone's floor record when the chassis wrote one; anything else at once.
    void answerIntent(ControlOp op, std::uint32_t zoneIndex, ControlResult r, TimePoint now,
                      const std::function<void(ControlResult)>& done);
    void onEvent(const Event& e, TimePoint now);
    void onTelemetry(const ChassisSnapshot& s, TimePoint now);

    // Why a manual switchover must wait (the standby is not hot, so it would not hold everything
    // acknowledged), or none. `force-takeover` is never refused for it.
    std::optional<std::string> switchoverRefusal() const;

    // ---- reading ----
    repl::Readiness readiness() const { return receiver_.readiness(); }
    bool degraded() const { return writer_ && sender_.degraded(); }
    // Ordered records the standby lacks (writer: from its acks) or we lack (mirror).
    std::uint64_t lagRecords() const {
        return writer_ ? sender_.lagRecords(repl::Stream::Ordered)
                       : receiver_.lagRecords(repl::Stream::Ordered);
    }
    // The writer's view of its standby: joined and within the hot bound (a manual switchover
    // to it loses nothing acknowledged).
    bool standbyHot() const {
        return writer_ && sender_.standbyJoined() &&
               sender_.lagRecords(repl::Stream::Ordered) <= repl::ReceiverConfig{}.hotLagRecords;
    }
    const repl::Store& store() const { return store_; }
    std::uint64_t generation() const { return generation_; } // rises on every store change
    nlohmann::json statusJson(TimePoint now) const;
    // The view the MIB and the metrics show (Snapshot::replication).
    void fillView(Snapshot::ReplicationView& v, TimePoint now) const;
    // Notices of the protocol since the last take (readiness, degraded, restored, conflict,
    // divergence), for the log and notifications.
    std::vector<repl::Notice> takeNotices();
    // Replaces the store (the state directory's copy at start). Only before the first tick.
    void load(repl::Store s) { store_ = std::move(s); }

    struct Counters {
        std::uint64_t framesSent = 0;
        std::uint64_t framesReceived = 0;
        std::uint64_t malformed = 0; // payloads that did not decode (dropped)
        std::uint64_t takeovers = 0;
        std::uint64_t inheritedHot = 0;
        std::uint64_t waitsTimedOut = 0;
    };
    const Counters& counters() const { return counters_; }

  private:
    void settle(TimePoint now);
    // Sends at once what may not wait for the tick (repl::Sender::sendNow, Receiver::ackNow) on
    // the path of the last tick, within what that tick left of its budget.
    void sendNow(TimePoint now);

    void dropOwnNewerTerm(std::uint64_t activeEpoch);
    std::uint32_t nodeId_;
    std::vector<ReplicationPath> paths_;
    Send send_;
    repl::Store store_;
    repl::Sender sender_;
    repl::Receiver receiver_;
    bool writer_ = false;
    bool peerAlive_ = false;
    std::optional<TimePoint> lastTick_;
    std::optional<std::size_t> lastPath_;
    std::vector<bool> pathsUp_;
    std::uint64_t nextToken_ = 1;
    std::map<std::uint64_t, Done> waits_;
    std::optional<Event> pendingJournal_; // the Switchover event of a takeover, written at it
    std::uint64_t lagAtTakeoverRecords_ = 0;
    std::uint64_t lagAtTakeoverMs_ = 0;
    std::uint64_t generation_ = 0;
    std::vector<repl::Notice> notices_;
    std::uint64_t ownTermDrops_ = 0;      // dropOwnNewerTerm calls that dropped records
    std::uint64_t ownTermDropped_ = 0;    // and the records they dropped
    std::uint64_t conflictNotices_ = 0;   // the Receiver's conflict notices
    std::uint64_t lastDropCount_ = 0;     // records the last conflict dropped
    std::uint64_t snapshotsSeen_ = 0;     // snapshots sent + received at the last settle
    std::int64_t lastSnapshotUnixMs_ = 0; // when that number last rose; 0 never
    Counters counters_;
};

} // namespace hs

// The replication protocol, pure: the active's Sender and the standby's Receiver. Time, decoded
// messages and the peer's watermark go in; encoded messages (within the tick's byte budget),
// decisions on waits for acknowledged intent and notices come out. Nothing here blocks, sleeps or
// reads a clock: the caller drives tick() from its heartbeat timer.
//
// Streams. Each store stream (ordered: intent and log; telemetry) has its own cursor. The sender
// sends every record of a stream above its cursor, in sequence order, straight from the store: a
// resend after a loss carries the current value of each key, never the lost message (coalescing).
// A Delta says it holds every record of its stream in (from, last] as of the moment the stream's
// newest sequence number was `top`; the receiver takes it only if `from` is at or below what it
// holds (go-back-N; else it asks for the gap) and it was not built before a Delta it already took
// (so the standby's records are always exactly the writer's at some moment). Acks are cumulative.
//
// Priority. In one tick the sender spends the budget on the join reply, then the ordered stream,
// then telemetry (only when the budget allows telemetry: not on a low-bandwidth path), and never
// lets a lower class overtake a higher one that still has records waiting.
//
// At once. The tick's budget is the budget of the whole interval up to the next tick: what the
// tick left over may carry, before the next tick, a Delta of the ordered stream as soon as a
// record is written (Sender::sendNow) and the standby's Ack of a Delta that advanced its ordered
// stream (Receiver::ackNow), at most Budget::immediate messages an interval (0 on a slow path:
// everything waits for the tick there). So an acknowledged intent change does not wait for two
// ticks (the active's, then the standby's), and an interval's messages still never exceed its
// budget.
#pragma once

#include "base/types.hpp"
#include "repl/message.hpp"
#include "repl/store.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace hs::repl {

using Bytes = std::vector<std::uint8_t>;

// What replication may put on a path in one tick.
struct Budget {
    std::size_t bytes = 0;                 // messages plus their per-message overhead
    bool telemetry = true;                 // false: telemetry waits (low-bandwidth path)
    std::size_t overhead = kFrameOverhead; // bytes one message costs besides itself
    // Messages that may leave between this tick and the next (Sender::sendNow,
    // Receiver::ackNow), out of what the tick left of `bytes`; 0: they wait for the tick.
    std::size_t immediate = 0;
};
// What is left of an interval's budget; both ends spend it message by message.
struct Outbox {
    std::size_t left = 0; // bytes of the current interval's budget not yet spent
    std::size_t overhead = kFrameOverhead;
    // Appends M's encoding to OUT when it and its overhead fit what is left, and counts it in
    // MESSAGES and BYTES (overhead included); false, and nothing spent, when it does not fit.
    bool emit(const Message& m, std::vector<Bytes>& out, std::uint64_t& messages,
              std::uint64_t& bytes);
};
// Spare bytes of a path per heartbeat interval: its line rate over the interval, less the bytes
// the heartbeat frame takes. Replication gets no more, so it never delays a heartbeat.
std::size_t spareBytesPerTick(std::uint64_t bytesPerSecond, Duration interval,
                              std::size_t heartbeatBytes);

enum class Readiness : std::uint8_t {
    Cold = 0,    // not joined to the current active (no snapshot yet)
    Syncing = 1, // joined; snapshot or catch-up in progress, or lagging beyond the bound
    Hot = 2,     // caught up, ordered stream within the lag bound
};

enum class WaitOutcome : std::uint8_t {
    Acked = 0,     // the standby holds the change
    TimedOut = 1,  // the bound passed: the change applies, replication is degraded
    NoStandby = 2, // no standby joined (or it left): the change applies alone
    Abandoned = 3, // this node stopped being the writer before a decision
};
struct Decision {
    std::uint64_t token = 0;
    WaitOutcome outcome = WaitOutcome::Acked;
};

enum class NoticeType : std::uint8_t {
    Readiness = 0,  // the standby's readiness changed (Receiver)
    Degraded = 1,   // an acknowledged-class wait timed out (Sender)
    Restored = 2,   // the standby caught up again after Degraded (Sender)
    Conflict = 3,   // records written by the partition's loser were dropped (Receiver)
    Divergence = 4, // equal watermarks with different digests (both)
};
struct Notice {
    NoticeType type = NoticeType::Readiness;
    Readiness readiness = Readiness::Cold;
    std::uint64_t count = 0;
    std::vector<Record> records; // Conflict: the dropped records
};

std::string_view toString(Readiness r);
std::string_view toString(WaitOutcome o);
std::string_view toString(NoticeType t);

struct SenderConfig {
    Duration ackWait = milliseconds(150);    // bound of a wait for acknowledged intent
    Duration resendAfter = milliseconds(30); // no ack progress this long: resend from the ack
};

struct SenderStats {
    std::uint64_t joins = 0;
    std::uint64_t snapshotsSent = 0; // joins answered with a full snapshot
    std::uint64_t catchUpsSent = 0;
    std::uint64_t messagesSent = 0;
    std::uint64_t bytesSent = 0; // messages plus overhead
    std::uint64_t recordsSent = 0;
    std::uint64_t resends = 0;     // rewinds after a gap request or a timeout
    std::uint64_t stale = 0;       // messages of another session, or malformed acks
    std::uint64_t acked = 0;       // waits decided Acked
    std::uint64_t timedOut = 0;    // waits decided TimedOut
    std::uint64_t divergences = 0; // the standby's watermark disagreed at an equal position
    std::uint64_t immediate = 0;   // messages sent at once (sendNow), between ticks
};

class Sender {
  public:
    Sender(Store& store, SenderConfig cfg = {});

    void onMessage(const Message& m, TimePoint now); // Join and Ack; others are ignored
    // The standby's watermark (its heartbeats): equal position, different digest = divergence.
    void onPeerWatermark(const Watermark& wm, TimePoint now);
    // The standby is gone: pending waits are decided NoStandby, the session ends.
    void peerLost();
    // This node stops being the writer: pending waits are decided Abandoned, the session ends.
    void reset();
    // Waits until the standby holds KEY at its current value or a newer one; the decision
    // carries TOKEN. Without a joined standby the decision (NoStandby) is immediate.
    void await(const RecordKey& key, std::uint64_t token, TimePoint now);

    std::vector<Bytes> tick(TimePoint now, const Budget& budget);
    // Sends the ordered stream's records not yet sent (a record was just written) out of what
    // the last tick left of its budget, without waiting for the next tick; nothing while the
    // join reply is pending or the interval's Budget::immediate messages are spent.
    std::vector<Bytes> sendNow(TimePoint now);
    std::vector<Decision> takeDecisions();
    std::vector<Notice> takeNotices();

    // Our store's watermark for our heartbeats, naming the session we serve.
    Watermark watermark() const {
        auto wm = store_.watermark();
        wm.session = session_.value_or(0);
        return wm;
    }
    bool standbyJoined() const { return session_.has_value(); }
    bool degraded() const { return degraded_; }
    std::uint64_t acked(Stream s) const { return acked_[static_cast<std::size_t>(s)]; }
    std::uint64_t lagRecords(Stream s) const;
    const SenderStats& stats() const { return stats_; }

  private:
    struct Wait {
        RecordKey key;
        std::uint64_t minSeq = 0;
        std::uint64_t token = 0;
        TimePoint deadline{};
    };
    void onJoin(const Join& j, TimePoint now);
    void onAck(const Ack& a, TimePoint now);
    void settleWaits(TimePoint now);
    void decideAll(WaitOutcome o);
    bool buildDelta(Stream s, std::size_t room, Delta& d) const;
    bool emit(const Message& m, std::vector<Bytes>& out);
    // Sends stream S above its cursor out of box_, at most MAXMESSAGES Deltas; false when a
    // record had to wait (no room, or the message count reached).
    bool sendStream(Stream s, TimePoint now, std::vector<Bytes>& out, std::size_t& maxMessages);

    Store& store_;
    SenderConfig cfg_;
    std::optional<std::uint64_t> session_;
    bool replyPending_ = false;
    JoinReply reply_;
    SeqPair cursor_{};
    SeqPair acked_{};
    std::array<TimePoint, kStreams> progressAt_{};
    SeqPair rewoundTo_{};
    std::array<TimePoint, kStreams> rewoundAt_{};
    std::vector<Wait> waits_;
    std::vector<Decision> decisions_;
    std::vector<Notice> notices_;
    bool degraded_ = false;
    Outbox box_;
    std::size_t immediateLeft_ = 0; // messages sendNow may still send in this interval
    SenderStats stats_;
};

struct ReceiverConfig {
    Duration joinRetry = milliseconds(30); // a Join is repeated until answered
    Duration ackEvery = milliseconds(100); // an Ack at least this often (else on change)
    std::uint64_t hotLagRecords = 64;      // hot while the ordered stream lags at most this...
    Duration hotLag = milliseconds(50);    // ...and has been behind for at most this long
    // The active's watermarks name another session for this long (it lost ours): join again.
    Duration rejoinAfter = milliseconds(500);
    // An Ack at once (ackNow) at most this often; a Delta that comes sooner is acknowledged by
    // the next immediate Ack or the tick, so a burst of Deltas cannot cause a storm of Acks.
    Duration ackNowEvery = milliseconds(2);
};

struct ReceiverStats {
    std::uint64_t joins = 0;
    std::uint64_t snapshotsReceived = 0;
    std::uint64_t catchUpsReceived = 0;
    std::uint64_t messagesSent = 0;
    std::uint64_t bytesSent = 0;
    std::uint64_t recordsApplied = 0;
    std::uint64_t gaps = 0;       // Deltas that started past what we hold
    std::uint64_t duplicates = 0; // Deltas we already held
    std::uint64_t stale = 0;      // messages of another session or phase
    std::uint64_t conflicts = 0;  // records dropped at a partition heal
    std::uint64_t divergences = 0;
    std::uint64_t lowerEpoch = 0;    // watermarks of a writer older than our store, not followed
    std::uint64_t immediateAcks = 0; // Acks sent at once (ackNow), between ticks
};

class Receiver {
  public:
    // INCARNATION (the node's boot counter) makes session ids unique across restarts.
    Receiver(Store& store, ReceiverConfig cfg, std::uint32_t incarnation);

    // The active's watermark (every heartbeat from it): a new epoch starts a (re)join; the
    // position updates the lag; equal positions with different digests start a full resync. A
    // watermark whose epoch is below our store's is ignored: the higher epoch's store wins.
    void onPeerWatermark(const Watermark& wm, TimePoint now);
    void onMessage(const Message& m, TimePoint now); // JoinReply and Delta; others are ignored
    // Stop following (this node takes over, or the active is gone). Read readiness() first.
    void stop();

    std::vector<Bytes> tick(TimePoint now, const Budget& budget);
    // The Ack of a Delta that advanced the ordered stream, at once instead of at the next tick:
    // out of what the last tick left of its budget, at most one per ReceiverConfig::ackNowEvery
    // (the rest wait for the tick). Nothing when there is nothing new to acknowledge.
    std::vector<Bytes> ackNow(TimePoint now);
    std::vector<Notice> takeNotices();

    Readiness readiness() const { return readiness_; }
    bool following() const { return following_; }
    // This store's watermark for our heartbeats (exact where the last Delta was the tail).
    Watermark watermark() const {
        auto wm =
            store_.watermark(static_cast<std::uint8_t>((exact_[0] ? 1 : 0) | (exact_[1] ? 2 : 0)));
        wm.session = following_ ? session_ : 0;
        return wm;
    }
    std::uint64_t lagRecords(Stream s) const;
    Duration lag(Stream s, TimePoint now) const;
    const ReceiverStats& stats() const { return stats_; }

  private:
    void startJoin(std::uint64_t epoch, bool reset);
    void onReply(const JoinReply& r, TimePoint now);
    void onDelta(const Delta& d, TimePoint now);
    void update(TimePoint now);
    bool emit(const Message& m, std::vector<Bytes>& out);
    bool sendAck(TimePoint now, std::vector<Bytes>& out);

    Store& store_;
    ReceiverConfig cfg_;
    std::uint32_t incarnation_;
    std::uint32_t joinCount_ = 0;
    bool following_ = false;
    bool joined_ = false; // the JoinReply of this session arrived
    bool reset_ = false;
    bool caughtUp_ = false; // reached the active's position at the reply once
    std::uint64_t followEpoch_ = 0;
    std::uint64_t session_ = 0;
    SeqPair replyTop_{};
    SeqPair knownTop_{};
    std::array<std::optional<TimePoint>, kStreams> behindSince_{};
    std::array<bool, kStreams> exact_{};
    SeqPair builtTop_{}; // newest `top` of a Delta applied in this session
    std::uint8_t gaps_ = 0;
    bool ackDirty_ = false;
    bool orderedAdvanced_ = false; // a Delta advanced the ordered stream since the last Ack
    Outbox box_;
    std::size_t immediateLeft_ = 0;
    std::optional<TimePoint> lastAckAt_;
    std::optional<TimePoint> lastAckNowAt_;
    std::optional<TimePoint> lastJoinAt_;
    std::optional<TimePoint> otherSessionSince_;
    Readiness readiness_ = Readiness::Cold;
    std::vector<Notice> notices_;
    ReceiverStats stats_;
};

} // namespace hs::repl

// The standby's side of the replication protocol.
#include "repl/protocol.hpp"

#include <algorithm>
#include <utility>

namespace hs::repl {
namespace {

std::size_t at(Stream s) {
    return static_cast<std::size_t>(s);
}

} // namespace

Receiver::Receiver(Store& store, ReceiverConfig cfg, std::uint32_t incarnation)
    : store_(store), cfg_(cfg), incarnation_(incarnation) {}

void Receiver::startJoin(std::uint64_t epoch, bool reset) {
    following_ = true;
    joined_ = false;
    caughtUp_ = false;
    reset_ = reset;
    followEpoch_ = epoch;
    session_ = (static_cast<std::uint64_t>(incarnation_) << 32) | ++joinCount_;
    replyTop_ = {};
    knownTop_ = {};
    behindSince_ = {};
    exact_ = {};
    builtTop_ = {};
    gaps_ = 0;
    ackDirty_ = false;
    orderedAdvanced_ = false;
    immediateLeft_ = 0;
    lastJoinAt_.reset();
    lastAckAt_.reset();
    lastAckNowAt_.reset();
    otherSessionSince_.reset();
    ++stats_.joins;
    if (readiness_ != Readiness::Cold) {
        readiness_ = Readiness::Cold;
        notices_.push_back(Notice{NoticeType::Readiness, readiness_, 0, {}});
    }
}

void Receiver::stop() {
    following_ = false;
    immediateLeft_ = 0;
    joined_ = false;
    if (readiness_ != Readiness::Cold) {
        readiness_ = Readiness::Cold;
        notices_.push_back(Notice{NoticeType::Readiness, readiness_, 0, {}});
    }
}

void Receiver::onPeerWatermark(const Watermark& wm, TimePoint now) {
    // The higher epoch's store wins: never give ours up to a writer of an older term (the role
    // arbitration would not make it active; a late heartbeat of a deposed active can arrive).
    if (wm.epoch < store_.epoch()) {
        ++stats_.lowerEpoch;
        return;
    }
    if (!following_ || wm.epoch != followEpoch_) {
        startJoin(wm.epoch, false);
        return;
    }
    if (!joined_) {
        return;
    }
    // The active serves another session (or none): it lost ours. Heartbeats overtaken by the
    // JoinReply may still name the old one, so only a mismatch that lasts counts.
    if (wm.session != session_) {
        if (!otherSessionSince_) {
            otherSessionSince_ = now;
        }
        if (now - *otherSessionSince_ >= cfg_.rejoinAfter) {
            startJoin(wm.epoch, false);
            return;
        }
    } else {
        otherSessionSince_.reset();
    }
    for (std::size_t s = 0; s < kStreams; ++s) {
        const auto st = static_cast<Stream>(s);
        knownTop_[s] = std::max(knownTop_[s], wm.seq[s]);
        // Both sides exact at the same position: the records must be the same.
        if (exact_[s] && (wm.exact & (1u << s)) != 0 && store_.lastSeq(st) == wm.seq[s] &&
            store_.digest(st) != wm.digest[s]) {
            ++stats_.divergences;
            notices_.push_back(Notice{NoticeType::Divergence, readiness_, 1, {}});
            store_.clear();
            startJoin(wm.epoch, true);
            return;
        }
    }
    update(now);
}

void Receiver::onMessage(const Message& m, TimePoint now) {
    if (const auto* r = std::get_if<JoinReply>(&m)) {
        onReply(*r, now);
    } else if (const auto* d = std::get_if<Delta>(&m)) {
        onDelta(*d, now);
    } else {
        ++stats_.stale;
    }
}

void Receiver::onReply(const JoinReply& r, TimePoint now) {
    if (!following_ || joined_ || r.session != session_) {
        ++stats_.stale;
        return;
    }
    if (r.mode == JoinMode::CatchUp) {
        if (r.from != store_.lastSeqs()) {
            ++stats_.stale; // answers a position we no longer hold
            return;
        }
        ++stats_.catchUpsReceived;
    } else {
        // Records the winner's history gives to another term were written where the winner
        // never saw them: report and drop them. What stays is common to both lineages.
        auto rep = store_.dropDivergent(r.history);
        if (rep.count > 0) {
            stats_.conflicts += rep.count;
            notices_.push_back(
                Notice{NoticeType::Conflict, readiness_, rep.count, std::move(rep.records)});
        }
        store_.setLastSeq(Stream::Ordered, r.from[0]);
        store_.setLastSeq(Stream::Telemetry, r.from[1]);
        ++stats_.snapshotsReceived;
    }
    store_.adoptHistory(r.history);
    joined_ = true;
    reset_ = false;
    replyTop_ = r.top;
    knownTop_ = r.top;
    ackDirty_ = true;
    if (readiness_ != Readiness::Syncing) {
        readiness_ = Readiness::Syncing;
        notices_.push_back(Notice{NoticeType::Readiness, readiness_, 0, {}});
    }
    update(now);
}

void Receiver::onDelta(const Delta& d, TimePoint now) {
    if (!following_ || !joined_ || d.session != session_ || d.records.empty()) {
        ++stats_.stale;
        return;
    }
    const auto s = at(d.stream);
    const auto have = store_.lastSeq(d.stream);
    knownTop_[s] = std::max(knownTop_[s], d.to());
    if (d.from > have) {
        gaps_ |= s == 0 ? gap::kOrdered : gap::kTelemetry;
        ++stats_.gaps;
        update(now);
        return;
    }
    // Built before a Delta we took (a reordered resend): its values may be older than ours.
    if (d.to() <= have || d.top < builtTop_[s]) {
        ++stats_.duplicates;
        ackDirty_ = true;
        return;
    }
    for (const auto& r : d.records) {
        if (r.stamp.seq > have && store_.apply(r)) {
            ++stats_.recordsApplied;
        }
    }
    store_.setLastSeq(d.stream, d.to());
    exact_[s] = d.tail();
    builtTop_[s] = d.top;
    ackDirty_ = true;
    orderedAdvanced_ = orderedAdvanced_ || d.stream == Stream::Ordered;
    update(now);
}

void Receiver::update(TimePoint now) {
    for (std::size_t s = 0; s < kStreams; ++s) {
        const bool behind = knownTop_[s] > store_.lastSeq(static_cast<Stream>(s));
        if (behind && !behindSince_[s]) {
            behindSince_[s] = now;
        } else if (!behind) {
            behindSince_[s].reset();
        }
    }
    if (!joined_) {
        return;
    }
    if (store_.lastSeq(Stream::Ordered) >= replyTop_[0]) {
        caughtUp_ = true;
    }
    const bool within = lagRecords(Stream::Ordered) <= cfg_.hotLagRecords &&
                        lag(Stream::Ordered, now) <= cfg_.hotLag;
    const auto next = caughtUp_ && within ? Readiness::Hot : Readiness::Syncing;
    if (next != readiness_) {
        readiness_ = next;
        notices_.push_back(Notice{NoticeType::Readiness, readiness_, 0, {}});
    }
}

std::uint64_t Receiver::lagRecords(Stream s) const {
    const auto have = store_.lastSeq(s);
    return knownTop_[at(s)] > have ? knownTop_[at(s)] - have : 0;
}

Duration Receiver::lag(Stream s, TimePoint now) const {
    const auto& since = behindSince_[at(s)];
    return since ? now - *since : Duration::zero();
}

bool Receiver::emit(const Message& m, std::vector<Bytes>& out) {
    return box_.emit(m, out, stats_.messagesSent, stats_.bytesSent);
}

bool Receiver::sendAck(TimePoint now, std::vector<Bytes>& out) {
    if (!emit(Ack{session_, store_.lastSeqs(), gaps_}, out)) {
        return false;
    }
    ackDirty_ = false;
    orderedAdvanced_ = false;
    gaps_ = 0;
    lastAckAt_ = now;
    return true;
}

std::vector<Bytes> Receiver::tick(TimePoint now, const Budget& budget) {
    std::vector<Bytes> out;
    // A new interval: its budget, what ackNow may use of it until the next tick.
    box_.left = budget.bytes;
    box_.overhead = budget.overhead;
    immediateLeft_ = budget.immediate;
    if (!following_) {
        return out;
    }
    if (!joined_) {
        if (!lastJoinAt_ || now - *lastJoinAt_ >= cfg_.joinRetry) {
            if (emit(Join{session_, reset_, store_.lastSeqs(), store_.history()}, out)) {
                lastJoinAt_ = now;
            }
        }
        return out;
    }
    update(now);
    if (ackDirty_ || gaps_ != 0 || !lastAckAt_ || now - *lastAckAt_ >= cfg_.ackEvery) {
        (void)sendAck(now, out);
    }
    return out;
}

std::vector<Bytes> Receiver::ackNow(TimePoint now) {
    std::vector<Bytes> out;
    if (!following_ || !joined_ || !orderedAdvanced_ || immediateLeft_ == 0 ||
        (lastAckNowAt_ && now - *lastAckNowAt_ < cfg_.ackNowEvery)) {
        return out;
    }
    if (sendAck(now, out)) {
        --immediateLeft_;
        lastAckNowAt_ = now;
        ++stats_.immediateAcks;
    }
    return out;
}

std::vector<Notice> Receiver::takeNotices() {
    return std::exchange(notices_, {});
}

} // namespace hs::repl

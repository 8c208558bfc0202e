// The active's side of the replication protocol.
#include "repl/protocol.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace hs::repl {
namespace {

std::size_t varintLen(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

std::size_t at(Stream s) {
    return static_cast<std::size_t>(s);
}

} // namespace

std::size_t spareBytesPerTick(std::uint64_t bytesPerSecond, Duration interval,
                              std::size_t heartbeatBytes) {
    const auto us = std::chrono::duration_cast<microseconds>(interval).count();
    if (us <= 0) {
        return 0;
    }
    const std::uint64_t line = bytesPerSecond * static_cast<std::uint64_t>(us) / 1000000u;
    return line > heartbeatBytes ? static_cast<std::size_t>(line - heartbeatBytes) : 0;
}

Sender::Sender(Store& store, SenderConfig cfg) : store_(store), cfg_(cfg) {}

void Sender::onMessage(const Message& m, TimePoint now) {
    if (const auto* j = std::get_if<Join>(&m)) {
        onJoin(*j, now);
    } else if (const auto* a = std::get_if<Ack>(&m)) {
        onAck(*a, now);
    } else {
        ++stats_.stale;
    }
}

void Sender::onJoin(const Join& j, TimePoint now) {
    ++stats_.joins;
    const bool consistent =
        !j.reset && sameLineage(j.history, j.have, store_.history(), store_.lastSeqs());
    reply_ = JoinReply{j.session, JoinMode::Snapshot, {}, store_.lastSeqs(), store_.history()};
    if (consistent && (j.have[0] > 0 || j.have[1] > 0)) {
        reply_.mode = JoinMode::CatchUp;
        reply_.from = j.have;
        ++stats_.catchUpsSent;
    } else {
        ++stats_.snapshotsSent;
    }
    session_ = j.session;
    replyPending_ = true;
    cursor_ = reply_.from;
    acked_ = reply_.from;
    progressAt_ = {now, now};
    rewoundTo_ = {};
    rewoundAt_ = {};
}

void Sender::onAck(const Ack& a, TimePoint now) {
    if (!session_ || a.session != *session_ || replyPending_) {
        ++stats_.stale;
        return;
    }
    for (std::size_t s = 0; s < kStreams; ++s) {
        if (a.have[s] > store_.lastSeq(static_cast<Stream>(s))) {
            ++stats_.stale; // the standby claims what we never wrote
            return;
        }
    }
    for (std::size_t s = 0; s < kStreams; ++s) {
        const auto h = a.have[s];
        if (h > acked_[s]) {
            acked_[s] = h;
            progressAt_[s] = now;
            cursor_[s] = std::max(cursor_[s], h);
        }
        const std::uint8_t bit = s == 0 ? gap::kOrdered : gap::kTelemetry;
        // A gap request: resend from what the standby holds, at most once per resend interval
        // for the same position (requests keep coming while the lost range is in flight again).
        if ((a.gaps & bit) != 0 && h == acked_[s] && cursor_[s] > h &&
            (rewoundTo_[s] != h || now - rewoundAt_[s] >= cfg_.resendAfter)) {
            cursor_[s] = h;
            rewoundTo_[s] = h;
            rewoundAt_[s] = now;
            ++stats_.resends;
        }
    }
    settleWaits(now);
}

void Sender::onPeerWatermark(const Watermark& wm, TimePoint /*now*/) {
    // Only a standby that adopted our lineage (our epoch) can be compared with us.
    if (!session_ || wm.epoch != store_.epoch()) {
        return;
    }
    for (std::size_t s = 0; s < kStreams; ++s) {
        const auto st = static_cast<Stream>(s);
        if ((wm.exact & (1u << s)) != 0 && wm.seq[s] == store_.lastSeq(st) &&
            wm.digest[s] != store_.digest(st)) {
            ++stats_.divergences;
            notices_.push_back(Notice{NoticeType::Divergence, Readiness::Cold, 1, {}});
            return;
        }
    }
}

void Sender::peerLost() {
    immediateLeft_ = 0;
    decideAll(WaitOutcome::NoStandby);
    session_.reset();
    replyPending_ = false;
}

void Sender::reset() {
    immediateLeft_ = 0;
    decideAll(WaitOutcome::Abandoned);
    session_.reset();
    replyPending_ = false;
    degraded_ = false;
}

void Sender::await(const RecordKey& key, std::uint64_t token, TimePoint now) {
    if (!session_) {
        decisions_.push_back({token, WaitOutcome::NoStandby});
        return;
    }
    const Record* r = store_.find(key);
    waits_.push_back(
        Wait{key, r ? r->stamp.seq : store_.lastSeq(Stream::Ordered), token, now + cfg_.ackWait});
    settleWaits(now);
}

void Sender::settleWaits(TimePoint now) {
    const auto ackedOrdered = acked_[at(Stream::Ordered)];
    for (auto it = waits_.begin(); it != waits_.end();) {
        // The standby holds the key's value once it is complete past the key's current stamp
        // (the value acknowledged may be a newer one that superseded the awaited write).
        const Record* r = store_.find(it->key);
        const auto need = std::max(it->minSeq, r ? r->stamp.seq : 0);
        if (ackedOrdered >= need) {
            decisions_.push_back({it->token, WaitOutcome::Acked});
            ++stats_.acked;
        } else if (now >= it->deadline) {
            decisions_.push_back({it->token, WaitOutcome::TimedOut});
            ++stats_.timedOut;
            if (!degraded_) {
                degraded_ = true;
                notices_.push_back(Notice{NoticeType::Degraded, Readiness::Cold, 1, {}});
            }
        } else {
            ++it;
            continue;
        }
        it = waits_.erase(it);
    }
    if (degraded_ && session_ && !replyPending_ && waits_.empty() &&
        ackedOrdered >= store_.lastSeq(Stream::Ordered)) {
        degraded_ = false;
        notices_.push_back(Notice{NoticeType::Restored, Readiness::Cold, 0, {}});
    }
}

void Sender::decideAll(WaitOutcome o) {
    for (const auto& w : waits_) {
        decisions_.push_back({w.token, o});
    }
    waits_.clear();
}

std::uint64_t Sender::lagRecords(Stream s) const {
    if (!session_) {
        return 0;
    }
    return store_.lastSeq(s) - std::min(store_.lastSeq(s), acked_[at(s)]);
}

bool Sender::buildDelta(Stream s, std::size_t room, Delta& d) const {
    d = Delta{*session_, s, cursor_[at(s)], store_.lastSeq(s), {}};
    // version, type, session, stream, from, top, count (at most 2 bytes: <= kMaxMessage records)
    std::size_t size = 2 + varintLen(d.session) + 1 + varintLen(d.from) + varintLen(d.top) + 2;
    store_.forEachAfter(s, d.from, [&](const Record& r) {
        const auto n = encodedSize(r);
        if (size + n > room) {
            return false;
        }
        size += n;
        d.records.push_back(r);
        return true;
    });
    return !d.records.empty();
}

bool Outbox::emit(const Message& m, std::vector<Bytes>& out, std::uint64_t& messages,
                  std::uint64_t& bytes) {
    auto encoded = encodeMessage(m);
    if (encoded.size() + overhead > left) {
        return false;
    }
    left -= encoded.size() + overhead;
    bytes += encoded.size() + overhead;
    ++messages;
    out.push_back(std::move(encoded));
    return true;
}

bool Sender::emit(const Message& m, std::vector<Bytes>& out) {
    return box_.emit(m, out, stats_.messagesSent, stats_.bytesSent);
}

bool Sender::sendStream(Stream st, TimePoint now, std::vector<Bytes>& out,
                        std::size_t& maxMessages) {
    const auto s = at(st);
    while (cursor_[s] < store_.lastSeq(st)) {
        if (box_.left <= box_.overhead || maxMessages == 0) {
            return false;
        }
        Delta d;
        if (!buildDelta(st, std::min(kMaxMessage, box_.left - box_.overhead), d)) {
            return false; // the next record does not fit: lower classes wait too
        }
        if (cursor_[s] == acked_[s]) {
            progressAt_[s] = now;
        }
        const auto n = d.records.size();
        const auto to = d.to();
        if (!emit(d, out)) {
            return false;
        }
        --maxMessages;
        stats_.recordsSent += n;
        cursor_[s] = to;
    }
    return true;
}

std::vector<Bytes> Sender::tick(TimePoint now, const Budget& budget) {
    std::vector<Bytes> out;
    settleWaits(now);
    // A new interval: its budget, what sendNow may use of it until the next tick.
    box_.left = budget.bytes;
    box_.overhead = budget.overhead;
    immediateLeft_ = budget.immediate;
    if (!session_) {
        return out;
    }
    if (replyPending_) {
        if (!emit(reply_, out)) {
            return out; // nothing may go before the reply
        }
        replyPending_ = false;
    }
    std::size_t unlimited = SIZE_MAX;
    for (std::size_t s = 0; s < kStreams; ++s) {
        const auto st = static_cast<Stream>(s);
        if (cursor_[s] > acked_[s] && now - progressAt_[s] >= cfg_.resendAfter) {
            cursor_[s] = acked_[s]; // no progress: resend the current values from the ack
            progressAt_[s] = now;
            ++stats_.resends;
        }
        if (st == Stream::Telemetry && !budget.telemetry) {
            break;
        }
        if (!sendStream(st, now, out, unlimited)) {
            return out;
        }
    }
    return out;
}

std::vector<Bytes> Sender::sendNow(TimePoint now) {
    std::vector<Bytes> out;
    if (!session_ || replyPending_ || immediateLeft_ == 0) {
        return out;
    }
    (void)sendStream(Stream::Ordered, now, out, immediateLeft_);
    stats_.immediate += out.size();
    return out;
}

std::vector<Decision> Sender::takeDecisions() {
    return std::exchange(decisions_, {});
}

std::vector<Notice> Sender::takeNotices() {
    return std::exchange(notices_, {});
}

std::string_view toString(Readiness r) {
    switch (r) {
    case Readiness::Cold:
        return "cold";
    case Readiness::Syncing:
        return "syncing";
    case Readiness::Hot:
        return "hot";
    }
    return "unknown";
}

std::string_view toString(WaitOutcome o) {
    switch (o) {
    case WaitOutcome::Acked:
        return "acked";
    case WaitOutcome::TimedOut:
        return "timedOut";
    case WaitOutcome::NoStandby:
        return "noStandby";
    case WaitOutcome::Abandoned:
        return "abandoned";
    }
    return "unknown";
}

std::string_view toString(NoticeType t) {
    switch (t) {
    case NoticeType::Readiness:
        return "readiness";
    case NoticeType::Degraded:
        return "degraded";
    case NoticeType::Restored:
        return "restored";
    case NoticeType::Conflict:
        return "conflict";
    case NoticeType::Divergence:
        return "divergence";
    }
    return "unknown";
}

} // namespace hs::repl

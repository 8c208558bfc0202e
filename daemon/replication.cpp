// The daemon's replication glue (see replication.hpp).
#include "daemon/replication.hpp"

#include "base/log.hpp"
#include "repl/message.hpp"

#include <algorithm>
#include <chrono>
#include <fmt/core.h>

namespace hs {
namespace {

std::string clip(std::string_view s) {
    return std::string(s.substr(0, repl::kMaxText));
}

std::uint64_t toMs(Duration d) {
    return static_cast<std::uint64_t>(
        std::max<std::int64_t>(0, std::chrono::duration_cast<milliseconds>(d).count()));
}

template <typename T> const T* valueOf(const repl::Store& s, repl::RecordKind k, std::uint32_t i) {
    const repl::Record* r = s.find({k, i});
    return r ? std::get_if<T>(&r->value) : nullptr;
}

} // namespace

repl::Budget pathBudget(const ReplicationPath& path, std::size_t watermarkBytes, bool bulk) {
    repl::Budget b;
    if (path.type == PathType::Serial) {
        // 8N1: ten bits a byte. Only every kSerialPayloadEvery-th heartbeat carries the watermark.
        const std::size_t hb =
            repl::kFrameOverhead +
            (watermarkBytes + NodeCore::kSerialPayloadEvery - 1) / NodeCore::kSerialPayloadEvery;
        b.bytes = repl::spareBytesPerTick(path.baud / 10, path.interval, hb);
        b.telemetry = false;
    } else {
        b.bytes = std::min(repl::spareBytesPerTick(kNetworkBytesPerSecond, path.interval,
                                                   repl::kFrameOverhead + watermarkBytes),
                           bulk ? kNetworkBulkBytesPerTick : kNetworkBytesPerTick);
        b.telemetry = true;
        b.immediate = kNetworkImmediatePerTick;
    }
    return b;
}

std::optional<IndexedValue> intentRecord(const chassis::IntentUpdate& u) {
    if (const auto* m = std::get_if<chassis::FanModeChanged>(&u)) {
        if (m->mode == FanMode::Unknown) {
            return std::nullopt;
        }
        return IndexedValue{0, repl::FanModeRecord{m->mode}};
    }
    if (const auto* f = std::get_if<chassis::FanFloorChanged>(&u)) {
        if (f->zone >= repl::kMaxZones) {
            return std::nullopt;
        }
        repl::FanFloorRecord r;
        if (f->floorPct) {
            r.dutyPct = static_cast<std::uint8_t>(std::min(*f->floorPct, 100u));
        }
        return IndexedValue{f->zone, r};
    }
    const auto& p = std::get<chassis::PowerRequestState>(u);
    repl::PowerRequestRecord r;
    r.requestId = p.requestId;
    r.transition = p.transition;
    r.requestedUnixMs = p.requestedUnixMs;
    r.deadlineUnixMs = p.deadlineUnixMs;
    r.outcome = p.outcome;
    r.outcomeUnixMs = p.outcomeUnixMs;
    return IndexedValue{0, r};
}

std::optional<repl::ChassisEventRecord> eventRecord(const Event& e) {
    switch (e.type) {
    case EventType::ChassisPowerChanged:
    case EventType::BmcUnreachable:
    case EventType::BmcRecovered:
    case EventType::SensorThreshold:
    case EventType::FanFailure:
        break;
    default:
        return std::nullopt;
    }
    repl::ChassisEventRecord r;
    r.unixMs = e.unixMs;
    r.type = e.type;
    r.objectIndex = e.objectIndex;
    r.value = e.type == EventType::ChassisPowerChanged ? static_cast<double>(e.power) : e.value;
    r.text = clip(e.text);
    return r;
}

chassis::ReplicatedIntent inheritedIntent(const repl::Store& store, bool hot) {
    chassis::ReplicatedIntent in;
    in.hot = hot;
    if (const auto* m = valueOf<repl::FanModeRecord>(store, repl::RecordKind::FanMode, 0)) {
        in.fanMode = m->mode;
    }
    for (const auto& [key, rec] : store.records()) {
        if (key.kind != repl::RecordKind::FanFloor) {
            continue;
        }
        const auto& f = std::get<repl::FanFloorRecord>(rec.value);
        if (in.floors.size() <= key.index) {
            in.floors.resize(key.index + 1);
        }
        if (f.dutyPct) {
            in.floors[key.index] = *f.dutyPct;
        }
    }
    if (const auto* p =
            valueOf<repl::PowerRequestRecord>(store, repl::RecordKind::PowerRequest, 0)) {
        chassis::PowerRequestState s;
        s.requestId = p->requestId;
        s.transition = p->transition;
        s.requestedUnixMs = p->requestedUnixMs;
        s.deadlineUnixMs = p->deadlineUnixMs;
        s.outcome = p->outcome;
        s.outcomeUnixMs = p->outcomeUnixMs;
        in.power = s;
    }
    return in;
}

std::vector<IndexedValue> telemetryRecords(const ChassisSnapshot& s, std::int64_t unixMs) {
    std::vector<IndexedValue> out;
    if (!s.enabled) {
        return out;
    }
    out.reserve(s.sensors.size() + s.fans.size() + 2);
    for (const SensorSnapshot& x : s.sensors) {
        if (x.index >= repl::kMaxIndex) {
            continue;
        }
        out.push_back({x.index, repl::SensorRecord{x.value, x.valueValid, x.state, unixMs}});
    }
    out.push_back({0, repl::PowerRecord{s.power, unixMs}});
    for (const FanSnapshot& f : s.fans) {
        if (f.zone >= repl::kMaxZones) {
            continue;
        }
        out.push_back({f.zone, repl::FanRecord{static_cast<std::uint8_t>(std::min(f.dutyPct, 100u)),
                                               f.rpm, f.mode, f.failed}});
    }
    out.push_back({0, repl::BmcRecord{s.access, clip(s.lastError)}});
    return out;
}

std::string replicationAnswer(std::string_view applied, repl::WaitOutcome o) {
    switch (o) {
    case repl::WaitOutcome::Acked:
        return fmt::format("{} (the standby holds it)", applied);
    case repl::WaitOutcome::NoStandby:
        return fmt::format("{} (no standby to replicate to)", applied);
    case repl::WaitOutcome::TimedOut:
        return fmt::format("{}; replication degraded: the standby did not confirm it in time",
                           applied);
    case repl::WaitOutcome::Abandoned:
        return fmt::format("{}; this node stopped being active before the standby confirmed it",
                           applied);
    }
    return std::string(applied);
}

void logNotice(const repl::Notice& n) {
    switch (n.type) {
    case repl::NoticeType::Readiness:
        HS_INFO("event=replication_readiness readiness={}", repl::toString(n.readiness));
        return;
    case repl::NoticeType::Degraded:
        HS_WARN("event=replication_degraded: the standby did not confirm an intent change within "
                "the wait; the change applied");
        return;
    case repl::NoticeType::Restored:
        HS_INFO("event=replication_restored: the standby caught up");
        return;
    case repl::NoticeType::Conflict:
        HS_WARN("event=replication_conflict records={}: records written by this node while "
                "partitioned were dropped (the higher epoch's store wins)",
                n.count);
        for (const repl::Record& r : n.records) {
            HS_WARN("event=replication_conflict_record kind={} index={} epoch={} seq={}",
                    repl::toString(r.key().kind), r.index, r.stamp.epoch, r.stamp.seq);
        }
        return;
    case repl::NoticeType::Divergence:
        HS_WARN("event=replication_divergence: equal positions with different digests; the "
                "standby resynchronises");
        return;
    }
}

std::optional<Event> noticeEvent(const repl::Notice& n) {
    Event e;
    switch (n.type) {
    case repl::NoticeType::Degraded:
        e.type = EventType::ReplicationDegraded;
        return e;
    case repl::NoticeType::Restored:
        e.type = EventType::ReplicationRestored;
        return e;
    case repl::NoticeType::Conflict:
        e.type = EventType::ReplicationRecordsDropped;
        e.count = n.count;
        return e;
    case repl::NoticeType::Readiness:
        // Only turning hot and leaving hot are told (cold <-> syncing is the way there).
        e.type = EventType::ReplicationHot;
        e.objectIndex = static_cast<std::uint32_t>(n.readiness) + 2; // hsReplReadiness

        return e;
    case repl::NoticeType::Divergence:
        break;
    }
    return std::nullopt;
}

// ---- Replication ----

Replication::Replication(std::uint32_t nodeId, std::uint32_t incarnation,
                         std::vector<ReplicationPath> paths, Send send,
                         repl::SenderConfig senderCfg)
    : nodeId_(nodeId), paths_(std::move(paths)), send_(std::move(send)), sender_(store_, senderCfg),
      receiver_(store_, repl::ReceiverConfig{}, incarnation) {}

chassis::ReplicatedIntent Replication::takeOver(TimePoint now, std::uint64_t epoch) {
    const bool hot = !writer_ && receiver_.readiness() == repl::Readiness::Hot;
    lagAtTakeoverRecords_ = receiver_.lagRecords(repl::Stream::Ordered);
    lagAtTakeoverMs_ = toMs(receiver_.lag(repl::Stream::Ordered, now));
    chassis::ReplicatedIntent in = inheritedIntent(store_, hot);
    receiver_.stop();
    if (!writer_) {
        store_.beginTerm(epoch, nodeId_);
        writer_ = true;
        ++generation_;
    }
    ++counters_.takeovers;
    if (hot) {
        ++counters_.inheritedHot;
    }
    if (pendingJournal_) {
        Event e = *pendingJournal_;
        pendingJournal_.reset();
        onEvent(e, now);
    }
    HS_INFO("event=replication_takeover epoch={} hot={} records={} lag_records={} lag_ms={} "
            "fan_mode={} floors={} power_request={}",
            epoch, hot, store_.size(), lagAtTakeoverRecords_, lagAtTakeoverMs_,
            in.fanMode ? toString(*in.fanMode) : "none", in.floors.size(),
            in.power ? std::to_string(in.power->requestId) : "none");
    return in;
}

void Replication::stepDown() {
    if (!writer_) {
        return;
    }
    writer_ = false;
    sender_.reset();
    settle(TimePoint{});
}

// The Receiver never follows a writer older than its store (a deposed active's late heartbeat).
// But a node that was active on its own while cut off (a wrong key, a partition) and then
// restarted holds a term of its OWN newer than the active the arbitration made it follow: those
// records were never acknowledged by a standby (there was none), and the heal rule says the
// loser drops them. Without this the mirror would refuse the active for good (never hot).
void Replication::dropOwnNewerTerm(std::uint64_t activeEpoch) {
    const repl::History& h = store_.history();
    if (activeEpoch >= store_.epoch() || h.empty() || h.back().writer != nodeId_) {
        return;
    }
    HS_WARN("event=replication_own_term_dropped store_epoch={} active_epoch={} records={}: this "
            "node's store holds a newer term of its own (written while it was cut off); the "
            "active chosen by the arbitration wins, the mirror starts over from its store",
            store_.epoch(), activeEpoch, store_.size());
    // The records of that term are the ones the heal drops (the rest come back from the active):
    // reported like the Receiver's conflicts (notification with their number).
    std::uint64_t dropped = 0;
    for (const auto& [key, r] : store_.records()) {
        dropped += r.stamp.epoch > activeEpoch ? 1 : 0;
    }
    if (dropped > 0) {
        ++ownTermDrops_;
        ownTermDropped_ += dropped;
        lastDropCount_ = dropped;
        notices_.push_back(repl::Notice{repl::NoticeType::Conflict, {}, dropped, {}});
    }
    receiver_.stop();
    store_.clear();
    ++generation_;
}

void Replication::onPeerPayload(TimePoint now, const NodeCore::PeerPayload& p) {
    ++counters_.framesReceived;
    if (p.type == hb::FrameType::Heartbeat) {
        repl::Watermark wm;
        if (!repl::decodeWatermark(p.payload, wm)) {
            ++counters_.malformed;
            return;
        }
        if (writer_ && p.role != Role::Active) {
            sender_.onPeerWatermark(wm, now);
        } else if (!writer_ && p.role == Role::Active) {
            dropOwnNewerTerm(wm.epoch);
            receiver_.onPeerWatermark(wm, now);
        }
        return;
    }
    repl::Message m;
    if (!repl::decodeMessage(p.payload, m)) {
        ++counters_.malformed;
        HS_DEBUG("event=replication_malformed path={} bytes={}", p.path, p.payload.size());
        return;
    }
    const bool toWriter =
        std::holds_alternative<repl::Join>(m) || std::holds_alternative<repl::Ack>(m);
    if (writer_ && toWriter) {
        sender_.onMessage(m, now);
        settle(now);
    } else if (!writer_ && !toWriter && p.role == Role::Active) {
        const auto before = store_.lastSeqs();
        receiver_.onMessage(m, now);
        if (store_.lastSeqs() != before) {
            ++generation_;
            sendNow(now); // the Ack of an ordered record at once
        }
    }
}

void Replication::tick(TimePoint now, const NodeCore& core) {
    pathsUp_.resize(paths_.size());
    for (std::size_t i = 0; i < paths_.size(); ++i) {
        pathsUp_[i] = i < core.pathCount() && core.monitor(i).up();
    }
    tick(now, core.peerAlive(), pathsUp_);
}

void Replication::tick(TimePoint now, bool alive, const std::vector<bool>& pathsUp) {
    if (peerAlive_ && !alive && writer_) {
        sender_.peerLost();
    }
    peerAlive_ = alive;
    // The best path up: a network path carries the bulk, the serial line what fits.
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < paths_.size() && i < pathsUp.size(); ++i) {
        if (!pathsUp[i]) {
            continue;
        }
        if (!best ||
            (paths_[*best].type == PathType::Serial && paths_[i].type != PathType::Serial)) {
            best = i;
        }
    }
    if (best && lastTick_ && lastPath_ == best &&
        now - *lastTick_ < paths_[*best].interval * 9 / 10) {
        settle(now);
        return; // one budget per interval of the path
    }
    lastTick_ = now;
    lastPath_ = best;
    if (!best || !alive) {
        settle(now);
        return;
    }
    // A standby far behind (snapshot, catch-up) gets the network path's bulk budget.
    const std::uint64_t behind = std::max(sender_.lagRecords(repl::Stream::Ordered),
                                          sender_.lagRecords(repl::Stream::Telemetry));
    const bool bulk = writer_ && behind > repl::ReceiverConfig{}.hotLagRecords;
    const repl::Budget budget = pathBudget(paths_[*best], watermark().size(), bulk);
    std::vector<repl::Bytes> out =
        writer_ ? sender_.tick(now, budget) : receiver_.tick(now, budget);
    for (auto& m : out) {
        ++counters_.framesSent;
        send_(*best, std::move(m));
    }
    settle(now);
}

void Replication::sendNow(TimePoint now) {
    if (!lastPath_ || !peerAlive_) {
        return;
    }
    std::vector<repl::Bytes> out = writer_ ? sender_.sendNow(now) : receiver_.ackNow(now);
    for (auto& m : out) {
        ++counters_.framesSent;
        send_(*lastPath_, std::move(m));
    }
}

std::vector<std::uint8_t> Replication::watermark() const {
    std::vector<std::uint8_t> out;
    repl::encodeWatermark(writer_ ? sender_.watermark() : receiver_.watermark(), out);
    return out;
}

void Replication::write(std::uint32_t index, repl::RecordValue v, TimePoint now, Done done) {
    if (!writer_) {
        if (done) {
            done(repl::WaitOutcome::NoStandby);
        }
        return;
    }
    // The same value again (a takeover re-applying the inherited fan mode, an operator repeating
    // a command) keeps the record and its stamp: nothing new to send, and a wait is decided by
    // whether the standby holds that record.
    const repl::RecordKey key{repl::kindOf(v), index};
    if (const repl::Record* have = store_.find(key); have == nullptr || !(have->value == v)) {
        store_.put(index, std::move(v));
        ++generation_;
        if (repl::streamOf(key.kind) == repl::Stream::Ordered) {
            sendNow(now); // its Delta at once, not at the next tick
        }
    }
    if (done) {
        await(key, now, std::move(done));
    }
}

void Replication::await(const repl::RecordKey& key, TimePoint now, Done done) {
    if (!writer_ || store_.find(key) == nullptr) {
        done(repl::WaitOutcome::NoStandby);
        return;
    }
    const std::uint64_t token = nextToken_++;
    waits_.emplace(token, std::move(done));
    sender_.await(key, token, now);
    settle(now);
}

void Replication::settle(TimePoint /*now*/) {
    for (const repl::Decision& d : sender_.takeDecisions()) {
        auto it = waits_.find(d.token);
        if (it == waits_.end()) {
            continue;
        }
        Done done = std::move(it->second);
        waits_.erase(it);
        if (d.outcome == repl::WaitOutcome::TimedOut) {
            ++counters_.waitsTimedOut;
        }
        done(d.outcome);
    }
    for (auto& n : sender_.takeNotices()) {
        notices_.push_back(std::move(n));
    }
    for (auto& n : receiver_.takeNotices()) {
        if (n.type == repl::NoticeType::Conflict) {
            ++generation_;
            ++conflictNotices_;
            lastDropCount_ = n.count;
        }
        notices_.push_back(std::move(n));
    }
    const std::uint64_t snapshots =
        sender_.stats().snapshotsSent + receiver_.stats().snapshotsReceived;
    if (snapshots != snapshotsSeen_) {
        snapshotsSeen_ = snapshots;
        lastSnapshotUnixMs_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
    }
}

void Replication::onIntent(const chassis::IntentUpdate& u, TimePoint now) {
    if (auto r = intentRecord(u)) {
        write(r->index, std::move(r->value), now);
    }
}

void Replication::answerIntent(ControlOp op, std::uint32_t zone, ControlResult r, TimePoint now,
                               const std::function<void(ControlResult)>& done) {
    auto after = [done, r](repl::WaitOutcome o) mutable {
        r.message = replicationAnswer(r.message, o);
        done(std::move(r));
    };
    const bool ok = r.status == ControlStatus::Ok && writer_;
    const repl::RecordKey floor{repl::RecordKind::FanFloor, zone};
    if (ok && (op == ControlOp::FanModeAuto || op == ControlOp::FanModeManual)) {
        write(0,
              repl::FanModeRecord{op == ControlOp::FanModeAuto ? FanMode::Auto : FanMode::Manual},
              now, std::move(after));
        return;
    }
    if (ok && op == ControlOp::FanDuty && store_.find(floor) != nullptr) {
        await(floor, now, std::move(after));
        return;
    }
    done(std::move(r));
}

void Replication::onEvent(const Event& e, TimePoint now) {
    if (e.type == EventType::Switchover) {
        if (e.role != Role::Active) {
            return; // the new active writes the row
        }
        if (!writer_) {
            pendingJournal_ = e; // written once this node drives the chassis
            return;
        }
        repl::JournalRecord j;
        j.unixMs = e.unixMs;
        j.reason = e.reason;
        j.from = e.fromRole;
        j.to = e.role;
        j.epoch = e.epoch;
        j.lagRecords = lagAtTakeoverRecords_;
        j.lagMs = lagAtTakeoverMs_;
        write(0, j, now);
        return;
    }
    if (auto r = eventRecord(e)) {
        write(0, std::move(*r), now);
    }
}

void Replication::onTelemetry(const ChassisSnapshot& s, TimePoint now) {
    if (!writer_) {
        return;
    }
    const std::int64_t unixMs = std::chrono::duration_cast<milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    for (auto& [index, value] : telemetryRecords(s, unixMs)) {
        // Coalesced: written only when something other than the time of the reading changed.
        if (const repl::Record* old = store_.find({repl::kindOf(value), index})) {
            repl::RecordValue cmp = value;
            if (auto* sr = std::get_if<repl::SensorRecord>(&cmp)) {
                if (const auto* o = std::get_if<repl::SensorRecord>(&old->value)) {
                    sr->readUnixMs = o->readUnixMs;
                }
            } else if (auto* pr = std::get_if<repl::PowerRecord>(&cmp)) {
                if (const auto* o = std::get_if<repl::PowerRecord>(&old->value)) {
                    pr->unixMs = o->unixMs;
                }
            }
            if (cmp == old->value) {
                continue;
            }
        }
        write(index, std::move(value), now);
    }
}

std::optional<std::string> Replication::switchoverRefusal() const {
    if (writer_ && !standbyHot()) {
        return fmt::format(
            "refused: the standby is not hot ({}, {} replicated records behind); it would not "
            "hold every acknowledged change. Wait until `hsctl replication` on it says hot, or "
            "use force-takeover",
            sender_.standbyJoined() ? "syncing" : "not joined", lagRecords());
    }
    if (!writer_ && receiver_.readiness() != repl::Readiness::Hot) {
        return fmt::format("refused: this standby is not hot (replication {}); it would not "
                           "hold every acknowledged change. Wait for it, or use force-takeover",
                           repl::toString(receiver_.readiness()));
    }
    return std::nullopt;
}

std::vector<repl::Notice> Replication::takeNotices() {
    std::vector<repl::Notice> out;
    out.swap(notices_);
    return out;
}

void Replication::fillView(Snapshot::ReplicationView& v, TimePoint now) const {
    using repl::Stream;
    const auto& ss = sender_.stats();
    const auto& rs = receiver_.stats();
    v.writer = writer_;
    v.readiness = writer_ ? 0 : static_cast<std::uint8_t>(receiver_.readiness());
    v.standbyHot = writer_ ? standbyHot() : receiver_.readiness() == repl::Readiness::Hot;
    v.lagRecords = lagRecords();
    v.degraded = degraded();
    v.storeEpoch = store_.epoch();
    v.storeSeq = store_.lastSeq(Stream::Ordered);
    v.records = store_.size();
    v.standbyJoined = writer_ && sender_.standbyJoined();
    v.ackedSeq = writer_ ? sender_.acked(Stream::Ordered) : 0;
    v.lagMs = writer_ ? 0 : toMs(receiver_.lag(Stream::Ordered, now));
    v.snapshotsSent = ss.snapshotsSent;
    v.snapshotsReceived = rs.snapshotsReceived;
    v.resends = ss.resends;
    v.gaps = rs.gaps;
    v.conflicts = conflictNotices_ + ownTermDrops_;
    v.droppedRecords = rs.conflicts + ownTermDropped_;
    v.lastDropCount = lastDropCount_;
    v.waitsTimedOut = ss.timedOut;
    v.lastSnapshotUnixMs = lastSnapshotUnixMs_;
}

nlohmann::json Replication::statusJson(TimePoint now) const {
    using nlohmann::json;
    using repl::Stream;
    json j;
    j["store_role"] = writer_ ? "writer" : "mirror";
    j["readiness"] = writer_ ? "none" : std::string(repl::toString(receiver_.readiness()));
    j["epoch"] = store_.epoch();
    j["records"] = store_.size();
    j["seq_ordered"] = store_.lastSeq(Stream::Ordered);
    j["seq_telemetry"] = store_.lastSeq(Stream::Telemetry);
    j["digest_ordered"] = fmt::format("{:016x}", store_.digest(Stream::Ordered));
    j["digest_telemetry"] = fmt::format("{:016x}", store_.digest(Stream::Telemetry));
    j["degraded"] = writer_ && sender_.degraded();
    if (writer_) {
        j["standby_joined"] = sender_.standbyJoined();
        j["acked_ordered"] = sender_.acked(Stream::Ordered);
        j["acked_telemetry"] = sender_.acked(Stream::Telemetry);
        j["lag_records"] = sender_.lagRecords(Stream::Ordered);
        j["lag_records_telemetry"] = sender_.lagRecords(Stream::Telemetry);
        j["lag_ms"] = nullptr;
    } else {
        j["following"] = receiver_.following();
        j["lag_records"] = receiver_.lagRecords(Stream::Ordered);
        j["lag_records_telemetry"] = receiver_.lagRecords(Stream::Telemetry);
        j["lag_ms"] = toMs(receiver_.lag(Stream::Ordered, now));
    }
    j["lag_at_takeover_records"] = lagAtTakeoverRecords_;
    j["lag_at_takeover_ms"] = lagAtTakeoverMs_;
    const auto& ss = sender_.stats();
    const auto& rs = receiver_.stats();
    j["counters"] = {
        {"frames_sent", counters_.framesSent},
        {"payloads_received", counters_.framesReceived},
        {"malformed", counters_.malformed},
        {"takeovers", counters_.takeovers},
        {"takeovers_hot", counters_.inheritedHot},
        {"joins_answered", ss.joins},
        {"snapshots_sent", ss.snapshotsSent},
        {"catch_ups_sent", ss.catchUpsSent},
        {"records_sent", ss.recordsSent},
        {"resends", ss.resends},
        {"waits_acked", ss.acked},
        {"waits_timed_out", ss.timedOut},
        {"joins", rs.joins},
        {"snapshots_received", rs.snapshotsReceived},
        {"catch_ups_received", rs.catchUpsReceived},
        {"records_applied", rs.recordsApplied},
        {"gaps", rs.gaps},
        {"conflicts", rs.conflicts},
        {"divergences", ss.divergences + rs.divergences},
        {"stale", ss.stale + rs.stale},
        {"lower_epoch", rs.lowerEpoch},
        {"sent_at_once", ss.immediate + rs.immediateAcks},
    };
    return j;
}

} // namespace hs

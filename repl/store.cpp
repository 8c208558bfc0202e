// The versioned store: writes, mirror updates, lineage, digests and the snapshot encoding.
#include "repl/store.hpp"

#include "repl/wire.hpp"

#include <algorithm>
#include <limits>

namespace hs::repl {
namespace {

constexpr std::uint8_t kSnapMagic[4] = {'H', 'S', 'R', 'S'};
constexpr std::uint8_t kSnapVersion = 1;
constexpr std::size_t kSnapHeader = 4 + 1 + 4; // magic, version, length of what follows

std::uint64_t fnv1a(std::span<const std::uint8_t> bytes) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (auto b : bytes) {
        h ^= b;
        h *= 0x100000001b3ull;
    }
    return h;
}

} // namespace

const Term* termAt(const History& history, Stream s, std::uint64_t seq) {
    const auto i = static_cast<std::size_t>(s);
    const Term* found = nullptr;
    for (const auto& t : history) {
        if (t.firstSeq[i] > seq) {
            break;
        }
        found = &t;
    }
    return found;
}

bool sameLineage(const History& mine, const SeqPair& upTo, const History& theirs,
                 const SeqPair& theirLast) {
    for (std::size_t si = 0; si < kStreams; ++si) {
        const auto s = static_cast<Stream>(si);
        if (upTo[si] == 0) {
            continue;
        }
        if (upTo[si] > theirLast[si] || mine.empty()) {
            return false;
        }
        for (std::size_t i = 0; i < mine.size(); ++i) {
            const std::uint64_t lo = std::max<std::uint64_t>(mine[i].firstSeq[si], 1);
            if (lo > upTo[si]) {
                break;
            }
            std::uint64_t hi = upTo[si];
            if (i + 1 < mine.size() && mine[i + 1].firstSeq[si] > 0) {
                hi = std::min(hi, mine[i + 1].firstSeq[si] - 1);
            }
            if (lo > hi) {
                continue; // the term wrote nothing in this stream
            }
            const Term* a = termAt(theirs, s, lo);
            const Term* b = termAt(theirs, s, hi);
            if (a == nullptr || b == nullptr || !a->sameTerm(mine[i]) || !b->sameTerm(mine[i])) {
                return false;
            }
        }
    }
    return true;
}

std::uint64_t recordDigest(const Record& r) {
    thread_local std::vector<std::uint8_t> bytes;
    bytes.clear();
    encodeRecord(r, bytes);
    return fnv1a(bytes);
}

void Store::beginTerm(std::uint64_t epoch, std::uint32_t writer) {
    // A standby taken over in the middle of a full resync still holds records above its position
    // (kept from before the resync): new writes must not reuse their sequence numbers.
    for (std::size_t s = 0; s < kStreams; ++s) {
        if (!bySeq_[s].empty()) {
            lastSeq_[s] = std::max(lastSeq_[s], bySeq_[s].rbegin()->first);
        }
    }
    Term t{epoch, writer, {lastSeq_[0] + 1, lastSeq_[1] + 1}};
    if (!history_.empty() && history_.back().sameTerm(t)) {
        return;
    }
    history_.push_back(t);
    if (history_.size() > kMaxTerms) {
        history_.erase(history_.begin());
    }
}

const Record& Store::put(std::uint32_t index, RecordValue value) {
    const auto kind = kindOf(value);
    Record r;
    r.index = isLog(kind) ? static_cast<std::uint32_t>(maxLogIndex(kind) + 1) : index;
    const auto s = idx(streamOf(kind));
    r.stamp = {epoch(), ++lastSeq_[s]};
    r.value = std::move(value);
    if (auto* ev = std::get_if<ChassisEventRecord>(&r.value); ev && ev->text.size() > kMaxText) {
        ev->text.resize(kMaxText);
    }
    if (auto* b = std::get_if<BmcRecord>(&r.value); b && b->lastError.size() > kMaxText) {
        b->lastError.resize(kMaxText);
    }
    store(r);
    if (isLog(kind)) {
        prune(kind, r.index);
    }
    return records_.at(r.key());
}

bool Store::apply(const Record& r) {
    const auto key = r.key();
    if (auto it = records_.find(key); it != records_.end() && it->second.stamp.seq >= r.stamp.seq) {
        return false;
    }
    if (isLog(key.kind)) {
        const auto newest = maxLogIndex(key.kind);
        if (newest >= kLogCapacity && r.index <= newest - kLogCapacity) {
            return false;
        }
    }
    store(r);
    if (isLog(key.kind)) {
        prune(key.kind, r.index);
    }
    return true;
}

void Store::adoptHistory(History h) {
    history_ = std::move(h);
    if (history_.size() > kMaxTerms) {
        history_.erase(history_.begin(),
                       history_.begin() + static_cast<std::ptrdiff_t>(history_.size() - kMaxTerms));
    }
}

ConflictReport Store::dropDivergent(const History& winner) {
    ConflictReport rep;
    for (auto it = records_.begin(); it != records_.end();) {
        const auto& r = it->second;
        const auto s = streamOf(r.key().kind);
        const Term* mine = termAt(history_, s, r.stamp.seq);
        const Term* theirs = termAt(winner, s, r.stamp.seq);
        if (mine != nullptr && theirs != nullptr && mine->sameTerm(*theirs)) {
            ++it;
            continue;
        }
        rep.records.push_back(r);
        auto next = std::next(it);
        erase(it);
        it = next;
    }
    rep.count = rep.records.size();
    return rep;
}

void Store::clear() {
    records_.clear();
    for (auto& m : bySeq_) {
        m.clear();
    }
    lastSeq_ = {};
    digest_ = {};
    history_.clear();
}

void Store::clearStream(Stream s) {
    for (auto it = records_.begin(); it != records_.end();) {
        auto next = std::next(it);
        if (streamOf(it->first.kind) == s) {
            erase(it);
        }
        it = next;
    }
    lastSeq_[idx(s)] = 0;
}

const Record* Store::find(const RecordKey& k) const {
    auto it = records_.find(k);
    return it == records_.end() ? nullptr : &it->second;
}

Watermark Store::watermark(std::uint8_t exact) const {
    return Watermark{epoch(), 0, lastSeq_, digest_, exact};
}

std::uint64_t Store::maxLogIndex(RecordKind k) const {
    auto it = records_.upper_bound(RecordKey{k, std::numeric_limits<std::uint32_t>::max()});
    if (it == records_.begin()) {
        return 0;
    }
    --it;
    return it->first.kind == k ? it->first.index : 0;
}

void Store::store(const Record& r) {
    const auto key = r.key();
    const auto s = idx(streamOf(key.kind));
    if (auto it = records_.find(key); it != records_.end()) {
        erase(it);
    }
    // One sequence number names one write: a record holding it already is older news.
    if (auto it = bySeq_[s].find(r.stamp.seq); it != bySeq_[s].end()) {
        erase(records_.find(it->second));
    }
    records_.emplace(key, r);
    bySeq_[s].emplace(r.stamp.seq, key);
    digest_[s] ^= recordDigest(r);
}

void Store::erase(std::map<RecordKey, Record>::iterator it) {
    const auto s = idx(streamOf(it->first.kind));
    digest_[s] ^= recordDigest(it->second);
    bySeq_[s].erase(it->second.stamp.seq);
    records_.erase(it);
}

void Store::prune(RecordKind k, std::uint32_t newest) {
    if (newest <= kLogCapacity) {
        return;
    }
    const std::uint32_t keepFrom = newest - static_cast<std::uint32_t>(kLogCapacity) + 1;
    auto it = records_.lower_bound(RecordKey{k, 0});
    while (it != records_.end() && it->first.kind == k && it->first.index < keepFrom) {
        auto next = std::next(it);
        erase(it);
        it = next;
    }
}

std::vector<std::uint8_t> encodeSnapshot(const Store& s) {
    std::vector<std::uint8_t> body;
    WireWriter w(body);
    for (auto v : s.lastSeqs()) {
        w.varint(v);
    }
    w.u8(static_cast<std::uint8_t>(s.history().size()));
    for (const auto& t : s.history()) {
        w.varint(t.epoch);
        w.varint(t.writer);
        for (auto f : t.firstSeq) {
            w.varint(f);
        }
    }
    w.varint(s.size());
    for (const auto& [k, r] : s.records()) {
        encodeRecord(r, body);
    }
    w.u64(fnv1a(body));

    std::vector<std::uint8_t> out(kSnapHeader + body.size());
    std::copy(std::begin(kSnapMagic), std::end(kSnapMagic), out.begin());
    out[4] = kSnapVersion;
    const auto len = static_cast<std::uint32_t>(body.size());
    for (std::size_t i = 0; i < 4; ++i) {
        out[5 + i] = static_cast<std::uint8_t>(len >> (24 - 8 * i));
    }
    std::copy(body.begin(), body.end(), out.begin() + kSnapHeader);
    return out;
}

SnapshotError decodeSnapshot(std::span<const std::uint8_t> bytes, Store& out) {
    if (bytes.size() < kSnapHeader + 8) {
        return SnapshotError::TooShort;
    }
    if (!std::equal(std::begin(kSnapMagic), std::end(kSnapMagic), bytes.begin())) {
        return SnapshotError::BadMagic;
    }
    if (bytes[4] != kSnapVersion) {
        return SnapshotError::BadVersion;
    }
    WireReader hdr(bytes.subspan(5, 4));
    std::uint32_t len = 0;
    hdr.u32(len);
    if (len != bytes.size() - kSnapHeader || len < 8) {
        return SnapshotError::BadLength;
    }
    const auto body = bytes.subspan(kSnapHeader);
    WireReader sum(body.subspan(body.size() - 8));
    std::uint64_t want = 0;
    sum.u64(want);
    if (fnv1a(body.first(body.size() - 8)) != want) {
        return SnapshotError::BadChecksum;
    }

    WireReader in(body.first(body.size() - 8));
    Store st;
    SeqPair last{};
    for (auto& v : last) {
        in.varint(v);
    }
    std::uint8_t nTerms = 0;
    in.u8(nTerms);
    if (nTerms > kMaxTerms) {
        return SnapshotError::Malformed;
    }
    History h;
    for (std::uint8_t i = 0; i < nTerms && in.ok(); ++i) {
        Term t;
        in.varint(t.epoch);
        in.varintTo(t.writer, std::numeric_limits<std::uint32_t>::max());
        for (auto& f : t.firstSeq) {
            in.varint(f);
        }
        if (!h.empty() && (t.epoch < h.back().epoch || t.firstSeq[0] < h.back().firstSeq[0] ||
                           t.firstSeq[1] < h.back().firstSeq[1])) {
            return SnapshotError::Malformed;
        }
        h.push_back(t);
    }
    std::uint64_t n = 0;
    in.varint(n);
    if (!in.ok() || n > kMaxRecords || n > in.remaining()) {
        return SnapshotError::Malformed;
    }
    std::optional<RecordKey> prev;
    for (std::uint64_t i = 0; i < n; ++i) {
        Record r;
        if (!decodeRecord(in, r)) {
            return SnapshotError::Malformed;
        }
        const auto k = r.key();
        if ((prev && !(*prev < k)) ||
            r.stamp.seq > last[static_cast<std::size_t>(streamOf(k.kind))]) {
            return SnapshotError::Malformed;
        }
        // Two records of one stream never share a sequence number.
        if (!st.apply(r) || st.size() != i + 1) {
            return SnapshotError::Malformed;
        }
        prev = k;
    }
    if (!in.ok() || !in.atEnd()) {
        return SnapshotError::Malformed;
    }
    st.adoptHistory(std::move(h));
    st.setLastSeq(Stream::Ordered, last[0]);
    st.setLastSeq(Stream::Telemetry, last[1]);
    out = std::move(st);
    return SnapshotError::Ok;
}

std::string_view toString(SnapshotError e) {
    switch (e) {
    case SnapshotError::Ok:
        return "ok";
    case SnapshotError::TooShort:
        return "tooShort";
    case SnapshotError::BadMagic:
        return "badMagic";
    case SnapshotError::BadVersion:
        return "badVersion";
    case SnapshotError::BadLength:
        return "badLength";
    case SnapshotError::Malformed:
        return "malformed";
    case SnapshotError::BadChecksum:
        return "badChecksum";
    }
    return "unknown";
}

} // namespace hs::repl

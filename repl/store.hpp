// The versioned store: one current value per key, stamped (epoch, sequence). The active is its
// only writer (put/append); the standby changes it only through apply() of records the active
// sent, and through the lineage operations of a (re)join. Pure: no I/O, no clocks, no threads.
//
// Lineage. Every takeover opens a term (epoch, writer node id, first sequence per stream); the
// history of terms says which writer assigned each sequence number. Two stores agree on a record
// exactly when both histories give its sequence number to the same term, which is how a standby
// proves it may catch up instead of taking a full snapshot, and how the loser of a partition finds
// the records it wrote that the winner never had (reported, then dropped: never merged).
#pragma once

#include "repl/record.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace hs::repl {

inline constexpr std::size_t kMaxTerms = 32;         // history kept (oldest dropped)
inline constexpr std::size_t kMaxRecords = 1u << 20; // a snapshot holding more is malformed

using SeqPair = std::array<std::uint64_t, kStreams>;

struct Term {
    std::uint64_t epoch = 0;
    std::uint32_t writer = 0; // node id of the active that opened the term
    SeqPair firstSeq{};       // first sequence number the term assigned, per stream
    bool sameTerm(const Term& o) const { return epoch == o.epoch && writer == o.writer; }
    bool operator==(const Term&) const = default;
};
using History = std::vector<Term>; // oldest first

// The term that assigned sequence number SEQ of stream S, or null when HISTORY does not reach back.
const Term* termAt(const History& history, Stream s, std::uint64_t seq);

// True when every sequence number 1..upTo[s] that MINE gives to a term is given to the same term by
// THEIRS, and THEIRS reaches at least upTo (theirLast). A store with records but no history has an
// unknown lineage (false).
bool sameLineage(const History& mine, const SeqPair& upTo, const History& theirs,
                 const SeqPair& theirLast);

// The store's position, carried in every heartbeat: the epoch of its newest term, the session, per
// stream the
// sequence number it is complete up to and a digest of the stream's records. `exact` (bit per
// stream) says the records are exactly the writer's at that sequence number, so equal sequence
// numbers with different digests prove a divergence.
struct Watermark {
    std::uint64_t epoch = 0;
    std::uint64_t session = 0; // the replication session the sender serves or follows (0: none)
    SeqPair seq{};
    SeqPair digest{};
    std::uint8_t exact = 0;
    bool operator==(const Watermark&) const = default;
};

struct ConflictReport {
    std::uint64_t count = 0;
    std::vector<Record> records; // the dropped records (key, stamp, value)
};

class Store {
  public:
    // ---- the writer (active) ----
    // Opens a term at a takeover: the next sequence numbers belong to (epoch, writer).
    void beginTerm(std::uint64_t epoch, std::uint32_t writer);
    // Writes the current value of a key; the stamp is (epoch of the open term, next sequence of
    // the value's stream). Log kinds ignore INDEX and append (index = newest + 1). Returns the
    // record as stored.
    const Record& put(std::uint32_t index, RecordValue value);
    const Record& append(RecordValue value) { return put(0, std::move(value)); }

    // ---- the mirror (standby) ----
    // Adopts a record the writer sent, unless the store holds the key at the same or a newer
    // sequence number, or it is a log entry already pruned. True when it changed the store.
    bool apply(const Record& r);
    void setLastSeq(Stream s, std::uint64_t seq) { lastSeq_[idx(s)] = seq; }
    void adoptHistory(History h);
    // Drops (and reports) every record whose sequence number WINNER gives to another term.
    ConflictReport dropDivergent(const History& winner);
    void clear();
    void clearStream(Stream s); // telemetry is not kept across a restart

    // ---- reading ----
    const Record* find(const RecordKey& k) const;
    std::uint64_t lastSeq(Stream s) const { return lastSeq_[idx(s)]; }
    const SeqPair& lastSeqs() const { return lastSeq_; }
    std::uint64_t digest(Stream s) const { return digest_[idx(s)]; }
    const History& history() const { return history_; }
    std::uint64_t epoch() const { return history_.empty() ? 0 : history_.back().epoch; }
    Watermark watermark(std::uint8_t exact = 0x3) const;
    std::size_t size() const { return records_.size(); }
    bool empty() const { return records_.empty(); }
    const std::map<RecordKey, Record>& records() const { return records_; }
    // Records of stream S with sequence numbers above SEQ, in sequence order; F returns false to
    // stop.
    template <typename F> void forEachAfter(Stream s, std::uint64_t seq, F&& f) const {
        const auto& bySeq = bySeq_[idx(s)];
        for (auto it = bySeq.upper_bound(seq); it != bySeq.end(); ++it) {
            if (!f(records_.at(it->second))) {
                return;
            }
        }
    }
    // Same records, stamps, sequence numbers and history.
    bool operator==(const Store& o) const {
        return records_ == o.records_ && lastSeq_ == o.lastSeq_ && history_ == o.history_;
    }

  private:
    static std::size_t idx(Stream s) { return static_cast<std::size_t>(s); }
    std::uint64_t maxLogIndex(RecordKind k) const;
    void store(const Record& r);
    void erase(std::map<RecordKey, Record>::iterator it);
    void prune(RecordKind k, std::uint32_t newest);

    std::map<RecordKey, Record> records_;
    std::array<std::map<std::uint64_t, RecordKey>, kStreams> bySeq_;
    SeqPair lastSeq_{};
    SeqPair digest_{};
    History history_;
};

// Digest of one record (FNV-1a 64 of its encoding); a stream's digest is the XOR over its records.
std::uint64_t recordDigest(const Record& r);

// The whole store as bytes (persistence in the state directory, a full copy in tests): magic
// "HSRS", version, length, sequence numbers, history, records in key order, FNV-1a 64 checksum.
std::vector<std::uint8_t> encodeSnapshot(const Store& s);
enum class SnapshotError : std::uint8_t {
    Ok,
    TooShort,
    BadMagic,
    BadVersion,
    BadLength,
    Malformed,
    BadChecksum
};
// Fills OUT only when the whole input is well-formed.
SnapshotError decodeSnapshot(std::span<const std::uint8_t> bytes, Store& out);
std::string_view toString(SnapshotError e);

} // namespace hs::repl

// The replication messages and the watermark, and their encoding. Pure.
//
// A message rides as the payload of one heartbeat-protocol frame of the replication kind
// (docs/replication.md), so it is authenticated with the heartbeat key like every other frame; the
// watermark rides in the payload of every heartbeat frame. Both are decoded only after the frame's
// tag was verified, and still checked field by field here.
//
//   standby -> active   Join       (re)join: my lineage and how far I am complete
//   active  -> standby  JoinReply  catch-up from where you are, or full snapshot from 0
//   active  -> standby  Delta      records of one stream, complete for (from, last record]
//   standby -> active   Ack        cumulative per stream, with gap requests
#pragma once

#include "repl/record.hpp"
#include "repl/store.hpp"

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

namespace hs::repl {

inline constexpr std::uint8_t kMessageVersion = 1;
// Largest message: the heartbeat frame's payload limit (hb::kMaxPayload).
inline constexpr std::size_t kMaxMessage = 1024;
// Bytes a message costs on a path besides its own: frame header and tag (58 + 16) and, on a
// stream path, sync, length and CRC (8).
inline constexpr std::size_t kFrameOverhead = 58 + 16 + 8;

enum class MessageType : std::uint8_t { Join = 1, JoinReply = 2, Delta = 3, Ack = 4 };
enum class JoinMode : std::uint8_t { CatchUp = 1, Snapshot = 2 };

struct Join {
    std::uint64_t session = 0; // chosen by the standby; every answer echoes it
    bool reset = false;        // the standby cleared its store (divergence): send everything
    SeqPair have{};            // complete up to, per stream
    History history;           // the standby's lineage
    bool operator==(const Join&) const = default;
};
struct JoinReply {
    std::uint64_t session = 0;
    JoinMode mode = JoinMode::Snapshot;
    SeqPair from{}; // the active sends each stream from here (0: everything)
    SeqPair top{};  // the active's newest sequence numbers when it decided
    History history;
    bool operator==(const JoinReply&) const = default;
};
struct Delta {
    std::uint64_t session = 0;
    Stream stream = Stream::Ordered;
    std::uint64_t from = 0; // the records are every record of the stream in (from, last.seq]...
    std::uint64_t top = 0;  // ...when the stream's newest sequence number was this (>= last.seq)
    std::vector<Record> records; // at least one, sequence numbers increasing
    std::uint64_t to() const { return records.empty() ? from : records.back().stamp.seq; }
    bool tail() const { return to() == top; } // the records reach the stream's newest
    bool operator==(const Delta&) const = default;
};
namespace gap {
inline constexpr std::uint8_t kOrdered = 0x01;
inline constexpr std::uint8_t kTelemetry = 0x02;
} // namespace gap
struct Ack {
    std::uint64_t session = 0;
    SeqPair have{};        // complete up to, per stream (cumulative)
    std::uint8_t gaps = 0; // gap:: bits: a message started past `have`; resend from `have`
    bool operator==(const Ack&) const = default;
};
using Message = std::variant<Join, JoinReply, Delta, Ack>;

void encodeMessage(const Message& m, std::vector<std::uint8_t>& out);
std::vector<std::uint8_t> encodeMessage(const Message& m);
// Fills OUT only when all of BYTES is one well-formed message.
bool decodeMessage(std::span<const std::uint8_t> bytes, Message& out);

// Watermark: version u8, epoch varint, session varint, seq[2] varint, digest[2] u64, exact u8.
void encodeWatermark(const Watermark& w, std::vector<std::uint8_t>& out);
bool decodeWatermark(std::span<const std::uint8_t> bytes, Watermark& out);

std::string_view toString(MessageType t);
std::string_view toString(JoinMode m);

} // namespace hs::repl

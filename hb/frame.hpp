// Heartbeat wire format. Pure: no I/O, no clocks.
//
// Frame (big-endian), version 1:
//   off size field
//    0   2   magic 0x48 0x53 ("HS")
//    2   1   version (1)
//    3   1   type (FrameType)
//    4   1   flags (FrameFlag bits)
//    5   1   slot of the sender
//    6   1   role of the sender (hs::Role)
//    7   1   path index of the sender (1-based, informational)
//    8   4   node id of the sender
//   12   4   incarnation of the sender (persisted boot counter; raises on every start)
//   16   8   epoch (term) of the sender
//   24   8   sequence number (per sender incarnation, per path, starts at 1, strictly increasing)
//   32   8   send time, sender's monotonic clock, ns
//   40   8   echo time: the send time of the last frame the sender received from us on this path
//   48   4   echo hold, us: how long the sender held that echo before sending this frame
//   52   4   the sender's heartbeat interval on this path, us
//   56   2   payload length L (<= kMaxPayload)
//   58   L   payload: Heartbeat: the sender's replication watermark (or empty); Handover: the
//            reason byte; Replication: one replication message
//  58+L 16   tag: HMAC-SHA256 over bytes [0, 58+L), truncated to 128 bits (as RFC 4868), under
//            the frame key, which binds the key material to the pair's cluster id (Key::forCluster)
//
// Stream paths (TCP, serial) wrap each frame as:
//   0xA5 0x5A, length u16 (of the frame), frame, CRC-32C u32 of the frame (serial and TCP alike)
// and resynchronise on the next 0xA5 0x5A after garbage.
#pragma once

#include "base/secret.hpp"
#include "base/types.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace hs::hb {

inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 58;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kMaxPayload = 1024;
inline constexpr std::size_t kMaxFrame = kHeaderSize + kMaxPayload + kTagSize;
inline constexpr std::size_t kStreamOverhead = 2 + 2 + 4; // sync, length, CRC

enum class FrameType : std::uint8_t {
    Heartbeat = 1, // periodic; carries role, epoch, flags
    Handover = 2,  // "take over now": graceful switchover or clean shutdown of the active
    Leaving = 3,   // the sender is shutting down (a standby leaving)
    // One replication message (repl/message.hpp) as the payload. Same header, per-path sequence
    // number and tag as every frame: authenticated and replay-checked before the message is
    // decoded (docs/replication.md "How it rides").
    Replication = 4,
};

namespace flag {
// Bits of Frame::flags (an unscoped enum: the constants combine and test as plain integers).
enum FrameFlag : std::uint8_t {
    BmcOk = 0x01,       // the sender reaches its BMC
    Unconfirmed = 0x02, // active role unconfirmed after a stall
    Fit = 0x04,         // the sender is fit to be active
    Preferred = 0x08,   // the sender is in the preferred slot
    TakingOver = 0x10,  // the sender is persisting a new epoch to take over
};
} // namespace flag

struct Frame {
    FrameType type = FrameType::Heartbeat;
    std::uint8_t flags = 0;
    std::uint8_t slot = 0;
    Role role = Role::Init;
    std::uint8_t pathIndex = 0;
    std::uint32_t nodeId = 0;
    std::uint32_t incarnation = 0;
    std::uint64_t epoch = 0;
    std::uint64_t seq = 0;
    std::uint64_t sendTimeNs = 0;
    std::uint64_t echoTimeNs = 0;
    std::uint32_t echoHoldUs = 0;
    std::uint32_t intervalUs = 0;
    std::vector<std::uint8_t> payload;

    bool operator==(const Frame&) const = default;
};

// The key that authenticates frames. Move-only: the bytes live in one SecretBytes and are wiped
// when the Key is destroyed.
//
// The key file holds the pre-shared key material; the daemon binds it to its pair with
// forCluster(): the frame key is HMAC-SHA256(material, "hotstandby cluster " || cluster id), so
// two nodes that share a key file but not a cluster id reject each other's frames as
// authentication failures. The frame format and size do not change.
class Key {
  public:
    Key() = default;
    // Uses BYTES as the frame key as they are (tests, fuzzing); the vector is wiped.
    explicit Key(std::vector<std::uint8_t> bytes);
    explicit Key(SecretBytes bytes) : bytes_(std::move(bytes)) {}
    // Reads key material: raw bytes or hex text, at least 16 bytes of key material. Fails (with a
    // message that names the file and never prints key material) if the file is missing, empty,
    // too short, a symbolic link, not a regular file, readable by group/other or owned by a user
    // other than the daemon's or root. When the content looks like hex text with a typo (an odd
    // number of digits, a stray non-hex character, separators) and is therefore taken as raw
    // bytes, WARNING (if given) says so, again without key material.
    static Key fromFile(const std::string& path, std::string& error,
                        std::string* warning = nullptr);
    // The frame key of cluster CLUSTERID, derived from this key material.
    Key forCluster(std::string_view clusterId) const;
    std::span<const std::uint8_t> bytes() const { return bytes_.bytes(); }
    bool empty() const { return bytes_.empty(); }
    // Short non-secret fingerprint (first 4 bytes of SHA-256 of the key, hex) for logs.
    std::string fingerprint() const;

  private:
    SecretBytes bytes_;
};
static_assert(!std::is_copy_constructible_v<Key> && !std::is_copy_assignable_v<Key>);
static_assert(std::is_nothrow_move_constructible_v<Key>);

enum class DecodeError : std::uint8_t {
    Ok = 0,
    TooShort,
    BadMagic,
    BadVersion,
    BadType,
    BadLength,
    BadRole,
    AuthFailure,
};
std::string_view toString(DecodeError e);

// Appends the encoded, authenticated frame to out.
void encode(const Frame& f, const Key& key, std::vector<std::uint8_t>& out);
std::vector<std::uint8_t> encode(const Frame& f, const Key& key);
// Verifies the tag (constant time) before trusting any field. Returns Ok and fills out, or an
// error.
DecodeError decode(std::span<const std::uint8_t> bytes, const Key& key, Frame& out);

// CRC-32C (Castagnoli).
std::uint32_t crc32c(std::span<const std::uint8_t> data);

// Wraps one encoded frame for a stream path (sync, length, frame, CRC).
void wrapStream(std::span<const std::uint8_t> frame, std::vector<std::uint8_t>& out);

// Splits a byte stream back into frames. Feed it whatever arrives; it calls onFrame for every
// well-formed wrapped frame (CRC checked, not yet authenticated) and counts what it skipped.
class StreamDeframer {
  public:
    using FrameHandler = std::function<void(std::span<const std::uint8_t> frame)>;
    explicit StreamDeframer(FrameHandler onFrame) : onFrame_(std::move(onFrame)) {}
    void feed(std::span<const std::uint8_t> bytes);
    void reset() { buf_.clear(); }
    std::uint64_t garbageBytes() const { return garbageBytes_; } // bytes skipped while resyncing
    std::uint64_t crcErrors() const { return crcErrors_; }
    std::uint64_t badLengths() const { return badLengths_; }

  private:
    FrameHandler onFrame_;
    std::vector<std::uint8_t> buf_;
    std::uint64_t garbageBytes_ = 0;
    std::uint64_t crcErrors_ = 0;
    std::uint64_t badLengths_ = 0;
};

} // namespace hs::hb

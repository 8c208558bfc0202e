// The heartbeat keys of a running daemon and the one place frames are checked against them.
//
// Key rotation (a reload with a new key file content): the new key becomes current, the old one
// stays accepted on receive for the grace period (node.key_grace_ms) and beyond, until the peer
// has been heard with the new key. Frames are sent with the OLD key until the peer is heard with
// the new one or the grace is over, so the two modules can be reloaded in either order, each
// within the grace of the other, and no frame is ever sent that the peer rejects:
//
//   A reloaded        A accepts old+new, sends old (B knows only the old key)
//   B reloaded        both accept old+new, both send old
//   A's grace ends    A sends new; B hears it and sends new too at once
//   A hears B (new)   A drops the old key; B drops it at the end of its own grace
//
// Pure logic with the time passed in (no clock, no I/O): tested without a network.
#pragma once

#include "base/types.hpp"
#include "hb/frame.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace hs {

class KeyRing {
  public:
    explicit KeyRing(hb::Key key) : current_(std::move(key)) {}

    // Checks the frame's tag with the current key, then (rotating) with the previous one.
    hb::DecodeError decode(std::span<const std::uint8_t> bytes, hb::Frame& out, TimePoint now);
    // The key to send with now.
    const hb::Key& sendKey(TimePoint now);
    // A new key from a reload: current from now on (see above). A rotation still running ends
    // first (its old key is dropped).
    void rotate(hb::Key next, TimePoint now, Duration grace);

    const hb::Key& current() const { return current_; }
    bool rotating() const { return previous_.has_value(); }
    bool peerHeardWithNew() const { return heardNew_; }
    // Frames accepted with the previous key (since the start).
    std::uint64_t acceptedWithPrevious() const { return acceptedPrevious_; }

  private:
    void expire(TimePoint now);

    hb::Key current_;
    std::optional<hb::Key> previous_;
    TimePoint graceEnd_{};
    bool heardNew_ = false;
    bool waitLogged_ = false;
    std::uint64_t acceptedPrevious_ = 0;
};

} // namespace hs

#include "daemon/key_ring.hpp"

#include "base/log.hpp"

namespace hs {

hb::DecodeError KeyRing::decode(std::span<const std::uint8_t> bytes, hb::Frame& out,
                                TimePoint now) {
    hb::DecodeError err = hb::decode(bytes, current_, out);
    if (previous_) {
        if (err == hb::DecodeError::Ok) {
            if (!heardNew_) {
                HS_INFO("event=key_rotation_peer_new key_fingerprint={}: the peer sends with the "
                        "new key",
                        current_.fingerprint());
            }
            heardNew_ = true;
        } else if (err == hb::DecodeError::AuthFailure) {
            hb::DecodeError old = hb::decode(bytes, *previous_, out);
            if (old == hb::DecodeError::Ok) {
                ++acceptedPrevious_;
                err = old;
            }
        }
        expire(now);
    }
    return err;
}

const hb::Key& KeyRing::sendKey(TimePoint now) {
    if (!previous_) {
        return current_;
    }
    expire(now);
    if (!previous_ || heardNew_ || now >= graceEnd_) {
        return current_;
    }
    return *previous_;
}

void KeyRing::rotate(hb::Key next, TimePoint now, Duration grace) {
    HS_INFO("event=key_rotation_start old_fingerprint={} new_fingerprint={} grace_ms={}: both keys "
            "accepted; frames go out with the new key once the peer is heard with it or the grace "
            "is over",
            current_.fingerprint(), next.fingerprint(),
            std::chrono::duration_cast<std::chrono::milliseconds>(grace).count());
    previous_.emplace(std::move(current_));
    current_ = std::move(next);
    graceEnd_ = now + grace;
    heardNew_ = false;
    waitLogged_ = false;
}

// The previous key goes once the grace is over and the peer has been heard with the new key.
void KeyRing::expire(TimePoint now) {
    if (!previous_ || now < graceEnd_) {
        return;
    }
    if (heardNew_) {
        HS_INFO("event=key_rotation_done key_fingerprint={} accepted_with_old={}: the old key is "
                "no longer accepted",
                current_.fingerprint(), acceptedPrevious_);
        previous_.reset();
        return;
    }
    if (!waitLogged_) {
        waitLogged_ = true;
        HS_WARN("event=key_rotation_waiting key_fingerprint={}: the grace is over and the peer "
                "has not been heard with the new key; sending with it now, the old key stays "
                "accepted until the peer sends with the new one (rotate the peer's key)",
                current_.fingerprint());
    }
}

} // namespace hs

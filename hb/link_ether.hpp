// The raw-Ethernet heartbeat path's pure pieces: MAC addresses, the Ethernet encapsulation of a
// heartbeat frame and the classic BPF program the receiving packet socket attaches, so the kernel
// hands the daemon only the frames of its own EtherType sent by the peer's MAC to its own MAC.
//
// On the wire (no VLAN tag; the NIC adds the FCS):
//   destination MAC (6) | source MAC (6) | EtherType 0x88B5 (2) | length (2, big endian) |
//   heartbeat frame (length bytes) | zero padding up to the 60-byte Ethernet minimum
// 0x88B5 is IEEE 802's "Local Experimental EtherType 1" (IEEE Std 802-2014, 9.2.4): reserved for
// private protocols on a local network, never assigned to a public protocol, so no other stack
// on the host claims it. The length field is needed because short frames are padded on the wire.
#pragma once

#include "hb/link.hpp"

#include <cstdint>
#include <linux/filter.h>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hs::hb {

inline constexpr std::uint16_t kEtherType = 0x88B5;
inline constexpr std::size_t kEtherHeaderSize = 14;
inline constexpr std::size_t kEtherLengthSize = 2;
inline constexpr std::size_t kEtherMinFrame = 60; // without the FCS

// "02:00:5e:10:00:01" (also '-' separated, any case). Returns false on anything else.
bool parseMac(std::string_view text, MacAddress& out);
std::string formatMac(const MacAddress& mac);
// Unicast (group bit clear) and not all zero: the only kind of address a peer can have.
bool isUnicastMac(const MacAddress& mac);

// Appends the Ethernet frame carrying `frame` from `src` to `dst` to `out` (cleared first).
void encapsulateEther(const MacAddress& dst, const MacAddress& src,
                      std::span<const std::uint8_t> frame, std::vector<std::uint8_t>& out);

enum class EtherVerdict : std::uint8_t {
    Ok,
    Short,            // shorter than the header and length field
    WrongType,        // another EtherType
    WrongDestination, // not addressed to our MAC
    WrongSource,      // not sent by the peer's MAC
    BadLength,        // the length field claims more bytes than the frame holds
};
const char* toString(EtherVerdict v);

// Checks an Ethernet frame as received (header included) and, when it is ours, points `frame` at
// the heartbeat frame inside.
EtherVerdict decapsulateEther(std::span<const std::uint8_t> wire, const MacAddress& own,
                              const MacAddress& peer, std::span<const std::uint8_t>& frame);

// The classic BPF program: accept (whole frame) only EtherType kEtherType from `peer` to `own`,
// drop everything else. Runs in the kernel on every frame the interface receives.
std::vector<sock_filter> etherFilter(const MacAddress& own, const MacAddress& peer);

} // namespace hs::hb

// The bytes of a floating address's kernel and wire messages, pure (no sockets): the rtnetlink
// requests that add and remove it (RTM_NEWADDR, RTM_DELADDR) and the answer to them, and the
// Ethernet frames that announce it (a gratuitous ARP request for IPv4, an unsolicited neighbour
// advertisement for IPv6). daemon/float_addr.hpp sends them.
#pragma once

#include "base/types.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hs::floataddr {

using Mac = std::array<std::uint8_t, 6>;

struct Address {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{}; // network order; IPv4 uses the first 4
    std::uint8_t prefix = 32;
};

// An RTM_NEWADDR (ADD) or RTM_DELADDR request with an acknowledgement asked for. An add replaces
// an address already there (NLM_F_REPLACE), so adding twice is not an error; an IPv6 address is
// added without duplicate address detection (IFA_F_NODAD), usable at once.
std::vector<std::uint8_t> addressRequest(bool add, const Address& a, std::uint32_t ifindex,
                                         std::uint32_t seq);

// The answer to request SEQ in a datagram read from the rtnetlink socket: 0 (done) or a positive
// errno; nothing when the datagram holds no answer to SEQ.
std::optional<int> ackFor(std::span<const std::uint8_t> datagram, std::uint32_t seq);

// Whether ERR (from ackFor) answering a removal means "not there": a removal is then done.
bool absentOnRemove(int err);

// An address notification of the kernel's (RTM_NEWADDR / RTM_DELADDR sent to the
// RTMGRP_IPV4_IFADDR / RTMGRP_IPV6_IFADDR groups): which address came or went on which interface,
// and the netlink port of the request that made it (the kernel copies the requester's port id
// into the notification: a change of our own carries our socket's port; one made by `ip` its
// port; one the kernel made by itself 0).
struct AddressChange {
    bool added = false;
    std::uint32_t ifindex = 0;
    std::uint32_t portId = 0;
    Address addr; // with ifa_prefixlen
};
// Every address notification in DATAGRAM; other messages and malformed ones are skipped.
std::vector<AddressChange> addressChanges(std::span<const std::uint8_t> datagram);
// Whether a notification is about address A (family and bytes; the prefix is not compared).
bool sameAddress(const AddressChange& c, const Address& a);

// A gratuitous ARP request for the IPv4 address A from SRC, to the broadcast address (RFC 5227:
// sender and target protocol address both A, target hardware address zero).
std::vector<std::uint8_t> gratuitousArp(const Address& a, const Mac& src);

// An unsolicited neighbour advertisement for the IPv6 address A from SRC (RFC 4861 7.2.6): to the
// all-nodes address ff02::1, hop limit 255, Override set, with the target link-layer address.
std::vector<std::uint8_t> unsolicitedNa(const Address& a, const Mac& src);

} // namespace hs::floataddr

namespace hs {

// One floating address as the status shows it (daemon/status_json).
struct FloatAddrStatus {
    std::string address; // as configured
    std::uint8_t prefix = 0;
    std::string interfaceName;
    bool held = false;           // the kernel acknowledged the add and no removal since
    std::string lastError;       // empty while the last operation succeeded
    std::uint64_t errors = 0;    // failed adds, removals and announcements
    std::uint64_t announced = 0; // announcements sent
    bool v6 = false;
    std::int64_t lastChangeUnixMs = 0; // `held` changed last (wall clock); 0 never
};

// The events a change of the addresses' status makes (AFTER compared with BEFORE, in config
// order; an address BEFORE lacks counts as not held, no error): AddressAcquired / AddressReleased
// when `held` changed, AddressFailed when an error appeared or changed (the same error retried
// every second is reported once, as the log does). Event.objectIndex is the MIB index (position
// + 1), Event.text the error; unixMs is left to the caller.
std::vector<Event> addressEvents(const std::vector<FloatAddrStatus>& before,
                                 const std::vector<FloatAddrStatus>& after);

// The addresses as the Snapshot shows them.
std::vector<Snapshot::AddressView> addressViews(const std::vector<FloatAddrStatus>& a);

} // namespace hs

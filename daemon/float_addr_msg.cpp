#include "daemon/float_addr_msg.hpp"

#include <cerrno>
#include <cstring>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

namespace hs::floataddr {
namespace {

template <typename T> void appendRaw(std::vector<std::uint8_t>& out, const T& v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
}

void pad4(std::vector<std::uint8_t>& out) {
    while (out.size() % 4 != 0) {
        out.push_back(0);
    }
}

void appendAttr(std::vector<std::uint8_t>& out, std::uint16_t type,
                std::span<const std::uint8_t> data) {
    rtattr rta{};
    rta.rta_len = static_cast<unsigned short>(RTA_LENGTH(data.size()));
    rta.rta_type = type;
    appendRaw(out, rta);
    out.insert(out.end(), data.begin(), data.end());
    pad4(out);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void ethernetHeader(std::vector<std::uint8_t>& out, const Mac& dst, const Mac& src,
                    std::uint16_t type) {
    out.insert(out.end(), dst.begin(), dst.end());
    out.insert(out.end(), src.begin(), src.end());
    put16(out, type);
}

std::uint32_t sum16(std::span<const std::uint8_t> b, std::uint32_t acc) {
    for (std::size_t i = 0; i + 1 < b.size(); i += 2) {
        acc += static_cast<std::uint32_t>(b[i] << 8 | b[i + 1]);
    }
    if (b.size() % 2 != 0) {
        acc += static_cast<std::uint32_t>(b.back() << 8);
    }
    return acc;
}

} // namespace

std::vector<std::uint8_t> addressRequest(bool add, const Address& a, std::uint32_t ifindex,
                                         std::uint32_t seq) {
    std::vector<std::uint8_t> out;
    nlmsghdr h{};
    h.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
    h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    h.nlmsg_seq = seq;
    appendRaw(out, h);
    ifaddrmsg ifa{};
    ifa.ifa_family = a.v6 ? AF_INET6 : AF_INET;
    ifa.ifa_prefixlen = a.prefix;
    ifa.ifa_flags = a.v6 && add ? IFA_F_NODAD : 0;
    ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    ifa.ifa_index = ifindex;
    appendRaw(out, ifa);
    pad4(out);
    std::span<const std::uint8_t> bytes(a.bytes.data(), a.v6 ? 16 : 4);
    appendAttr(out, IFA_LOCAL, bytes);
    appendAttr(out, IFA_ADDRESS, bytes);
    nlmsghdr* hp = reinterpret_cast<nlmsghdr*>(out.data());
    hp->nlmsg_len = static_cast<std::uint32_t>(out.size());
    return out;
}

std::optional<int> ackFor(std::span<const std::uint8_t> datagram, std::uint32_t seq) {
    std::size_t off = 0;
    while (off + sizeof(nlmsghdr) <= datagram.size()) {
        nlmsghdr h{};
        std::memcpy(&h, datagram.data() + off, sizeof h);
        if (h.nlmsg_len < sizeof(nlmsghdr) || off + h.nlmsg_len > datagram.size()) {
            return std::nullopt;
        }
        if (h.nlmsg_seq == seq && h.nlmsg_type == NLMSG_ERROR &&
            h.nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
            nlmsgerr e{};
            std::memcpy(&e, datagram.data() + off + NLMSG_HDRLEN, sizeof e);
            return e.error < 0 ? -e.error : e.error;
        }
        off += NLMSG_ALIGN(h.nlmsg_len);
    }
    return std::nullopt;
}

bool absentOnRemove(int err) {
    return err == EADDRNOTAVAIL || err == ENOENT || err == ESRCH;
}

std::vector<AddressChange> addressChanges(std::span<const std::uint8_t> datagram) {
    std::vector<AddressChange> out;
    std::size_t off = 0;
    while (off + sizeof(nlmsghdr) <= datagram.size()) {
        nlmsghdr h{};
        std::memcpy(&h, datagram.data() + off, sizeof h);
        if (h.nlmsg_len < sizeof(nlmsghdr) || off + h.nlmsg_len > datagram.size()) {
            break;
        }
        const std::size_t end = off + h.nlmsg_len;
        if ((h.nlmsg_type == RTM_NEWADDR || h.nlmsg_type == RTM_DELADDR) &&
            h.nlmsg_len >= NLMSG_LENGTH(sizeof(ifaddrmsg))) {
            ifaddrmsg ifa{};
            std::memcpy(&ifa, datagram.data() + off + NLMSG_HDRLEN, sizeof ifa);
            AddressChange c;
            c.added = h.nlmsg_type == RTM_NEWADDR;
            c.ifindex = ifa.ifa_index;
            c.portId = h.nlmsg_pid;
            c.addr.v6 = ifa.ifa_family == AF_INET6;
            c.addr.prefix = ifa.ifa_prefixlen;
            const std::size_t len = c.addr.v6 ? 16 : 4;
            bool haveLocal = false;
            bool found = false;
            std::size_t a = off + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifaddrmsg));
            while (a + sizeof(rtattr) <= end) {
                rtattr ra{};
                std::memcpy(&ra, datagram.data() + a, sizeof ra);
                if (ra.rta_len < sizeof(rtattr) || a + ra.rta_len > end) {
                    break;
                }
                const std::size_t payload = ra.rta_len - RTA_LENGTH(0);
                // IPv4: IFA_LOCAL is the interface's own address (IFA_ADDRESS the peer's on a
                // point-to-point link); IPv6 sends IFA_ADDRESS only.
                const bool local = ra.rta_type == IFA_LOCAL;
                if ((local || (ra.rta_type == IFA_ADDRESS && !haveLocal)) && payload == len) {
                    std::memcpy(c.addr.bytes.data(), datagram.data() + a + RTA_LENGTH(0), len);
                    haveLocal = haveLocal || local;
                    found = true;
                }
                a += RTA_ALIGN(ra.rta_len);
            }
            if (found && (ifa.ifa_family == AF_INET || ifa.ifa_family == AF_INET6)) {
                out.push_back(c);
            }
        }
        off += NLMSG_ALIGN(h.nlmsg_len);
    }
    return out;
}

bool sameAddress(const AddressChange& c, const Address& a) {
    const std::size_t len = a.v6 ? 16 : 4;
    return c.addr.v6 == a.v6 && std::memcmp(c.addr.bytes.data(), a.bytes.data(), len) == 0;
}

std::vector<std::uint8_t> gratuitousArp(const Address& a, const Mac& src) {
    std::vector<std::uint8_t> out;
    ethernetHeader(out, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, src, 0x0806);
    put16(out, 1);      // hardware type Ethernet
    put16(out, 0x0800); // protocol IPv4
    out.push_back(6);
    out.push_back(4);
    put16(out, 1); // request
    out.insert(out.end(), src.begin(), src.end());
    out.insert(out.end(), a.bytes.begin(), a.bytes.begin() + 4);
    out.insert(out.end(), 6, 0);
    out.insert(out.end(), a.bytes.begin(), a.bytes.begin() + 4);
    out.resize(60, 0); // the Ethernet minimum without the FCS
    return out;
}

std::vector<std::uint8_t> unsolicitedNa(const Address& a, const Mac& src) {
    static constexpr std::array<std::uint8_t, 16> kAllNodes = {0xff, 0x02, 0, 0, 0, 0, 0, 0,
                                                               0,    0,    0, 0, 0, 0, 0, 1};
    // ICMPv6: type 136, code 0, checksum, flags (Override), target, option 2 (target link-layer).
    std::vector<std::uint8_t> icmp = {136, 0, 0, 0, 0x20, 0, 0, 0};
    icmp.insert(icmp.end(), a.bytes.begin(), a.bytes.end());
    icmp.push_back(2);
    icmp.push_back(1);
    icmp.insert(icmp.end(), src.begin(), src.end());
    // The checksum covers the pseudo-header: source, destination, length, next header 58.
    std::uint32_t acc = sum16(a.bytes, 0);
    acc = sum16(kAllNodes, acc);
    acc += static_cast<std::uint32_t>(icmp.size());
    acc += 58;
    acc = sum16(icmp, acc);
    while (acc >> 16) {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    const auto sum = static_cast<std::uint16_t>(~acc & 0xffff);
    icmp[2] = static_cast<std::uint8_t>(sum >> 8);
    icmp[3] = static_cast<std::uint8_t>(sum & 0xff);

    std::vector<std::uint8_t> out;
    ethernetHeader(out, {0x33, 0x33, 0, 0, 0, 1}, src, 0x86dd);
    out.insert(out.end(), {0x60, 0, 0, 0}); // version 6, no traffic class or flow label
    put16(out, static_cast<std::uint16_t>(icmp.size()));
    out.push_back(58);  // ICMPv6
    out.push_back(255); // hop limit
    out.insert(out.end(), a.bytes.begin(), a.bytes.end());
    out.insert(out.end(), kAllNodes.begin(), kAllNodes.end());
    out.insert(out.end(), icmp.begin(), icmp.end());
    return out;
}

} // namespace hs::floataddr

namespace hs {

std::vector<Event> addressEvents(const std::vector<FloatAddrStatus>& before,
                                 const std::vector<FloatAddrStatus>& after) {
    std::vector<Event> out;
    const FloatAddrStatus none;
    for (std::size_t i = 0; i < after.size(); ++i) {
        const FloatAddrStatus& was = i < before.size() ? before[i] : none;
        const FloatAddrStatus& now = after[i];
        const auto index = static_cast<std::uint32_t>(i + 1);
        if (now.held != was.held) {
            Event e;
            e.type = now.held ? EventType::AddressAcquired : EventType::AddressReleased;
            e.objectIndex = index;
            out.push_back(e);
        }
        if (!now.lastError.empty() && now.lastError != was.lastError) {
            Event e;
            e.type = EventType::AddressFailed;
            e.objectIndex = index;
            e.text = now.lastError;
            out.push_back(e);
        }
    }
    return out;
}

std::vector<Snapshot::AddressView> addressViews(const std::vector<FloatAddrStatus>& a) {
    std::vector<Snapshot::AddressView> out;
    out.reserve(a.size());
    for (const FloatAddrStatus& s : a) {
        out.push_back({s.address, s.v6, s.prefix, s.interfaceName, s.held, s.lastError, s.errors,
                       s.announced, s.lastChangeUnixMs});
    }
    return out;
}

} // namespace hs

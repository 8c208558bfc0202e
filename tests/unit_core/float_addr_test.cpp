// The floating address's messages byte by byte: the rtnetlink requests and their answers, the
// gratuitous ARP and the unsolicited neighbour advertisement (daemon/float_addr_msg.hpp).
#include "daemon/float_addr_msg.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <gtest/gtest.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

namespace hs::floataddr {
namespace {

Address v4(const char* text, std::uint8_t prefix) {
    Address a;
    EXPECT_EQ(::inet_pton(AF_INET, text, a.bytes.data()), 1);
    a.prefix = prefix;
    return a;
}

Address v6(const char* text, std::uint8_t prefix) {
    Address a;
    a.v6 = true;
    EXPECT_EQ(::inet_pton(AF_INET6, text, a.bytes.data()), 1);
    a.prefix = prefix;
    return a;
}

struct Parsed {
    nlmsghdr h{};
    ifaddrmsg ifa{};
    std::vector<std::pair<int, std::vector<std::uint8_t>>> attrs;
};

Parsed parse(const std::vector<std::uint8_t>& m) {
    Parsed p;
    EXPECT_GE(m.size(), NLMSG_LENGTH(sizeof(ifaddrmsg)));
    std::memcpy(&p.h, m.data(), sizeof p.h);
    std::memcpy(&p.ifa, m.data() + NLMSG_HDRLEN, sizeof p.ifa);
    std::size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifaddrmsg));
    while (off + sizeof(rtattr) <= m.size()) {
        rtattr a{};
        std::memcpy(&a, m.data() + off, sizeof a);
        EXPECT_GE(a.rta_len, sizeof(rtattr));
        EXPECT_LE(off + a.rta_len, m.size());
        p.attrs.emplace_back(
            a.rta_type, std::vector<std::uint8_t>(m.begin() + static_cast<long>(off) + 4,
                                                  m.begin() + static_cast<long>(off) + a.rta_len));
        off += RTA_ALIGN(a.rta_len);
    }
    EXPECT_EQ(off, m.size());
    return p;
}

TEST(FloatAddrMsg, AddIpv4) {
    auto m = addressRequest(true, v4("192.0.2.10", 24), 7, 42);
    Parsed p = parse(m);
    EXPECT_EQ(p.h.nlmsg_len, m.size());
    EXPECT_EQ(p.h.nlmsg_type, RTM_NEWADDR);
    EXPECT_EQ(p.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
    EXPECT_EQ(p.h.nlmsg_seq, 42U);
    EXPECT_EQ(p.ifa.ifa_family, AF_INET);
    EXPECT_EQ(p.ifa.ifa_prefixlen, 24);
    EXPECT_EQ(p.ifa.ifa_index, 7U);
    EXPECT_EQ(p.ifa.ifa_flags, 0);
    ASSERT_EQ(p.attrs.size(), 2U);
    const std::vector<std::uint8_t> want = {192, 0, 2, 10};
    EXPECT_EQ(p.attrs[0].first, IFA_LOCAL);
    EXPECT_EQ(p.attrs[0].second, want);
    EXPECT_EQ(p.attrs[1].first, IFA_ADDRESS);
    EXPECT_EQ(p.attrs[1].second, want);
}

TEST(FloatAddrMsg, Ipv6AddWithoutDadAndRemove) {
    Parsed add = parse(addressRequest(true, v6("2001:db8::10", 64), 3, 1));
    EXPECT_EQ(add.ifa.ifa_family, AF_INET6);
    EXPECT_EQ(add.ifa.ifa_prefixlen, 64);
    EXPECT_EQ(add.ifa.ifa_flags, IFA_F_NODAD); // usable at once, no second of DAD
    ASSERT_EQ(add.attrs.size(), 2U);
    EXPECT_EQ(add.attrs[0].second.size(), 16U);
    EXPECT_EQ(add.attrs[0].second[0], 0x20);
    EXPECT_EQ(add.attrs[0].second[15], 0x10);
    Parsed del = parse(addressRequest(false, v6("2001:db8::10", 64), 3, 2));
    EXPECT_EQ(del.h.nlmsg_type, RTM_DELADDR);
    EXPECT_EQ(del.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(del.ifa.ifa_flags, 0);
    EXPECT_EQ(del.attrs[0].second, add.attrs[0].second);
}

std::vector<std::uint8_t> ack(std::uint32_t seq, int error) {
    std::vector<std::uint8_t> out(NLMSG_LENGTH(sizeof(nlmsgerr)));
    nlmsghdr h{};
    h.nlmsg_len = static_cast<std::uint32_t>(out.size());
    h.nlmsg_type = NLMSG_ERROR;
    h.nlmsg_seq = seq;
    nlmsgerr e{};
    e.error = error;
    std::memcpy(out.data(), &h, sizeof h);
    std::memcpy(out.data() + NLMSG_HDRLEN, &e, sizeof e);
    return out;
}

TEST(FloatAddrMsg, AnswersMatchedBySequence) {
    EXPECT_EQ(ackFor(ack(5, 0), 5), 0);
    EXPECT_EQ(ackFor(ack(5, -EPERM), 5), EPERM);
    EXPECT_EQ(ackFor(ack(5, -ENODEV), 6), std::nullopt);
    auto two = ack(8, -EEXIST);
    auto second = ack(9, -EADDRNOTAVAIL);
    two.insert(two.end(), second.begin(), second.end());
    EXPECT_EQ(ackFor(two, 9), EADDRNOTAVAIL);
    EXPECT_EQ(ackFor(two, 8), EEXIST);
    auto cut = ack(5, 0);
    cut.resize(cut.size() - 4);
    EXPECT_EQ(ackFor(cut, 5), std::nullopt);
    EXPECT_EQ(ackFor({}, 5), std::nullopt);
    EXPECT_TRUE(absentOnRemove(EADDRNOTAVAIL));
    EXPECT_FALSE(absentOnRemove(EPERM));
}

constexpr Mac kMac = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};

TEST(FloatAddrMsg, GratuitousArp) {
    auto f = gratuitousArp(v4("192.0.2.10", 24), kMac);
    ASSERT_EQ(f.size(), 60U);
    const std::vector<std::uint8_t> head = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x08, 0x06, // eth
        0x00, 0x01, 0x08, 0x00, 6,    4,    0x00, 0x01,                                     // ARP
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 192,  0,    2,    10,  // sender MAC, IP
        0,    0,    0,    0,    0,    0,    192,  0,    2,    10}; // target MAC zero, IP
    EXPECT_EQ(std::vector<std::uint8_t>(f.begin(), f.begin() + 42), head);
    for (std::size_t i = 42; i < f.size(); ++i) {
        EXPECT_EQ(f[i], 0) << i;
    }
}

TEST(FloatAddrMsg, UnsolicitedNeighbourAdvertisement) {
    const Address a = v6("2001:db8::10", 64);
    auto f = unsolicitedNa(a, kMac);
    ASSERT_EQ(f.size(), 14U + 40U + 32U);
    EXPECT_EQ(std::vector<std::uint8_t>(f.begin(), f.begin() + 6),
              (std::vector<std::uint8_t>{0x33, 0x33, 0, 0, 0, 1}));
    EXPECT_EQ(f[12], 0x86);
    EXPECT_EQ(f[13], 0xdd);
    const std::uint8_t* ip = f.data() + 14;
    EXPECT_EQ(ip[0] >> 4, 6);
    EXPECT_EQ(ip[4] << 8 | ip[5], 32); // payload length
    EXPECT_EQ(ip[6], 58);              // ICMPv6
    EXPECT_EQ(ip[7], 255);             // hop limit, else receivers drop it
    EXPECT_EQ(std::memcmp(ip + 8, a.bytes.data(), 16), 0);
    EXPECT_EQ(ip[24], 0xff);
    EXPECT_EQ(ip[25], 0x02);
    EXPECT_EQ(ip[39], 0x01);
    const std::uint8_t* icmp = ip + 40;
    EXPECT_EQ(icmp[0], 136);
    EXPECT_EQ(icmp[4], 0x20); // Override only: unsolicited, not a router
    EXPECT_EQ(std::memcmp(icmp + 8, a.bytes.data(), 16), 0);
    EXPECT_EQ(icmp[24], 2); // target link-layer address option, 8 bytes
    EXPECT_EQ(icmp[25], 1);
    EXPECT_EQ(std::memcmp(icmp + 26, kMac.data(), 6), 0);
    // The checksum over the pseudo-header and the message comes out as all ones.
    std::uint32_t sum = 0;
    auto add = [&sum](const std::uint8_t* p, std::size_t n) {
        for (std::size_t i = 0; i < n; i += 2) {
            sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
        }
    };
    add(ip + 8, 32);
    sum += 32 + 58;
    add(icmp, 32);
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    EXPECT_EQ(sum, 0xffffU);
}

// The kernel's address notifications carry the same header and attributes as a request (the
// requester's port in nlmsg_pid): what another process did is read back by address, interface
// and port; anything else in the datagram, or a cut message, is skipped.
TEST(FloatAddrMsg, AddressNotificationsReadBack) {
    const Address a = v4("192.0.2.100", 24);
    const Address b = v6("2001:db8::64", 64);
    std::vector<std::uint8_t> d = addressRequest(false, a, 7, 1);
    reinterpret_cast<nlmsghdr*>(d.data())->nlmsg_pid = 4242;
    std::vector<std::uint8_t> add6 = addressRequest(true, b, 9, 2);
    d.insert(d.end(), add6.begin(), add6.end());
    nlmsghdr other{};
    other.nlmsg_type = RTM_NEWLINK;
    other.nlmsg_len = sizeof other;
    const auto* o = reinterpret_cast<const std::uint8_t*>(&other);
    d.insert(d.end(), o, o + sizeof other);
    auto c = addressChanges(d);
    ASSERT_EQ(c.size(), 2u);
    EXPECT_FALSE(c[0].added);
    EXPECT_EQ(c[0].ifindex, 7u);
    EXPECT_EQ(c[0].portId, 4242u);
    EXPECT_EQ(c[0].addr.prefix, 24);
    EXPECT_TRUE(sameAddress(c[0], a));
    EXPECT_FALSE(sameAddress(c[0], b));
    EXPECT_TRUE(c[1].added);
    EXPECT_EQ(c[1].ifindex, 9u);
    EXPECT_TRUE(sameAddress(c[1], b));
    EXPECT_FALSE(sameAddress(c[1], a));
    // Only 192.0.2.100's first bytes: another address in the same family is another address.
    EXPECT_FALSE(sameAddress(c[0], v4("192.0.2.101", 24)));
    // A message cut short ends the reading, nothing from it is made up.
    std::vector<std::uint8_t> cut(d.begin(), d.begin() + 20);
    EXPECT_TRUE(addressChanges(cut).empty());
    EXPECT_TRUE(addressChanges({}).empty());
}

} // namespace
} // namespace hs::floataddr

namespace hs {
namespace {

FloatAddrStatus addrStatus(bool held, std::string error = {}) {
    FloatAddrStatus s;
    s.address = "192.0.2.100";
    s.prefix = 24;
    s.interfaceName = "eth0";
    s.held = held;
    s.lastError = std::move(error);
    return s;
}

// The notifications' events: acquired / released on a change of `held`, failed once per new
// error (not on every retry of the same one).
TEST(AddressEvents, HeldChangesAndNewErrors) {
    std::vector<FloatAddrStatus> none;
    std::vector<FloatAddrStatus> held{addrStatus(true), addrStatus(false)};
    auto ev = addressEvents(none, held);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].type, EventType::AddressAcquired);
    EXPECT_EQ(ev[0].objectIndex, 1u);
    EXPECT_TRUE(addressEvents(held, held).empty());

    std::vector<FloatAddrStatus> released{addrStatus(false),
                                          addrStatus(false, "no such interface")};
    ev = addressEvents(held, released);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].type, EventType::AddressReleased);
    EXPECT_EQ(ev[0].objectIndex, 1u);
    EXPECT_EQ(ev[1].type, EventType::AddressFailed);
    EXPECT_EQ(ev[1].objectIndex, 2u);
    EXPECT_EQ(ev[1].text, "no such interface");

    // The same error again (the retry every second): nothing; another error: reported.
    released[1].errors = 5;
    EXPECT_TRUE(addressEvents(released, released).empty());
    std::vector<FloatAddrStatus> other = released;
    other[1].lastError = "rtnetlink add on eth1: Operation not permitted";
    ev = addressEvents(released, other);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].type, EventType::AddressFailed);

    // The snapshot's view keeps every field.
    other[1].v6 = true;
    other[1].lastChangeUnixMs = 1234;
    auto views = addressViews(other);
    ASSERT_EQ(views.size(), 2u);
    EXPECT_EQ(views[1].address, "192.0.2.100");
    EXPECT_TRUE(views[1].v6);
    EXPECT_EQ(views[1].prefix, 24);
    EXPECT_EQ(views[1].interfaceName, "eth0");
    EXPECT_EQ(views[1].lastError, other[1].lastError);
    EXPECT_EQ(views[1].errors, 5u);
    EXPECT_EQ(views[1].lastChangeUnixMs, 1234);
}

} // namespace
} // namespace hs

// The raw-Ethernet path: MAC parsing, Ethernet encapsulation, the kernel filter (run here by a
// small classic-BPF interpreter over sample frames) and, as root, the link itself on a veth pair
// in a network namespace of the test's own (unshare), with an injector socket on the same wire.
#include "hb/link.hpp"
#include "hb/link_ether.hpp"
#include "test_util.hpp"

#include <arpa/inet.h>
#include <cstdlib>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>

namespace hs::hb {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

const MacAddress kMacA{0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a};
const MacAddress kMacB{0x02, 0x00, 0x5e, 0x10, 0x00, 0x0b};
const MacAddress kMacX{0x02, 0x00, 0x5e, 0x10, 0x00, 0x66};
const MacAddress kBroadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

Bytes heartbeat(std::uint64_t seq) {
    return encode(test::sampleFrame(seq, 8), test::testKey());
}

// Ethernet header with any EtherType, then the payload, padded to the minimum.
Bytes rawFrame(const MacAddress& dst, const MacAddress& src, std::uint16_t type,
               const Bytes& payload) {
    Bytes out(dst.begin(), dst.end());
    out.insert(out.end(), src.begin(), src.end());
    out.push_back(static_cast<std::uint8_t>(type >> 8));
    out.push_back(static_cast<std::uint8_t>(type & 0xFF));
    out.insert(out.end(), payload.begin(), payload.end());
    if (out.size() < kEtherMinFrame)
        out.resize(kEtherMinFrame, 0);
    return out;
}

// What the kernel's classic BPF does for the instructions etherFilter() may use: absolute loads
// (a load past the end of the packet drops it), jeq/jgt/jge/jset with a constant, ret.
std::uint32_t runFilter(const std::vector<sock_filter>& prog, const Bytes& pkt) {
    std::uint32_t a = 0;
    for (std::size_t pc = 0; pc < prog.size(); ++pc) {
        const sock_filter& i = prog[pc];
        switch (i.code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (i.k + 4 > pkt.size())
                return 0;
            a = (std::uint32_t{pkt[i.k]} << 24) | (std::uint32_t{pkt[i.k + 1]} << 16) |
                (std::uint32_t{pkt[i.k + 2]} << 8) | pkt[i.k + 3];
            break;
        case BPF_LD | BPF_H | BPF_ABS:
            if (i.k + 2 > pkt.size())
                return 0;
            a = (std::uint32_t{pkt[i.k]} << 8) | pkt[i.k + 1];
            break;
        case BPF_LD | BPF_B | BPF_ABS:
            if (i.k + 1 > pkt.size())
                return 0;
            a = pkt[i.k];
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += a == i.k ? i.jt : i.jf;
            break;
        case BPF_JMP | BPF_JGT | BPF_K:
            pc += a > i.k ? i.jt : i.jf;
            break;
        case BPF_JMP | BPF_JGE | BPF_K:
            pc += a >= i.k ? i.jt : i.jf;
            break;
        case BPF_JMP | BPF_JSET | BPF_K:
            pc += (a & i.k) != 0 ? i.jt : i.jf;
            break;
        case BPF_RET | BPF_K:
            return i.k;
        default:
            ADD_FAILURE() << "instruction the interpreter does not know: " << i.code;
            return 0;
        }
    }
    ADD_FAILURE() << "program ran off its end";
    return 0;
}

TEST(EtherMac, ParsesAndFormats) {
    MacAddress m{};
    ASSERT_TRUE(parseMac("02:00:5E:10:00:0a", m));
    EXPECT_EQ(m, kMacA);
    EXPECT_EQ(formatMac(m), "02:00:5e:10:00:0a");
    ASSERT_TRUE(parseMac("02-00-5e-10-00-0b", m));
    EXPECT_EQ(m, kMacB);
    for (const char* bad : {"", "02:00:5e:10:00", "02:00:5e:10:00:0a:", "02:00-5e:10:00:0a",
                            "02:00:5e:10:00:0g", "0200.5e10.000a", "02:00:5e:10:00:a"})
        EXPECT_FALSE(parseMac(bad, m)) << bad;
    EXPECT_TRUE(isUnicastMac(kMacA));
    EXPECT_FALSE(isUnicastMac(kBroadcast));
    EXPECT_FALSE(isUnicastMac(MacAddress{0x01, 0x00, 0x5e, 0, 0, 1})); // multicast
    EXPECT_FALSE(isUnicastMac(MacAddress{}));
}

TEST(EtherFrame, EncapsulatesAndDecapsulates) {
    const Bytes hb = heartbeat(1);
    Bytes wire;
    encapsulateEther(kMacB, kMacA, hb, wire);
    ASSERT_EQ(wire.size(), kEtherHeaderSize + kEtherLengthSize + hb.size());
    EXPECT_TRUE(std::equal(kMacB.begin(), kMacB.end(), wire.begin()));
    EXPECT_TRUE(std::equal(kMacA.begin(), kMacA.end(), wire.begin() + 6));
    EXPECT_EQ(wire[12], 0x88);
    EXPECT_EQ(wire[13], 0xB5);
    std::span<const std::uint8_t> inner;
    ASSERT_EQ(decapsulateEther(wire, kMacB, kMacA, inner), EtherVerdict::Ok);
    EXPECT_EQ(Bytes(inner.begin(), inner.end()), hb);
    // Trailing bytes (padding, FCS left on by a driver) are not part of the frame.
    wire.insert(wire.end(), {1, 2, 3, 4});
    ASSERT_EQ(decapsulateEther(wire, kMacB, kMacA, inner), EtherVerdict::Ok);
    EXPECT_EQ(Bytes(inner.begin(), inner.end()), hb);
}

TEST(EtherFrame, PadsShortFramesAndKeepsTheLength) {
    const Bytes tiny{9, 8, 7};
    Bytes wire;
    encapsulateEther(kMacB, kMacA, tiny, wire);
    EXPECT_EQ(wire.size(), kEtherMinFrame);
    std::span<const std::uint8_t> inner;
    ASSERT_EQ(decapsulateEther(wire, kMacB, kMacA, inner), EtherVerdict::Ok);
    EXPECT_EQ(Bytes(inner.begin(), inner.end()), tiny);
}

TEST(EtherFrame, RejectsWhatIsNotOurs) {
    Bytes wire;
    encapsulateEther(kMacB, kMacA, heartbeat(2), wire);
    std::span<const std::uint8_t> inner;
    EXPECT_EQ(decapsulateEther(wire, kMacA, kMacA, inner), EtherVerdict::WrongDestination);
    EXPECT_EQ(decapsulateEther(wire, kMacB, kMacX, inner), EtherVerdict::WrongSource);
    Bytes other = wire;
    other[13] = 0xB6;
    EXPECT_EQ(decapsulateEther(other, kMacB, kMacA, inner), EtherVerdict::WrongType);
    EXPECT_EQ(decapsulateEther(std::span(wire).first(15), kMacB, kMacA, inner),
              EtherVerdict::Short);
    Bytes longer = wire;
    longer[14] = 0x7F; // claims 32 KB
    EXPECT_EQ(decapsulateEther(longer, kMacB, kMacA, inner), EtherVerdict::BadLength);
}

TEST(EtherFilter, AcceptsOnlyTheEtherTypeFromThePeerToUs) {
    const auto prog = etherFilter(kMacB, kMacA); // we are B, the peer is A
    Bytes ours;
    encapsulateEther(kMacB, kMacA, heartbeat(3), ours);
    EXPECT_GE(runFilter(prog, ours), ours.size());

    const Bytes payload(40, 0x55);
    EXPECT_EQ(runFilter(prog, rawFrame(kMacB, kMacX, kEtherType, payload)), 0u) << "wrong source";
    EXPECT_EQ(runFilter(prog, rawFrame(kMacX, kMacA, kEtherType, payload)), 0u) << "not to us";
    EXPECT_EQ(runFilter(prog, rawFrame(kBroadcast, kMacA, kEtherType, payload)), 0u);
    EXPECT_EQ(runFilter(prog, rawFrame(kMacB, kMacA, 0x88B6, payload)), 0u) << "other type";
    EXPECT_EQ(runFilter(prog, rawFrame(kMacB, kMacA, 0x0800, payload)), 0u) << "IPv4";
    EXPECT_EQ(runFilter(prog, rawFrame(kMacB, kMacA, 0x0806, payload)), 0u) << "ARP";
    // Our own transmissions (source B) never come back up.
    Bytes mine;
    encapsulateEther(kMacA, kMacB, heartbeat(4), mine);
    EXPECT_EQ(runFilter(prog, mine), 0u);
    // Each address byte counts: flip each one of both addresses.
    for (std::size_t i = 0; i < 12; ++i) {
        Bytes f = ours;
        f[i] ^= 0x01;
        EXPECT_EQ(runFilter(prog, f), 0u) << "byte " << i;
    }
    EXPECT_EQ(runFilter(prog, Bytes(ours.begin(), ours.begin() + 10)), 0u) << "truncated";
}

// ---- the link on a veth pair (root only) ----

bool sh(const std::string& cmd) {
    return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

// A private network namespace (the test process moves into it: no other process sees its
// interfaces) with the veth pair hsa <-> hsb.
class EtherLinkTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0 || ::unshare(CLONE_NEWNET) != 0)
            GTEST_SKIP() << "needs root (a network namespace of its own and CAP_NET_RAW)";
        ASSERT_TRUE(sh("ip link set lo up"));
        ASSERT_TRUE(makeVeth());
    }

    static bool makeVeth() {
        return sh("ip link add hsa address " + formatMac(kMacA) + " type veth peer name hsb " +
                  "address " + formatMac(kMacB)) &&
               sh("ip link set hsa up") && sh("ip link set hsb up");
    }

    static LinkConfig config(const std::string& iface, const MacAddress& peer) {
        LinkConfig c;
        c.name = "l2-" + iface;
        c.type = PathType::Ether;
        c.interfaceName = iface;
        c.peerMac = peer;
        c.reopenInterval = 20ms;
        return c;
    }

    // Sends heartbeats from `from` until `to` got `count` more authentic frames.
    bool flows(Link& from, const std::size_t& got, std::size_t count = 3) {
        const std::size_t goal = got + count;
        std::uint64_t seq = 1000;
        return test::runUntil(io, [&] {
            from.send(heartbeat(++seq));
            return got >= goal;
        });
    }

    asio::io_context io;
};

// Records what a link delivers and whether it decoded with the test key.
struct Rx {
    std::size_t frames = 0;
    std::size_t authentic = 0;
    std::vector<std::string> errors;
    Link::RxHandler rx() {
        return [this](std::span<const std::uint8_t> f, TimePoint) {
            ++frames;
            Frame decoded;
            const bool ok = decode(f, test::testKey(), decoded) == DecodeError::Ok;
            authentic += ok ? 1 : 0;
            return ok;
        };
    }
    Link::ErrorHandler err() {
        return [this](const std::error_code&, const std::string& what) { errors.push_back(what); };
    }
};

// A raw socket on `iface` that sends whatever bytes it is given, as an attacker on the wire would.
class Injector {
  public:
    explicit Injector(const std::string& iface) {
        fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        addr_.sll_family = AF_PACKET;
        addr_.sll_ifindex = static_cast<int>(::if_nametoindex(iface.c_str()));
        addr_.sll_halen = 6;
    }
    ~Injector() { ::close(fd_); }
    Injector(const Injector&) = delete;
    Injector& operator=(const Injector&) = delete;
    bool send(const Bytes& f) {
        return ::sendto(fd_, f.data(), f.size(), 0, reinterpret_cast<const sockaddr*>(&addr_),
                        sizeof addr_) == static_cast<ssize_t>(f.size());
    }

  private:
    int fd_ = -1;
    sockaddr_ll addr_{};
};

TEST_F(EtherLinkTest, CarriesFramesBothWays) {
    auto a = makeLink(io, config("hsa", kMacB));
    auto b = makeLink(io, config("hsb", kMacA));
    ASSERT_TRUE(a && b);
    Rx ra, rb;
    a->start(ra.rx(), ra.err());
    b->start(rb.rx(), rb.err());
    EXPECT_TRUE(flows(*a, rb.authentic));
    EXPECT_TRUE(flows(*b, ra.authentic));
    EXPECT_TRUE(a->connected());
    EXPECT_EQ(a->endpoint(), "hsa/02:00:5e:10:00:0b");
    EXPECT_EQ(rb.frames, rb.authentic);
    EXPECT_EQ(b->stats().foreign, 0u);
    for (const auto& e : ra.errors)
        ADD_FAILURE() << e;
    for (const auto& e : rb.errors)
        ADD_FAILURE() << e;
}

// Frames of another source MAC, to another MAC, of other EtherTypes and a flood of other traffic
// never reach the daemon: the kernel filter drops them (the link's own check would count them as
// foreign if they got through).
TEST_F(EtherLinkTest, KernelFilterKeepsOtherFramesAway) {
    auto a = makeLink(io, config("hsa", kMacB));
    auto b = makeLink(io, config("hsb", kMacA));
    Rx ra, rb;
    a->start(ra.rx(), ra.err());
    b->start(rb.rx(), rb.err());
    ASSERT_TRUE(flows(*a, rb.authentic));
    test::runFor(io, 100ms); // the heartbeats still on their way arrive
    const std::size_t before = rb.frames;

    Injector inj("hsa");
    Bytes ours;
    encapsulateEther(kMacB, kMacX, heartbeat(7), ours); // valid frame, wrong source MAC
    const Bytes payload(64, 0xAB);
    std::size_t sent = 0;
    for (int i = 0; i < 500; ++i) {
        sent += inj.send(ours) ? 1 : 0;
        sent += inj.send(rawFrame(kMacB, kMacA, 0x88B6, payload)) ? 1 : 0; // foreign EtherType
        sent += inj.send(rawFrame(kBroadcast, kMacA, kEtherType, payload)) ? 1 : 0;
        sent += inj.send(rawFrame(kMacX, kMacA, kEtherType, payload)) ? 1 : 0; // not to B
        sent += inj.send(rawFrame(kMacB, kMacA, 0x0800, payload)) ? 1 : 0;
    }
    ASSERT_EQ(sent, 2500u);
    test::runFor(io, 100ms);
    EXPECT_EQ(rb.frames, before);
    EXPECT_EQ(b->stats().foreign, 0u);
    // The path still works, and a frame the injector forges with the peer's MAC is handed up (and
    // left to the authentication above the link, which rejects it).
    ASSERT_TRUE(flows(*a, rb.authentic));
    const std::size_t forgedBefore = rb.frames - rb.authentic;
    Bytes forged;
    encapsulateEther(kMacB, kMacA, Bytes(100, 0x42), forged);
    ASSERT_TRUE(inj.send(forged));
    EXPECT_TRUE(test::runUntil(io, [&] { return rb.frames - rb.authentic > forgedBefore; }));
}

TEST_F(EtherLinkTest, FollowsTheInterfaceThroughDownDeleteAndRename) {
    auto a = makeLink(io, config("hsa", kMacB));
    auto b = makeLink(io, config("hsb", kMacA));
    Rx ra, rb;
    a->start(ra.rx(), ra.err());
    b->start(rb.rx(), rb.err());
    ASSERT_TRUE(flows(*a, rb.authentic));

    // Down: reported, not connected; up again: frames flow.
    ASSERT_TRUE(sh("ip link set hsb down"));
    EXPECT_TRUE(test::runUntil(io, [&] { return !b->connected(); }));
    EXPECT_FALSE(rb.errors.empty());
    // Held down while heartbeats keep being sent: the cut is reported once, not per frame or
    // per check of the interface.
    const std::size_t errorsDown = rb.errors.size();
    std::uint64_t seq = 1;
    const auto until = std::chrono::steady_clock::now() + 300ms;
    test::runUntil(io, [&] {
        b->send(heartbeat(++seq));
        return std::chrono::steady_clock::now() > until;
    });
    EXPECT_LE(rb.errors.size(), errorsDown + 1);
    EXPECT_GT(b->stats().sendErrors, 0u);
    ASSERT_TRUE(sh("ip link set hsb up"));
    EXPECT_TRUE(flows(*a, rb.authentic));
    EXPECT_TRUE(b->connected());

    // Deleted (both ends go) and re-created with a new ifindex: both links reopen by name.
    const auto reopensA = a->stats().reopens;
    ASSERT_TRUE(sh("ip link del hsa"));
    test::runFor(io, 100ms);
    EXPECT_FALSE(a->connected());
    ASSERT_TRUE(makeVeth());
    EXPECT_TRUE(flows(*a, rb.authentic));
    EXPECT_TRUE(flows(*b, ra.authentic));
    EXPECT_GT(a->stats().reopens, reopensA);

    // Renamed away: the name is gone; renamed back: the link finds it again.
    ASSERT_TRUE(sh("ip link set hsb down") && sh("ip link set hsb name hsq") &&
                sh("ip link set hsq up"));
    test::runFor(io, 100ms);
    EXPECT_FALSE(b->connected());
    ASSERT_TRUE(sh("ip link set hsq down") && sh("ip link set hsq name hsb") &&
                sh("ip link set hsb up"));
    EXPECT_TRUE(flows(*a, rb.authentic));
}

TEST_F(EtherLinkTest, MissingInterfaceIsReportedAndFoundLater) {
    auto c = makeLink(io, config("hsc", kMacB));
    Rx rc;
    c->start(rc.rx(), rc.err());
    test::runFor(io, 100ms);
    EXPECT_FALSE(c->connected());
    ASSERT_EQ(rc.errors.size(), 1u) << "reported once, retried quietly";
    EXPECT_NE(rc.errors[0].find("no interface 'hsc'"), std::string::npos) << rc.errors[0];
    // The interface appears: the link opens it by itself.
    ASSERT_TRUE(sh("ip link set hsa down") && sh("ip link set hsa name hsc") &&
                sh("ip link set hsc up"));
    auto b = makeLink(io, config("hsb", kMacA));
    Rx rb;
    b->start(rb.rx(), rb.err());
    EXPECT_TRUE(flows(*c, rb.authentic));
    EXPECT_TRUE(c->connected());
}

} // namespace
} // namespace hs::hb

// Raw-Ethernet path: the heartbeat frame travels in an Ethernet frame of its own EtherType
// (link_ether.hpp), below IP, so a wrong address, a dead IP stack or a firewall rule does not cut
// it. Sends and receives through one AF_PACKET socket bound to the EtherType and the named
// interface; a classic BPF filter attached before the bind lets only the peer's frames to our MAC
// through, so other traffic on the interface never wakes the daemon. Needs CAP_NET_RAW only.
//
// The interface is followed by name: every reopenInterval its index, MAC and flags are read
// (three ioctls, no blocking); a renamed, deleted, re-created or re-addressed interface closes
// the socket and opens a new one; a missing interface is reported once and retried. Down or
// without carrier, the link reports it once and the path monitor sees the path go down.
#include "hb/link_ether.hpp"

#include "hb/link_common.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <boost/asio/generic/raw_protocol.hpp>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <functional>
#include <linux/if_arp.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hs::hb {
namespace {

int hexDigit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::uint32_t word(const MacAddress& m, std::size_t at) {
    return (std::uint32_t{m[at]} << 24) | (std::uint32_t{m[at + 1]} << 16) |
           (std::uint32_t{m[at + 2]} << 8) | m[at + 3];
}

std::uint32_t half(const MacAddress& m, std::size_t at) {
    return (std::uint32_t{m[at]} << 8) | m[at + 1];
}

} // namespace

bool parseMac(std::string_view text, MacAddress& out) {
    if (text.size() != 17) {
        return false;
    }
    const char sep = text[2];
    if (sep != ':' && sep != '-') {
        return false;
    }
    MacAddress m{};
    for (std::size_t i = 0; i < 6; ++i) {
        const std::size_t at = i * 3;
        if (i > 0 && text[at - 1] != sep) {
            return false;
        }
        const int hi = hexDigit(text[at]);
        const int lo = hexDigit(text[at + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        m[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    out = m;
    return true;
}

std::string formatMac(const MacAddress& m) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                       m[5]);
}

bool isUnicastMac(const MacAddress& mac) {
    return (mac[0] & 0x01) == 0 && std::any_of(mac.begin(), mac.end(), [](auto b) { return b; });
}

void encapsulateEther(const MacAddress& dst, const MacAddress& src,
                      std::span<const std::uint8_t> frame, std::vector<std::uint8_t>& out) {
    out.clear();
    out.reserve(std::max(kEtherMinFrame, kEtherHeaderSize + kEtherLengthSize + frame.size()));
    out.insert(out.end(), dst.begin(), dst.end());
    out.insert(out.end(), src.begin(), src.end());
    out.push_back(static_cast<std::uint8_t>(kEtherType >> 8));
    out.push_back(static_cast<std::uint8_t>(kEtherType & 0xFF));
    out.push_back(static_cast<std::uint8_t>(frame.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(frame.size() & 0xFF));
    out.insert(out.end(), frame.begin(), frame.end());
    if (out.size() < kEtherMinFrame) {
        out.resize(kEtherMinFrame, 0);
    }
}

const char* toString(EtherVerdict v) {
    switch (v) {
    case EtherVerdict::Ok:
        return "ok";
    case EtherVerdict::Short:
        return "short";
    case EtherVerdict::WrongType:
        return "wrong_type";
    case EtherVerdict::WrongDestination:
        return "wrong_destination";
    case EtherVerdict::WrongSource:
        return "wrong_source";
    case EtherVerdict::BadLength:
        return "bad_length";
    }
    return "unknown";
}

EtherVerdict decapsulateEther(std::span<const std::uint8_t> wire, const MacAddress& own,
                              const MacAddress& peer, std::span<const std::uint8_t>& frame) {
    if (wire.size() < kEtherHeaderSize + kEtherLengthSize) {
        return EtherVerdict::Short;
    }
    if (((wire[12] << 8) | wire[13]) != kEtherType) {
        return EtherVerdict::WrongType;
    }
    if (!std::equal(own.begin(), own.end(), wire.begin())) {
        return EtherVerdict::WrongDestination;
    }
    if (!std::equal(peer.begin(), peer.end(), wire.begin() + 6)) {
        return EtherVerdict::WrongSource;
    }
    const std::size_t len = (std::size_t{wire[14]} << 8) | wire[15];
    const auto body = wire.subspan(kEtherHeaderSize + kEtherLengthSize);
    if (len > body.size()) {
        return EtherVerdict::BadLength;
    }
    frame = body.first(len);
    return EtherVerdict::Ok;
}

std::vector<sock_filter> etherFilter(const MacAddress& own, const MacAddress& peer) {
    // Test i sits at index 2i+1; on mismatch it jumps to the last instruction (drop) at index
    // 2*kTests+1: jf = distance from the next instruction.
    constexpr std::uint8_t kTests = 5;
    auto test = [](std::uint8_t i, std::uint32_t k) {
        return sock_filter{BPF_JMP | BPF_JEQ | BPF_K, 0,
                           static_cast<std::uint8_t>(2 * (kTests - i) - 1), k};
    };
    return {
        {BPF_LD | BPF_H | BPF_ABS, 0, 0, 12}, // EtherType
        test(0, kEtherType),
        {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0}, // destination, first four bytes
        test(1, word(own, 0)),
        {BPF_LD | BPF_H | BPF_ABS, 0, 0, 4}, // destination, last two
        test(2, half(own, 4)),
        {BPF_LD | BPF_W | BPF_ABS, 0, 0, 6}, // source, first four bytes
        test(3, word(peer, 0)),
        {BPF_LD | BPF_H | BPF_ABS, 0, 0, 10}, // source, last two
        test(4, half(peer, 4)),
        {BPF_RET | BPF_K, 0, 0, 0xFFFF}, // accept the whole frame
        {BPF_RET | BPF_K, 0, 0, 0},      // drop
    };
}

namespace detail {
namespace {

using RawProtocol = asio::generic::raw_protocol;

// What the kernel says about the interface right now.
struct InterfaceState {
    int index = 0;
    MacAddress mac{};
    bool up = false; // administratively up and with carrier
};

std::error_code lastError() {
    return {errno, std::system_category()};
}

// Reads index, MAC and flags of `name` through `fd` (any socket). Fails with ENODEV when there is
// no such interface and with EPROTOTYPE when it is not an Ethernet interface.
std::error_code readInterface(int fd, const std::string& name, InterfaceState& out) {
    ifreq req{};
    std::memcpy(req.ifr_name, name.c_str(), std::min(name.size(), sizeof(req.ifr_name) - 1));
    if (::ioctl(fd, SIOCGIFINDEX, &req) != 0) {
        return lastError();
    }
    out.index = req.ifr_ifindex;
    if (::ioctl(fd, SIOCGIFHWADDR, &req) != 0) {
        return lastError();
    }
    if (req.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        return {EPROTOTYPE, std::system_category()};
    }
    std::memcpy(out.mac.data(), req.ifr_hwaddr.sa_data, out.mac.size());
    if (::ioctl(fd, SIOCGIFFLAGS, &req) != 0) {
        return lastError();
    }
    out.up = (req.ifr_flags & IFF_UP) != 0 && (req.ifr_flags & IFF_RUNNING) != 0;
    return {};
}

class EtherLink final : public LinkCore, public std::enable_shared_from_this<EtherLink> {
  public:
    EtherLink(asio::io_context& io, LinkConfig cfg)
        : LinkCore(io, std::move(cfg)), socket_(io), checkTimer_(io) {}

    void start(Link::RxHandler onRx, Link::ErrorHandler onError) {
        if (started_ || stopped_) {
            return;
        }
        started_ = true;
        setCallbacks(std::move(onRx), std::move(onError));
        open();
        scheduleCheck();
    }

    void send(std::span<const std::uint8_t> frame) {
        if (stopped_) {
            return;
        }
        stats_.dropped += queue_.push(std::vector<std::uint8_t>(frame.begin(), frame.end()));
        startSend();
    }

    void stop() {
        if (stopped_) {
            return;
        }
        stopped_ = true;
        boost::system::error_code ignored;
        checkTimer_.cancel();
        socket_.close(ignored);
        queue_.clear();
        dropCallbacks();
    }

    std::string endpoint() const { return cfg_.interfaceName + "/" + formatMac(cfg_.peerMac); }
    LinkStats stats() const { return stats_; }
    bool connected() const { return socket_.is_open() && iface_.up; }

  private:
    std::string prefix() const { return "ether " + cfg_.name + ": "; }

    void open() {
        const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            const auto ec = lastError();
            ++stats_.ioErrors;
            reportError("socket", ec,
                        prefix() + "cannot open a packet socket: " + ec.message() +
                            (ec.value() == EPERM ? " (the daemon needs CAP_NET_RAW)" : ""));
            return;
        }
        InterfaceState st;
        std::error_code ec = readInterface(fd, cfg_.interfaceName, st);
        std::string what;
        if (ec == std::errc::no_such_device) {
            what = "no interface '" + cfg_.interfaceName + "' (retrying)";
        } else if (ec) {
            what = "interface '" + cfg_.interfaceName + "': " + ec.message();
        } else {
            ec = configure(fd, st);
            if (ec) {
                what = "cannot bind to '" + cfg_.interfaceName + "': " + ec.message();
            }
        }
        if (ec) {
            ::close(fd);
            ++stats_.ioErrors;
            reportError("open", ec, prefix() + what);
            return;
        }
        boost::system::error_code aec;
        socket_.assign(RawProtocol(AF_PACKET, htons(kEtherType)), fd, aec);
        if (aec) {
            ::close(fd);
            ++stats_.ioErrors;
            reportError("open", aec, prefix() + "cannot use the packet socket: " + aec.message());
            return;
        }
        iface_ = st;
        filterMac_ = st.mac;
        if (opened_) {
            ++stats_.reopens;
        }
        opened_ = true;
        reportState();
        startReceive();
        startSend();
    }

    // Filter first, then bind: the socket receives nothing before the filter is in place.
    std::error_code configure(int fd, const InterfaceState& st) const {
        auto program = etherFilter(st.mac, cfg_.peerMac);
        sock_fprog prog{static_cast<unsigned short>(program.size()), program.data()};
        if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
            return lastError();
        }
        // Our own transmissions are not looped back to us (Linux >= 4.20; the filter drops them
        // anyway, by their source address).
        const int one = 1;
        (void)::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
        sockaddr_ll addr{};
        addr.sll_family = AF_PACKET;
        addr.sll_protocol = htons(kEtherType);
        addr.sll_ifindex = st.index;
        if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            return lastError();
        }
        return {};
    }

    void scheduleCheck() {
        checkTimer_.expires_after(cfg_.reopenInterval);
        checkTimer_.async_wait(std::bind_front(&EtherLink::onCheckTimer, shared_from_this()));
    }

    void onCheckTimer(const boost::system::error_code& ec) {
        if (ec || stopped_) {
            return;
        }
        check();
        scheduleCheck();
    }

    // Follows the interface by name: reopens when it went away, changed index or MAC.
    void check() {
        if (!socket_.is_open()) {
            open();
            return;
        }
        InterfaceState st;
        const std::error_code ec = readInterface(socket_.native_handle(), cfg_.interfaceName, st);
        if (ec || st.index != iface_.index || st.mac != filterMac_) {
            ++stats_.ioErrors;
            reportError("lost", ec ? ec : std::make_error_code(std::errc::no_such_device),
                        prefix() + "interface '" + cfg_.interfaceName +
                            (ec ? "' is gone" : "' was replaced") + " (reopening)");
            closeSocket();
            open();
            return;
        }
        iface_.up = st.up;
        reportState();
    }

    void reportState() {
        if (iface_.up) {
            markHealthy();
            return;
        }
        reportDown("interface '" + cfg_.interfaceName + "' is down or has no carrier");
    }

    // One key for every sign of a down or vanished interface (see reportError).
    void reportDown(const std::string& what) {
        reportError("down", std::make_error_code(std::errc::network_down), prefix() + what);
    }

    static bool interfaceTrouble(const boost::system::error_code& ec) {
        return ec.category() == boost::system::system_category() &&
               (ec.value() == ENETDOWN || ec.value() == ENXIO || ec.value() == ENODEV);
    }

    void startReceive() {
        socket_.async_receive(asio::buffer(rxBuf_),
                              std::bind_front(&EtherLink::onReceive, shared_from_this()));
    }

    void onReceive(const boost::system::error_code& ec, std::size_t n) {
        if (stopped_ || ec == asio::error::operation_aborted) {
            return;
        }
        if (ec) {
            // ENETDOWN when the interface goes down, ENXIO/ENODEV when it goes away: the check
            // timer reopens the socket.
            ++stats_.ioErrors;
            if (interfaceTrouble(ec)) {
                reportDown("receive failed: " + ec.message());
            } else {
                reportError("receive", ec, prefix() + "receive failed: " + ec.message());
            }
            closeSocket();
            return;
        }
        const TimePoint rxTime = Clock::now();
        std::span<const std::uint8_t> frame;
        const auto verdict = decapsulateEther(std::span<const std::uint8_t>(rxBuf_.data(), n),
                                              filterMac_, cfg_.peerMac, frame);
        if (verdict == EtherVerdict::Ok) {
            deliver(frame, rxTime);
        } else if (verdict == EtherVerdict::BadLength || verdict == EtherVerdict::Short) {
            deliver(std::span<const std::uint8_t>(rxBuf_.data(), n), rxTime); // counted malformed
        } else {
            ++stats_.foreign; // the kernel filter should have dropped it already
        }
        if (!stopped_ && socket_.is_open()) {
            startReceive();
        }
    }

    void startSend() {
        if (!socket_.is_open() || !queue_.beginWrite()) {
            return;
        }
        encapsulateEther(cfg_.peerMac, filterMac_, queue_.inFlight(), txBuf_);
        socket_.async_send(asio::buffer(txBuf_),
                           std::bind_front(&EtherLink::onSent, shared_from_this()));
    }

    void onSent(const boost::system::error_code& ec, std::size_t /*n*/) {
        if (stopped_ || ec == asio::error::operation_aborted) {
            return;
        }
        queue_.endWrite();
        if (ec) {
            // Count and keep going; the frame is lost. Interface down or gone (or without
            // carrier, where the queue fills: ENOBUFS): reported as the state "down" the check
            // timer reports too, so a cut speaks once, not per frame.
            ++stats_.sendErrors;
            if (!iface_.up || interfaceTrouble(ec)) {
                iface_.up = false;
                reportDown("send to " + endpoint() + " failed: " + ec.message());
            } else {
                reportError("send", ec,
                            prefix() + "send to " + endpoint() + " failed: " + ec.message());
            }
        }
        startSend();
    }

    void closeSocket() {
        boost::system::error_code ignored;
        socket_.close(ignored);
        queue_.abortWrite();
        iface_.up = false;
    }

    RawProtocol::socket socket_;
    asio::steady_timer checkTimer_;
    InterfaceState iface_;
    MacAddress filterMac_{}; // our MAC when the socket was opened (the filter matches it)
    std::array<std::uint8_t, 2048> rxBuf_{};
    std::vector<std::uint8_t> txBuf_;
    bool opened_ = false;
};

} // namespace

std::unique_ptr<Link> makeEtherLink(asio::io_context& io, const LinkConfig& cfg) {
    return std::make_unique<LinkHandle<EtherLink>>(std::make_shared<EtherLink>(io, cfg));
}

} // namespace detail
} // namespace hs::hb

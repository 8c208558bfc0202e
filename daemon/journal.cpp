#include "daemon/journal.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fmt/core.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace hs {
namespace {

constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

// Set up once before any thread starts (openJournal), then only read.
int gJournalFd = -1;
sockaddr_un gJournalAddr{};
socklen_t gJournalAddrLen = 0;
std::atomic<std::uint64_t> gDropped{0};    // lines lost to a full socket, in total
std::atomic<std::uint64_t> gUnreported{0}; // of which not yet reported by a log_dropped line

enum class SendResult : std::uint8_t { Sent, Full, Failed };

SendResult sendDatagram(const std::string& d) {
    msghdr mh{};
    iovec iov{const_cast<char*>(d.data()), d.size()}; // NOLINT: sendmsg does not write it
    mh.msg_name = &gJournalAddr;
    mh.msg_namelen = gJournalAddrLen;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    for (;;) {
        if (::sendmsg(gJournalFd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) {
            return SendResult::Sent;
        }
        if (errno == EINTR) {
            continue;
        }
        // EAGAIN: journald's queue is full (it is not reading): never wait for it.
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? SendResult::Full
                                                                           : SendResult::Failed;
    }
}

bool reserved(std::string_view name) {
    static constexpr std::array<std::string_view, 18> kReserved = {"MESSAGE",
                                                                   "MESSAGE_ID",
                                                                   "PRIORITY",
                                                                   "CODE_FILE",
                                                                   "CODE_LINE",
                                                                   "CODE_FUNC",
                                                                   "ERRNO",
                                                                   "SYSLOG_FACILITY",
                                                                   "SYSLOG_IDENTIFIER",
                                                                   "SYSLOG_PID",
                                                                   "SYSLOG_TIMESTAMP",
                                                                   "SYSLOG_RAW",
                                                                   "DOCUMENTATION",
                                                                   "TID",
                                                                   "UNIT",
                                                                   "USER_UNIT",
                                                                   "INVOCATION_ID",
                                                                   "USER_INVOCATION_ID"};
    return std::find(kReserved.begin(), kReserved.end(), name) != kReserved.end();
}

std::string_view shortFile(std::string_view f) {
    auto slash = f.rfind('/');
    if (slash == std::string_view::npos || slash == 0) {
        return f;
    }
    auto prev = f.rfind('/', slash - 1);
    return prev == std::string_view::npos ? f : f.substr(prev + 1);
}

} // namespace

std::vector<std::string> journalFields(log::Level l, std::string_view file, int line,
                                       std::string_view msg) {
    std::vector<std::string> out;
    out.push_back("MESSAGE=" + std::string(msg));
    out.push_back("PRIORITY=" + std::to_string(log::syslogPriority(l)));
    out.push_back("SYSLOG_IDENTIFIER=hotstandbyd");
    out.push_back("CODE_FILE=" + std::string(shortFile(file)));
    out.push_back("CODE_LINE=" + std::to_string(line));
    for (auto& [key, value] : log::fields(msg)) {
        std::string name;
        name.reserve(key.size() + 3);
        for (char c : key) {
            name.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
        }
        if (name.front() == '_') { // journald keeps fields starting with '_' for itself
            name.erase(0, name.find_first_not_of('_'));
            if (name.empty()) {
                continue;
            }
        }
        if (reserved(name)) {
            name.insert(0, "HS_");
        }
        if (name.size() > 64) {
            name.resize(64);
        }
        name += '=';
        name += value;
        out.push_back(std::move(name));
    }
    return out;
}

std::string journalDatagram(const std::vector<std::string>& fields) {
    std::string out;
    for (const std::string& f : fields) {
        std::size_t eq = f.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        if (f.find('\n', eq) == std::string::npos) {
            out += f;
            out += '\n';
            continue;
        }
        out.append(f, 0, eq);
        out += '\n';
        std::uint64_t n = f.size() - eq - 1;
        for (int i = 0; i < 8; ++i) {
            out += static_cast<char>((n >> (8 * i)) & 0xff);
        }
        out.append(f, eq + 1);
        out += '\n';
    }
    return out;
}

bool openJournal(const std::string& path) {
    if (path.size() >= sizeof(gJournalAddr.sun_path)) {
        return false;
    }
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return false;
    }
    int sndbuf = 8 << 20; // as libsystemd: room for bursts (capped by the kernel's wmem_max)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (gJournalFd >= 0) {
        ::close(gJournalFd);
    }
    gJournalFd = fd;
    gJournalAddr = {};
    gJournalAddr.sun_family = AF_UNIX;
    std::memcpy(gJournalAddr.sun_path, path.data(), path.size());
    gJournalAddrLen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return true;
}

bool journalSink(log::Level l, std::string_view file, int line, std::string_view msg) {
    if (gJournalFd < 0) {
        return false;
    }
    if (std::uint64_t lost = gUnreported.exchange(0); lost > 0) {
        std::string note = fmt::format("event=log_dropped dropped={} total={}: journald's socket "
                                       "was full; these lines were lost",
                                       lost, gDropped.load());
        SendResult r = sendDatagram(
            journalDatagram(journalFields(log::Level::Warn, __FILE__, __LINE__, note)));
        if (r != SendResult::Sent) {
            gUnreported += lost; // still full: reported with a later line
        }
    }
    SendResult r = sendDatagram(journalDatagram(journalFields(l, file, line, msg)));
    if (r == SendResult::Full) {
        ++gDropped;
        ++gUnreported;
        return true; // lost and counted: stderr (journald's stream) would not be read either
    }
    return r == SendResult::Sent;
}

std::uint64_t journalDropped() {
    return gDropped.load();
}

void setUpJournalLogging() {
    if (!log::stderrIsJournal()) {
        return;
    }
    log::setJournalStream(true);
    // Send natively only when the socket is there, else the stream carries "<N>" lines.
    struct stat st {};
    if (::stat(kJournalSocket, &st) == 0 && S_ISSOCK(st.st_mode) && openJournal(kJournalSocket)) {
        log::setSink(journalSink);
    }
}

} // namespace hs

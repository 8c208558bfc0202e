#include "daemon/journal.hpp"

#include <algorithm>
#include <array>
#include <sys/stat.h>
#include <sys/uio.h>
// Our own CODE_FILE/CODE_LINE (the log line's), not the sender's.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

namespace hs {
namespace {

constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

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

bool journalSink(log::Level l, std::string_view file, int line, std::string_view msg) {
    std::vector<std::string> f = journalFields(l, file, line, msg);
    std::vector<iovec> iov;
    iov.reserve(f.size());
    for (std::string& s : f) {
        iov.push_back({s.data(), s.size()});
    }
    return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

void setUpJournalLogging() {
    if (!log::stderrIsJournal()) {
        return;
    }
    log::setJournalStream(true);
    // sd_journal_sendv() reports success when journald's socket is missing (the line is lost):
    // send natively only when the socket is there, else the stream carries "<N>" lines.
    struct stat st {};
    if (::stat(kJournalSocket, &st) == 0 && S_ISSOCK(st.st_mode)) {
        log::setSink(journalSink);
    }
}

} // namespace hs

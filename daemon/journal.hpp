// The daemon's journald sender: each log line goes to journald natively (the journal's native
// protocol on a datagram socket of our own, never blocking) with its priority, CODE_FILE/CODE_LINE,
// SYSLOG_IDENTIFIER=hotstandbyd and every key=value field of the line as a journal field in upper
// case (event=role_change role=ACTIVE epoch=7 path=net0 -> EVENT=role_change ROLE=ACTIVE EPOCH=7
// PATH=net0), so `journalctl ROLE=ACTIVE` finds them.
#pragma once

#include "base/log.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hs {

// The journal fields of one line, "NAME=value" each, MESSAGE first. A key that would shadow a
// field journald or systemd gives a meaning (MESSAGE, PRIORITY, CODE_*, SYSLOG_*, ERRNO, ...)
// gets the prefix HS_.
std::vector<std::string> journalFields(log::Level l, std::string_view file, int line,
                                       std::string_view msg);

// One datagram of the journal's native protocol (systemd's JOURNAL_NATIVE_PROTOCOL): "NAME=value\n"
// per field, or "NAME\n" + the value's length (64-bit little endian) + value + "\n" when the value
// holds a newline.
std::string journalDatagram(const std::vector<std::string>& fields);

// Opens the non-blocking datagram socket lines are sent from, to the journal socket at PATH
// (journald's is /run/systemd/journal/socket). Called once before any thread starts.
bool openJournal(const std::string& path);

// A log::Sink: sends the line to journald without ever waiting. sd_journal_sendv() would block
// the calling thread (the core thread among them: a missed heartbeat) while journald's socket is
// full; here such a line is dropped and counted instead, and the next line that gets through is
// preceded by `event=log_dropped dropped=N` (priority warning). False when journald cannot be
// reached at all (the line then goes to stderr with its "<N>" priority prefix).
bool journalSink(log::Level l, std::string_view file, int line, std::string_view msg);

// Lines dropped so far because journald's socket was full.
std::uint64_t journalDropped();

// Called once from main before any thread starts: when stderr is a journald stream, lines get
// priorities and fields; otherwise nothing changes (timestamped lines on stderr).
void setUpJournalLogging();

} // namespace hs

// The daemon's journald sender: each log line goes to journald natively (sd_journal_sendv) with
// its priority, CODE_FILE/CODE_LINE, SYSLOG_IDENTIFIER=hotstandbyd and every key=value field of
// the line as a journal field in upper case (event=role_change role=ACTIVE epoch=7 path=net0 ->
// EVENT=role_change ROLE=ACTIVE EPOCH=7 PATH=net0), so `journalctl ROLE=ACTIVE` finds them.
#pragma once

#include "base/log.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hs {

// The journal fields of one line, "NAME=value" each, MESSAGE first. A key that would shadow a
// field journald or systemd gives a meaning (MESSAGE, PRIORITY, CODE_*, SYSLOG_*, ERRNO, ...)
// gets the prefix HS_.
std::vector<std::string> journalFields(log::Level l, std::string_view file, int line,
                                       std::string_view msg);

// A log::Sink: sends the line to journald; false when journald cannot be reached (the line then
// goes to stderr with its "<N>" priority prefix).
bool journalSink(log::Level l, std::string_view file, int line, std::string_view msg);

// Called once from main before any thread starts: when stderr is a journald stream, lines get
// priorities and fields; otherwise nothing changes (timestamped lines on stderr).
void setUpJournalLogging();

} // namespace hs

// Logging: one line per event, key=value fields, file:line, never secrets. To stderr, or to
// journald with the line's priority and its key=value fields as journal fields (see setSink()).
#pragma once

#include <atomic>
#include <fmt/core.h>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hs::log {

enum class Level : int { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void setLevel(Level l);
Level level();
bool parseLevel(std::string_view s, Level& out);
std::string_view toString(Level l); // "debug", "info", "warn", "error" (as in the config file)
// The syslog priority journald files the line under: debug 7, info 6, warn 4 (warning), error 3
// (err). `journalctl -p warning` shows warn and error lines.
int syslogPriority(Level l);

// Whether stderr is a journald stream: JOURNAL_STREAM ("DEV:INODE", set by systemd) names the
// device and inode of file descriptor 2 (systemd.exec(5)). Then each stderr line starts with the
// sd-daemon(3) prefix "<N>" and carries no timestamp (journald adds its own).
bool stderrIsJournal();
void setJournalStream(bool on); // decided once at start (main), before any thread starts

// The key=value fields of a log line, in order: keys [a-z_][a-z0-9_]*, values a "quoted string"
// (quotes removed) or a run up to the next space. "chassis event=x role=ACTIVE path=\"a b\"" ->
// {event,x} {role,ACTIVE} {path,a b}.
std::vector<std::pair<std::string, std::string>> fields(std::string_view msg);

// Where lines go instead of stderr (the daemon installs its journald sender here): called with
// the line's level, source location and message; returns false when it could not deliver the
// line, which then goes to stderr. Set once before any thread starts.
using Sink = bool (*)(Level l, std::string_view file, int line, std::string_view msg);
void setSink(Sink s);

// Thread-safe; writes one whole line (to the sink, else stderr) with a wall-clock timestamp.
void write(Level l, const char* file, int line, std::string_view msg);

} // namespace hs::log

#define HS_LOG(lvl, ...)                                                                           \
    do {                                                                                           \
        if (static_cast<int>(lvl) >= static_cast<int>(::hs::log::level()))                         \
            ::hs::log::write(lvl, __FILE__, __LINE__, fmt::format(__VA_ARGS__));                   \
    } while (0)
#define HS_DEBUG(...) HS_LOG(::hs::log::Level::Debug, __VA_ARGS__)
#define HS_INFO(...) HS_LOG(::hs::log::Level::Info, __VA_ARGS__)
#define HS_WARN(...) HS_LOG(::hs::log::Level::Warn, __VA_ARGS__)
#define HS_ERROR(...) HS_LOG(::hs::log::Level::Error, __VA_ARGS__)

#include "base/log.hpp"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace hs::log {
namespace {
std::atomic<int> gLevel{static_cast<int>(Level::Info)};
std::atomic<bool> gJournalStream{false};
std::atomic<Sink> gSink{nullptr};

std::string_view baseName(const char* file) {
    std::string_view f(file);
    auto slash = f.rfind('/');
    if (slash == std::string_view::npos) {
        return f;
    }
    auto prev = f.rfind('/', slash - 1);
    return prev == std::string_view::npos ? f : f.substr(prev + 1);
}

bool keyStart(char c) {
    return (c >= 'a' && c <= 'z') || c == '_';
}
bool keyChar(char c) {
    return keyStart(c) || (c >= '0' && c <= '9');
}
} // namespace

void setLevel(Level l) {
    gLevel.store(static_cast<int>(l));
}
Level level() {
    return static_cast<Level>(gLevel.load(std::memory_order_relaxed));
}

std::string_view toString(Level l) {
    switch (l) {
    case Level::Debug:
        return "debug";
    case Level::Info:
        return "info";
    case Level::Warn:
        return "warn";
    case Level::Error:
        return "error";
    }
    return "?";
}

int syslogPriority(Level l) {
    switch (l) {
    case Level::Debug:
        return 7; // LOG_DEBUG
    case Level::Info:
        return 6; // LOG_INFO
    case Level::Warn:
        return 4; // LOG_WARNING
    case Level::Error:
        return 3; // LOG_ERR
    }
    return 6;
}

bool parseLevel(std::string_view s, Level& out) {
    if (s == "debug") {
        out = Level::Debug;
    } else if (s == "info") {
        out = Level::Info;
    } else if (s == "warn") {
        out = Level::Warn;
    } else if (s == "error") {
        out = Level::Error;
    } else {
        return false;
    }
    return true;
}

bool stderrIsJournal() {
    const char* env = std::getenv("JOURNAL_STREAM");
    if (env == nullptr) {
        return false;
    }
    std::string_view v(env);
    auto colon = v.find(':');
    if (colon == std::string_view::npos) {
        return false;
    }
    unsigned long long dev = 0;
    unsigned long long ino = 0;
    auto d = std::from_chars(v.data(), v.data() + colon, dev);
    auto i = std::from_chars(v.data() + colon + 1, v.data() + v.size(), ino);
    if (d.ec != std::errc{} || d.ptr != v.data() + colon || i.ec != std::errc{} ||
        i.ptr != v.data() + v.size()) {
        return false;
    }
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) != 0) {
        return false;
    }
    return static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
}

void setJournalStream(bool on) {
    gJournalStream.store(on);
}

void setSink(Sink s) {
    gSink.store(s);
}

std::vector<std::pair<std::string, std::string>> fields(std::string_view msg) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t i = 0;
    const std::size_t n = msg.size();
    while (i < n) {
        // A key starts a word: at the beginning or after a space.
        if (!keyStart(msg[i]) || (i > 0 && msg[i - 1] != ' ')) {
            ++i;
            continue;
        }
        std::size_t k = i;
        while (k < n && keyChar(msg[k])) {
            ++k;
        }
        if (k >= n || msg[k] != '=') {
            i = k;
            continue;
        }
        std::string key(msg.substr(i, k - i));
        std::size_t v = k + 1;
        std::string value;
        if (v < n && msg[v] == '"') {
            std::size_t close = msg.find('"', v + 1);
            if (close == std::string_view::npos) {
                close = n;
            }
            value = std::string(msg.substr(v + 1, close - v - 1));
            i = close + 1;
        } else {
            std::size_t end = v;
            while (end < n && msg[end] != ' ') {
                ++end;
            }
            value = std::string(msg.substr(v, end - v));
            // "role=ACTIVE:" -> ACTIVE (a sentence follows some fields)
            while (!value.empty() &&
                   (value.back() == ':' || value.back() == ',' || value.back() == ';')) {
                value.pop_back();
            }
            i = end;
        }
        out.emplace_back(std::move(key), std::move(value));
    }
    return out;
}

void write(Level l, const char* file, int line, std::string_view msg) {
    if (Sink s = gSink.load(std::memory_order_acquire); s != nullptr && s(l, file, line, msg)) {
        return;
    }
    std::string out;
    if (gJournalStream.load(std::memory_order_relaxed)) {
        // sd-daemon(3): journald reads the priority from the prefix and stamps the time itself.
        out = fmt::format("<{}>{} {}:{} {}\n", syslogPriority(l), toString(l), baseName(file), line,
                          msg);
    } else {
        auto now = std::chrono::system_clock::now();
        auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
        std::time_t secs = static_cast<std::time_t>(ms / 1000);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        char ts[32];
        std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        out = fmt::format("{}.{:03d}Z {} {}:{} {}\n", ts, static_cast<int>(ms % 1000), toString(l),
                          baseName(file), line, msg);
    }
    // One write() per line so lines from different threads never interleave.
    ssize_t rc = ::write(STDERR_FILENO, out.data(), out.size());
    (void)rc;
}

} // namespace hs::log

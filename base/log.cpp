#include "base/log.hpp"

#include <chrono>
#include <ctime>
#include <string>
#include <sys/uio.h>
#include <unistd.h>

namespace hs::log {
namespace {
std::atomic<int> gLevel{static_cast<int>(Level::Info)};

const char* levelName(Level l) {
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

std::string_view baseName(const char* file) {
    std::string_view f(file);
    auto slash = f.rfind('/');
    if (slash == std::string_view::npos) {
        return f;
    }
    auto prev = f.rfind('/', slash - 1);
    return prev == std::string_view::npos ? f : f.substr(prev + 1);
}
} // namespace

void setLevel(Level l) {
    gLevel.store(static_cast<int>(l));
}
Level level() {
    return static_cast<Level>(gLevel.load(std::memory_order_relaxed));
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

void write(Level l, const char* file, int line, std::string_view msg) {
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    // One write() per line so lines from different threads never interleave.
    std::string out = fmt::format("{}.{:03d}Z {} {}:{} {}\n", ts, static_cast<int>(ms % 1000),
                                  levelName(l), baseName(file), line, msg);
    ssize_t rc = ::write(STDERR_FILENO, out.data(), out.size());
    (void)rc;
}

} // namespace hs::log

// Logging: one line per event to stderr, key=value fields, file:line, never secrets.
#pragma once

#include <atomic>
#include <fmt/core.h>
#include <string_view>

namespace hs::log {

enum class Level : int { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void setLevel(Level l);
Level level();
bool parseLevel(std::string_view s, Level& out);
// Thread-safe; writes one whole line to stderr with a wall-clock timestamp.
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

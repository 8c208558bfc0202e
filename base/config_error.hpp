// Configuration errors name the file, the line, the key and the reason. Every module's parser of
// its own TOML table throws this; the daemon prints it and exits non-zero at start.
#pragma once

#include <stdexcept>
#include <string>
#include <toml++/toml.h>

namespace hs {

class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// "FILE:LINE: KEY: REASON" (LINE omitted when the node has no source position).
inline std::string configWhere(const toml::source_region& src, const std::string& key) {
    std::string out = src.path ? std::string(*src.path) : std::string("<config>");
    if (src.begin.line > 0) {
        out += ":" + std::to_string(src.begin.line);
    }
    return out + ": " + key;
}

[[noreturn]] inline void configFail(const toml::source_region& src, const std::string& key,
                                    const std::string& reason) {
    throw ConfigError(configWhere(src, key) + ": " + reason);
}

} // namespace hs

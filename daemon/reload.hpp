// SIGHUP: what a configuration reload may change while the daemon runs. The new file goes through
// the same readConfig() and validate() as at start (off the core thread); then its document is
// compared with the running one, key by key. Keys in kLiveKeys are applied at once, all together;
// any other key added, removed or changed (node id, slot, key file or its content, paths,
// heartbeat timing, [chassis], [snmp], ...) refuses the whole reload with the keys named, and the
// running configuration stays. A file that does not parse or validate is refused the same way.
#pragma once

#include <string>
#include <toml++/toml.h>
#include <vector>

namespace hs {

// The dotted keys (or tables) a reload applies at run time.
// node.key_file (and a new content of the same file) rotates the heartbeat key (key_ring.hpp).
inline constexpr const char* kLiveKeys[] = {"node.log_level", "node.key_file", "node.key_grace_ms",
                                            "heartbeat.preempt", "hooks"};

struct ReloadDiff {
    std::vector<std::string> live;        // live keys whose value changes
    std::vector<std::string> restartOnly; // other keys that differ (refuse the reload)
};

// Compares two configuration documents (a key present in one only counts as a change).
ReloadDiff diffConfig(const toml::table& running, const toml::table& next);

// "a, b, c"
std::string joinKeys(const std::vector<std::string>& keys);

} // namespace hs

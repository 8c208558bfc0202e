// The daemon's configuration: one struct with defaults in code. readConfig() parses the TOML file,
// checks every value and throws hs::ConfigError ("FILE:LINE: key: reason") on the first problem.
// The [chassis] and [snmp] tables are kept raw for their own modules to parse; daemon/
// validated_config.hpp composes all checks into the one validate() the daemon is built from.
#pragma once

#include "base/log.hpp"
#include "hb/link.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

namespace hs {

// The keys the parser accepts, table by table: a key missing here is rejected as unknown, so these
// lists are complete. The man page hotstandbyd.toml(5) is checked against them
// (tests/packaging). [chassis] and [snmp] keep their lists beside their parsers.
namespace config_keys {
inline constexpr std::array<std::string_view, 8> kTables = {
    "node", "heartbeat", "path", "chassis", "snmp", "hooks", "address", "metrics"};
inline constexpr std::array<std::string_view, 15> kNode = {
    "id",        "slot",       "slot_file",      "slot_gpio",     "state_dir",
    "key_file",  "cluster_id", "control_socket", "control_group", "control_read_group",
    "log_level", "realtime",   "rt_priority",    "shm_name",      "key_grace_ms"};
inline constexpr std::array<std::string_view, 9> kHeartbeat = {"interval_ms",
                                                               "miss_threshold",
                                                               "recovery_threshold",
                                                               "init_dead_ms",
                                                               "preempt",
                                                               "preempt_delay_ms",
                                                               "switchover_limit",
                                                               "switchover_window_ms",
                                                               "switchover_holddown_ms"};
inline constexpr std::array<std::string_view, 9> kPath = {
    "name", "type", "interval_ms", "local", "peer", "device", "baud", "interface", "peer_mac"};
// [[address]]: a floating management address (daemon/float_addr.hpp).
inline constexpr std::array<std::string_view, 5> kAddress = {
    "address", "prefix", "interface", "announce_count", "announce_interval_ms"};
// [hooks] is parsed by daemon/hooks.cpp against this list.
inline constexpr std::array<std::string_view, 8> kHooks = {
    "on_role_change", "on_active",        "on_standby", "on_fault",
    "on_path_change", "on_chassis_event", "on_stop",    "timeout_ms"};
} // namespace config_keys

struct NodeConfig {
    std::uint32_t id = 0;              // required, > 0
    std::optional<std::uint32_t> slot; // exactly one of slot, slotFile, slotGpio is set
    std::string slotFile;              // file holding 0 or 1 (sysfs GPIO value, test file)
    std::string slotGpio;              // "gpiochip0:17"
    std::filesystem::path stateDir = "/var/lib/hotstandby";
    std::filesystem::path keyFile = "/etc/hotstandby/hb.key";
    // A reload with a new key: how long the old key stays accepted at least (1000..86400000).
    std::chrono::milliseconds keyGrace{60000};
    // Required: names the pair. Mixed into the frame key (hb::Key::forCluster), so nodes that
    // share a key file but not a cluster id never accept each other's frames.
    std::string clusterId;
    std::string controlSocket = "/run/hotstandby/hotstandbyd.sock";
    std::string controlGroup;     // empty: only root and the daemon's user
    std::string controlReadGroup; // read-only commands only (status, journal, chassis status)
    log::Level logLevel = log::Level::Info;
    bool realtime = false;
    int rtPriority = 50; // 1..99
    // The replicated store's shared-memory region (repl/hs_shm.h); empty: not published.
    std::string shmName = "/hotstandby";
};

struct HeartbeatConfig {
    std::chrono::milliseconds interval{10};   // 5..10000
    std::uint32_t missThreshold = 3;          // N: 1..100
    std::uint32_t recoveryThreshold = 3;      // K: 1..100
    std::chrono::milliseconds initDead{2000}; // >= 2 * interval * N (slowest path)
    bool preempt = false;
    std::chrono::milliseconds preemptDelay{5000}; // 0..3600000
    // The switchover rate guard: at most switchoverLimit manual switchovers and preemptions
    // within switchoverWindow, then switchoverHoldDown without any (0: no guard).
    std::uint32_t switchoverLimit = 3;                    // 0..1000
    std::chrono::milliseconds switchoverWindow{600000};   // 1000..86400000
    std::chrono::milliseconds switchoverHoldDown{300000}; // 1000..86400000
};

struct PathConfig {
    hb::LinkConfig link;                    // name, type, addresses or device and baud
    std::chrono::milliseconds interval{10}; // the path's heartbeat interval (override or default)
};

// A floating management address: held (added to INTERFACE) exactly while this node drives the
// chassis, announced with gratuitous ARP (IPv4) or unsolicited neighbour advertisements (IPv6).
struct AddressConfig {
    std::string address;                  // the IP literal as written
    bool v6 = false;                      // IPv6 (else IPv4)
    std::array<std::uint8_t, 16> bytes{}; // network order; IPv4 uses the first 4
    std::uint8_t prefix = 32;             // 1..32 (IPv4) or 1..128 (IPv6), default host prefix
    std::string interfaceName;            // required
    std::uint32_t announceCount = 3;      // 0..100 announcements after each add
    std::chrono::milliseconds announceInterval{100}; // 0..10000 between two announcements
};

struct Config {
    std::string file; // where it was loaded from
    NodeConfig node;
    HeartbeatConfig heartbeat;
    std::vector<PathConfig> paths;        // at least one, names unique, config order
    toml::table chassis;                  // raw [chassis] (empty when absent)
    toml::table snmp;                     // raw [snmp] (empty when absent)
    toml::table hooks;                    // raw [hooks] (empty when absent), daemon/hooks.hpp
    std::vector<AddressConfig> addresses; // [[address]] (none by default), addresses unique
    toml::table metrics;                  // raw [metrics] (empty when absent), metrics/
    toml::source_region stateDirAt; // where node.state_dir was given (else [node]), for messages
};

// Serial frame wire time: an empty heartbeat frame with stream framing, 10 bits per byte.
inline constexpr std::size_t kSerialHeartbeatBytes = 82;
std::chrono::microseconds serialFrameTime(std::uint32_t baud);
bool isStandardBaud(std::uint32_t baud);

// Parses and checks PATH without writing anything: the key file must be private, state_dir must be
// the daemon's own (owner, no group/other write) or, when missing, creatable below a writable
// directory. Throws hs::ConfigError.
Config readConfig(const std::string& path);

// Creates state_dir (0700) when missing and checks again that it is the daemon's own, writable
// directory. Throws hs::ConfigError naming node.state_dir. Called at start, never by --check.
void prepareStateDir(const Config& cfg);

// readConfig() then prepareStateDir().
Config loadConfig(const std::string& path);

// The checks of loadConfig() on an already parsed document (FILE names it in messages); the fuzz
// target feeds it. Touches the file system as loadConfig() does (key file, state_dir).
Config parseConfig(const toml::table& root, const std::string& file);

// "host:port" or "[v6addr]:port" with an IP literal host. Returns false and sets why on error.
bool parseHostPort(std::string_view text, std::string& host, std::uint16_t& port, std::string& why);

} // namespace hs

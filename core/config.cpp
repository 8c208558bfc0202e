#include "core/config.hpp"

#include "base/config_error.hpp"
#include "base/secret.hpp"
#include "hb/link_ether.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <grp.h>
#include <set>
#include <system_error>
#include <unistd.h>

namespace hs {
namespace {

constexpr std::array<std::uint32_t, 11> kStandardBauds = {
    1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600};

std::string_view typeName(toml::node_type t) {
    switch (t) {
    case toml::node_type::table:
        return "table";
    case toml::node_type::array:
        return "array";
    case toml::node_type::string:
        return "string";
    case toml::node_type::integer:
        return "integer";
    case toml::node_type::floating_point:
        return "floating-point number";
    case toml::node_type::boolean:
        return "boolean";
    case toml::node_type::date:
        return "date";
    case toml::node_type::time:
        return "time";
    case toml::node_type::date_time:
        return "date-time";
    case toml::node_type::none:
        break;
    }
    return "nothing";
}

// Reads the keys of one table, remembers which were used and rejects the rest.
class TableReader {
  public:
    TableReader(const toml::table& table, std::string prefix)
        : table_(table), prefix_(std::move(prefix)) {}

    std::string qualified(std::string_view key) const { return prefix_ + "." + std::string(key); }
    const toml::source_region& source() const { return table_.source(); }
    bool has(std::string_view key) const { return table_.contains(key); }

    const toml::node* get(std::string_view key) {
        used_.emplace(key);
        return table_.get(key);
    }
    // Where a key is reported: its value when present, else the table.
    const toml::source_region& where(std::string_view key) const {
        const toml::node* n = table_.get(key);
        return n ? n->source() : table_.source();
    }
    [[noreturn]] void fail(std::string_view key, const std::string& why) const {
        configFail(where(key), qualified(key), why);
    }
    [[noreturn]] void wrongType(std::string_view key, std::string_view want,
                                const toml::node& n) const {
        fail(key, fmt::format("expected {}, got {}", want, typeName(n.type())));
    }

    std::optional<std::int64_t> integer(std::string_view key, std::int64_t lo, std::int64_t hi) {
        const toml::node* n = get(key);
        if (!n) {
            return std::nullopt;
        }
        if (!n->is_integer()) {
            wrongType(key, "an integer", *n);
        }
        std::int64_t v = n->as_integer()->get();
        if (v < lo || v > hi) {
            fail(key, fmt::format("{} is out of range {}..{}", v, lo, hi));
        }
        return v;
    }
    std::optional<std::chrono::milliseconds> millis(std::string_view key, std::int64_t lo,
                                                    std::int64_t hi) {
        auto v = integer(key, lo, hi);
        return v ? std::optional(std::chrono::milliseconds(*v)) : std::nullopt;
    }
    std::optional<bool> boolean(std::string_view key) {
        const toml::node* n = get(key);
        if (!n) {
            return std::nullopt;
        }
        if (!n->is_boolean()) {
            wrongType(key, "a boolean (true/false)", *n);
        }
        return n->as_boolean()->get();
    }
    std::optional<std::string> string(std::string_view key, bool allowEmpty = false) {
        const toml::node* n = get(key);
        if (!n) {
            return std::nullopt;
        }
        if (!n->is_string()) {
            wrongType(key, "a string", *n);
        }
        std::string s = n->as_string()->get();
        if (!allowEmpty && s.empty()) {
            fail(key, "must not be empty");
        }
        return s;
    }
    template <typename T> T required(std::optional<T> v, std::string_view key) const {
        if (!v) {
            configFail(table_.source(), qualified(key), "missing required key");
        }
        return *v;
    }
    // KNOWN is the table's list in config_keys: a key read but not listed is unknown too.
    template <std::size_t N>
    void rejectUnknown(const std::array<std::string_view, N>& known) const {
        for (auto&& [k, v] : table_) {
            if (!used_.count(std::string(k.str())) ||
                std::find(known.begin(), known.end(), k.str()) == known.end()) {
                configFail(k.source(), qualified(k.str()), "unknown key");
            }
        }
    }

  private:
    const toml::table& table_;
    std::string prefix_;
    std::set<std::string, std::less<>> used_;
};

void checkKeyFile(TableReader& r, const std::filesystem::path& file) {
    std::string error;
    const int fd = openSecretFile(file.string(), "key file", error);
    if (fd < 0) {
        r.fail("key_file", error);
    }
    ::close(fd);
}

// The state directory as it is now: a private, writable directory, or missing with a writable
// directory above it (the daemon creates it at start; --check creates nothing).
void checkStateDir(TableReader& r, const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
        std::filesystem::path above = dir.parent_path();
        while (!above.empty() && !std::filesystem::exists(above, ec) &&
               above != above.parent_path()) {
            above = above.parent_path();
        }
        if (above.empty()) {
            above = ".";
        }
        if (!std::filesystem::is_directory(above, ec) ||
            ::access(above.c_str(), W_OK | X_OK) != 0) {
            r.fail("state_dir", fmt::format("cannot create {}: {} is not a writable directory",
                                            dir.string(), above.string()));
        }
        return;
    }
    if (!std::filesystem::is_directory(dir, ec)) {
        r.fail("state_dir", fmt::format("{} is not a directory", dir.string()));
    }
    if (std::string why = checkPrivateDir(dir); !why.empty()) {
        r.fail("state_dir", why);
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        r.fail("state_dir",
               fmt::format("{} is not writable: {}", dir.string(), std::strerror(errno)));
    }
}

bool validClusterId(std::string_view s) {
    auto ok = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
               c == ':';
    };
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), ok);
}

bool validGpioSpec(std::string_view s) {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) {
        return false;
    }
    unsigned line = 0;
    auto digits = s.substr(colon + 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), line);
    return ec == std::errc() && p == digits.data() + digits.size() && line <= 65535;
}

NodeConfig parseNode(const toml::table& t) {
    TableReader r(t, "node");
    NodeConfig n;
    n.id = static_cast<std::uint32_t>(r.required(r.integer("id", 1, 0xFFFFFFFF), "id"));
    if (auto v = r.integer("slot", 0, 1)) {
        n.slot = static_cast<std::uint32_t>(*v);
    }
    n.slotFile = r.string("slot_file").value_or("");
    n.slotGpio = r.string("slot_gpio").value_or("");
    int sources = (n.slot ? 1 : 0) + (n.slotFile.empty() ? 0 : 1) + (n.slotGpio.empty() ? 0 : 1);
    if (sources == 0) {
        configFail(t.source(), "node.slot", "missing required key (or slot_file / slot_gpio)");
    }
    if (sources > 1) {
        r.fail(n.slot ? "slot_file" : "slot_gpio",
               "give only one of slot, slot_file and slot_gpio");
    }
    if (!n.slotGpio.empty() && !validGpioSpec(n.slotGpio)) {
        r.fail("slot_gpio", fmt::format("'{}' is not CHIP:LINE (e.g. gpiochip0:17)", n.slotGpio));
    }
    n.stateDir = r.string("state_dir").value_or(n.stateDir.string());
    n.keyFile = r.string("key_file").value_or(n.keyFile.string());
    n.keyGrace =
        std::chrono::milliseconds(r.integer("key_grace_ms", 1000, 86400000).value_or(60000));
    if (!r.has("cluster_id")) {
        configFail(t.source(), "node.cluster_id",
                   "missing required key: name this pair with a string both nodes share and no "
                   "other pair uses (e.g. \"rack12-mm\"); it binds the heartbeat key to the pair");
    }
    n.clusterId = *r.string("cluster_id");
    if (!validClusterId(n.clusterId)) {
        r.fail("cluster_id", "use 1 to 64 letters, digits, '_', '-', '.' or ':'");
    }
    n.controlSocket = r.string("control_socket").value_or(n.controlSocket);
    if (n.controlSocket.front() != '/' || n.controlSocket.size() > 107) {
        r.fail("control_socket", "must be an absolute path of at most 107 bytes");
    }
    n.controlGroup = r.string("control_group", true).value_or("");
    if (!n.controlGroup.empty() && ::getgrnam(n.controlGroup.c_str()) == nullptr) {
        r.fail("control_group", fmt::format("no such group '{}'", n.controlGroup));
    }
    n.controlReadGroup = r.string("control_read_group", true).value_or("");
    if (!n.controlReadGroup.empty() && ::getgrnam(n.controlReadGroup.c_str()) == nullptr) {
        r.fail("control_read_group", fmt::format("no such group '{}'", n.controlReadGroup));
    }
    if (auto lvl = r.string("log_level")) {
        if (!log::parseLevel(*lvl, n.logLevel)) {
            r.fail("log_level", fmt::format("'{}' is not one of debug, info, warn, error", *lvl));
        }
    }
    n.shmName = r.string("shm_name", true).value_or(n.shmName);
    if (!n.shmName.empty() && (n.shmName.front() != '/' || n.shmName.size() > 200 ||
                               n.shmName.find('/', 1) != std::string::npos)) {
        r.fail("shm_name", "must be empty or '/' and a name without another '/' (at most 200 "
                           "bytes), e.g. \"/hotstandby\"");
    }
    n.realtime = r.boolean("realtime").value_or(false);
    n.rtPriority = static_cast<int>(r.integer("rt_priority", 1, 99).value_or(50));
    r.rejectUnknown(config_keys::kNode);
    checkKeyFile(r, n.keyFile);
    checkStateDir(r, n.stateDir);
    return n;
}

HeartbeatConfig parseHeartbeat(const toml::table& t) {
    TableReader r(t, "heartbeat");
    HeartbeatConfig h;
    h.interval = r.millis("interval_ms", 5, 10000).value_or(h.interval);
    h.missThreshold = static_cast<std::uint32_t>(r.integer("miss_threshold", 1, 100).value_or(3));
    h.recoveryThreshold =
        static_cast<std::uint32_t>(r.integer("recovery_threshold", 1, 100).value_or(3));
    h.initDead = r.millis("init_dead_ms", 1, 3600000).value_or(h.initDead);
    h.preempt = r.boolean("preempt").value_or(false);
    h.preemptDelay = r.millis("preempt_delay_ms", 0, 3600000).value_or(h.preemptDelay);
    h.switchoverLimit = static_cast<std::uint32_t>(
        r.integer("switchover_limit", 0, 1000).value_or(h.switchoverLimit));
    h.switchoverWindow =
        r.millis("switchover_window_ms", 1000, 86400000).value_or(h.switchoverWindow);
    h.switchoverHoldDown =
        r.millis("switchover_holddown_ms", 1000, 86400000).value_or(h.switchoverHoldDown);
    r.rejectUnknown(config_keys::kHeartbeat);
    return h;
}

void parseEndpoint(TableReader& r, std::string_view key, std::string& host, std::uint16_t& port) {
    std::string text = r.required(r.string(key), key);
    std::string why;
    if (!parseHostPort(text, host, port, why)) {
        r.fail(key, fmt::format("'{}': {}", text, why));
    }
}

void checkSerialTiming(TableReader& r, const PathConfig& p) {
    auto wire = serialFrameTime(p.link.baud);
    if (wire <= p.interval) {
        return;
    }
    std::string fix;
    for (auto b : kStandardBauds) {
        if (serialFrameTime(b) <= p.interval) {
            fix = fmt::format("baud >= {} or ", b);
            break;
        }
    }
    auto minInterval = (wire.count() + 999) / 1000;
    r.fail(r.has("baud") ? "baud" : "device",
           fmt::format("a heartbeat frame takes {:.1f} ms on the wire at {} baud, longer than the "
                       "interval of {} ms; use {}interval_ms >= {}",
                       wire.count() / 1000.0, p.link.baud, p.interval.count(), fix, minInterval));
}

// An interface name as the kernel accepts it (at most 15 bytes, no '/', ':' or white space).
bool validInterfaceName(std::string_view s) {
    auto ok = [](char c) { return c > ' ' && c < 0x7f && c != '/' && c != ':'; };
    return !s.empty() && s.size() <= 15 && s != "." && s != ".." &&
           std::all_of(s.begin(), s.end(), ok);
}

void parseEther(TableReader& r, PathConfig& p) {
    p.link.type = PathType::Ether;
    p.link.interfaceName = r.required(r.string("interface"), "interface");
    if (!validInterfaceName(p.link.interfaceName)) {
        r.fail("interface", fmt::format("'{}' is not an interface name (1 to 15 characters, no "
                                        "'/', ':' or white space)",
                                        p.link.interfaceName));
    }
    const std::string mac = r.required(r.string("peer_mac"), "peer_mac");
    if (!hb::parseMac(mac, p.link.peerMac)) {
        r.fail("peer_mac", fmt::format("'{}' is not a MAC address (e.g. 02:00:5e:10:00:02)", mac));
    }
    if (!hb::isUnicastMac(p.link.peerMac)) {
        r.fail("peer_mac", fmt::format("'{}' is not a unicast address", mac));
    }
    for (auto key : {"local", "peer", "device", "baud"}) {
        if (r.has(key)) {
            r.fail(key, "not valid for an ether path");
        }
    }
}

PathConfig parsePath(const toml::table& t, std::size_t index, const HeartbeatConfig& hb) {
    PathConfig p;
    {
        TableReader first(t, fmt::format("path[{}]", index));
        p.link.name = first.required(first.string("name"), "name");
        auto ok = [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
        };
        if (p.link.name.size() > 32 || !std::all_of(p.link.name.begin(), p.link.name.end(), ok)) {
            first.fail("name", "use at most 32 letters, digits, '_' or '-'");
        }
    }
    TableReader r(t, fmt::format("path[{}]", p.link.name));
    r.get("name");
    std::string type = r.required(r.string("type"), "type");
    p.interval = r.millis("interval_ms", 5, 10000).value_or(hb.interval);
    if (type == "udp" || type == "tcp") {
        p.link.type = type == "udp" ? PathType::Udp : PathType::Tcp;
        parseEndpoint(r, "local", p.link.localAddress, p.link.localPort);
        parseEndpoint(r, "peer", p.link.peerAddress, p.link.peerPort);
        bool v6l = p.link.localAddress.find(':') != std::string::npos;
        bool v6p = p.link.peerAddress.find(':') != std::string::npos;
        if (v6l != v6p) {
            r.fail("peer", "local and peer must both be IPv4 or both IPv6");
        }
        for (auto key : {"device", "baud", "interface", "peer_mac"}) {
            if (r.has(key)) {
                r.fail(key, fmt::format("not valid for a {} path", type));
            }
        }
    } else if (type == "serial") {
        p.link.type = PathType::Serial;
        p.link.device = r.required(r.string("device"), "device");
        auto baud = r.integer("baud", 1, 4000000);
        p.link.baud = static_cast<std::uint32_t>(baud.value_or(115200));
        if (!isStandardBaud(p.link.baud)) {
            r.fail("baud", fmt::format("{} is not a standard rate (1200, 2400, ... 115200, 230400, "
                                       "460800, 921600)",
                                       p.link.baud));
        }
        for (auto key : {"local", "peer", "interface", "peer_mac"}) {
            if (r.has(key)) {
                r.fail(key, "not valid for a serial path");
            }
        }
        checkSerialTiming(r, p);
    } else if (type == "ether") {
        parseEther(r, p);
    } else {
        r.fail("type", fmt::format("'{}' is not one of udp, tcp, serial, ether", type));
    }
    r.rejectUnknown(config_keys::kPath);
    return p;
}

// "a.b.c.d" or an IPv6 literal that a node may hold as a floating address: not unspecified,
// loopback or multicast.
void parseAddress(TableReader& r, AddressConfig& a) {
    a.address = r.required(r.string("address"), "address");
    if (::inet_pton(AF_INET, a.address.c_str(), a.bytes.data()) == 1) {
        a.v6 = false;
        if (a.bytes[0] == 0 || a.bytes[0] == 127 || a.bytes[0] >= 224) {
            r.fail("address", fmt::format("'{}' is not a unicast host address (not 0/8, 127/8, "
                                          "multicast or reserved)",
                                          a.address));
        }
    } else if (::inet_pton(AF_INET6, a.address.c_str(), a.bytes.data()) == 1) {
        a.v6 = true;
        static constexpr std::array<std::uint8_t, 16> kZero{};
        std::array<std::uint8_t, 16> loop{};
        loop[15] = 1;
        if (a.bytes == kZero || a.bytes == loop || a.bytes[0] == 0xff) {
            r.fail("address", fmt::format("'{}' is not a unicast address (not ::, ::1 or "
                                          "multicast)",
                                          a.address));
        }
    } else {
        r.fail("address", fmt::format("'{}' is not an IPv4 or IPv6 address (IP literals only, "
                                      "no prefix: give it in prefix)",
                                      a.address));
    }
}

AddressConfig parseAddressTable(const toml::table& t, std::size_t index) {
    TableReader r(t, fmt::format("address[{}]", index));
    AddressConfig a;
    parseAddress(r, a);
    const int maxPrefix = a.v6 ? 128 : 32;
    a.prefix = static_cast<std::uint8_t>(r.integer("prefix", 1, maxPrefix).value_or(maxPrefix));
    a.interfaceName = r.required(r.string("interface"), "interface");
    if (!validInterfaceName(a.interfaceName)) {
        r.fail("interface", fmt::format("'{}' is not an interface name (1 to 15 characters, no "
                                        "'/', ':' or white space)",
                                        a.interfaceName));
    }
    a.announceCount =
        static_cast<std::uint32_t>(r.integer("announce_count", 0, 100).value_or(a.announceCount));
    a.announceInterval = r.millis("announce_interval_ms", 0, 10000).value_or(a.announceInterval);
    r.rejectUnknown(config_keys::kAddress);
    return a;
}

std::vector<AddressConfig> parseAddresses(const toml::node& n) {
    if (!n.is_array_of_tables() || n.as_array()->empty()) {
        configFail(n.source(), "address", "expected [[address]] tables");
    }
    const toml::array& arr = *n.as_array();
    std::vector<AddressConfig> out;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        AddressConfig a = parseAddressTable(*arr[i].as_table(), i + 1);
        for (const AddressConfig& b : out) {
            if (b.v6 == a.v6 && b.bytes == a.bytes) {
                configFail(arr[i].as_table()->get("address")->source(),
                           fmt::format("address[{}].address", i + 1),
                           fmt::format("duplicate floating address '{}'", a.address));
            }
        }
        out.push_back(std::move(a));
    }
    return out;
}

const toml::table* optionalTable(const toml::table& root, std::string_view key) {
    const toml::node* n = root.get(key);
    if (n && !n->is_table()) {
        configFail(n->source(), std::string(key),
                   fmt::format("expected a table, got {}", typeName(n->type())));
    }
    return n ? n->as_table() : nullptr;
}

Config parseRoot(const toml::table& root, const std::string& file) {
    for (auto&& [k, v] : root) {
        const auto& known = config_keys::kTables;
        if (std::find(known.begin(), known.end(), k.str()) == known.end()) {
            configFail(
                k.source(), std::string(k.str()),
                "unknown table or key (expected node, heartbeat, path, chassis, snmp, hooks, "
                "address, metrics)");
        }
    }
    Config cfg;
    cfg.file = file;
    const toml::table* node = optionalTable(root, "node");
    if (!node) {
        throw ConfigError(file + ": node: missing required table [node]");
    }
    cfg.node = parseNode(*node);
    const toml::node* stateDir = node->get("state_dir");
    cfg.stateDirAt = stateDir ? stateDir->source() : node->source();
    if (const toml::table* hb = optionalTable(root, "heartbeat")) {
        cfg.heartbeat = parseHeartbeat(*hb);
    }
    const toml::node* paths = root.get("path");
    if (!paths) {
        throw ConfigError(file + ": path: at least one [[path]] is required");
    }
    if (paths->is_array() && paths->as_array()->empty()) {
        configFail(paths->source(), "path", "at least one [[path]] is required");
    }
    if (!paths->is_array_of_tables()) {
        configFail(paths->source(), "path", "expected [[path]] tables");
    }
    const toml::array& arr = *paths->as_array();
    std::set<std::string> names;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        const toml::table& t = *arr[i].as_table();
        PathConfig p = parsePath(t, i + 1, cfg.heartbeat);
        if (!names.insert(p.link.name).second) {
            configFail(t.get("name")->source(), fmt::format("path[{}].name", i + 1),
                       fmt::format("duplicate path name '{}'", p.link.name));
        }
        cfg.paths.push_back(std::move(p));
    }
    auto slowest = std::max_element(cfg.paths.begin(), cfg.paths.end(), [](auto& a, auto& b) {
                       return a.interval < b.interval;
                   })->interval;
    auto minInitDead = 2 * slowest * cfg.heartbeat.missThreshold;
    if (cfg.heartbeat.initDead < minInitDead) {
        const toml::table* hb = root.get_as<toml::table>("heartbeat");
        const toml::node* at = hb ? hb->get("init_dead_ms") : nullptr;
        configFail(at ? at->source() : (hb ? hb->source() : root.source()),
                   "heartbeat.init_dead_ms",
                   fmt::format("{} ms is shorter than 2 * interval ({} ms) * miss_threshold ({}) = "
                               "{} ms",
                               cfg.heartbeat.initDead.count(), slowest.count(),
                               cfg.heartbeat.missThreshold, minInitDead.count()));
    }
    if (const toml::table* t = optionalTable(root, "chassis")) {
        cfg.chassis = *t;
    }
    if (const toml::table* t = optionalTable(root, "snmp")) {
        cfg.snmp = *t;
    }
    if (const toml::table* t = optionalTable(root, "hooks")) {
        cfg.hooks = *t;
    }
    if (const toml::node* a = root.get("address")) {
        cfg.addresses = parseAddresses(*a);
    }
    if (const toml::table* t = optionalTable(root, "metrics")) {
        cfg.metrics = *t;
    }
    return cfg;
}

} // namespace

std::chrono::microseconds serialFrameTime(std::uint32_t baud) {
    if (baud == 0) {
        return std::chrono::microseconds::max();
    }
    return std::chrono::microseconds((kSerialHeartbeatBytes * 10 * 1000000ULL + baud - 1) / baud);
}

bool isStandardBaud(std::uint32_t baud) {
    return std::find(kStandardBauds.begin(), kStandardBauds.end(), baud) != kStandardBauds.end();
}

bool parseHostPort(std::string_view text, std::string& host, std::uint16_t& port,
                   std::string& why) {
    std::string_view h, p;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            why = "expected [IPv6]:PORT";
            return false;
        }
        h = text.substr(1, close - 1);
        p = text.substr(close + 2);
        in6_addr a6{};
        if (::inet_pton(AF_INET6, std::string(h).c_str(), &a6) != 1) {
            why = fmt::format("'{}' is not an IPv6 address", h);
            return false;
        }
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            why = "expected HOST:PORT";
            return false;
        }
        h = text.substr(0, colon);
        p = text.substr(colon + 1);
        in_addr a4{};
        if (::inet_pton(AF_INET, std::string(h).c_str(), &a4) != 1) {
            why = fmt::format("'{}' is not an IPv4 address (use [addr]:port for IPv6; no host "
                              "names, resolving could block)",
                              h);
            return false;
        }
    }
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || end != p.data() + p.size() || v < 1 || v > 65535) {
        why = fmt::format("port '{}' is not in 1..65535", p);
        return false;
    }
    host = std::string(h);
    port = static_cast<std::uint16_t>(v);
    return true;
}

Config readConfig(const std::string& path) {
    if (::access(path.c_str(), R_OK) != 0) {
        throw ConfigError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    }
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        throw ConfigError(configWhere(e.source(), "syntax error") + ": " +
                          std::string(e.description()));
    }
    return parseRoot(root, path);
}

void prepareStateDir(const Config& cfg) {
    const std::filesystem::path& dir = cfg.node.stateDir;
    auto fail = [&cfg](const std::string& why) {
        configFail(cfg.stateDirAt, "node.state_dir", why);
    };
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec) {
            fail(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
        }
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }
    if (!std::filesystem::is_directory(dir, ec)) {
        fail(fmt::format("{} is not a directory", dir.string()));
    }
    if (std::string why = checkPrivateDir(dir); !why.empty()) {
        fail(why);
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        fail(fmt::format("{} is not writable: {}", dir.string(), std::strerror(errno)));
    }
}

Config loadConfig(const std::string& path) {
    Config cfg = readConfig(path);
    prepareStateDir(cfg);
    return cfg;
}

Config parseConfig(const toml::table& root, const std::string& file) {
    return parseRoot(root, file);
}

} // namespace hs

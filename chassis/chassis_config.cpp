#include "chassis/chassis_config.hpp"

#include "base/config_error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/core.h>
#include <freeipmi/freeipmi.h>
#include <initializer_list>
#include <set>
#include <span>

namespace hs::chassis {

bool parseWorkaroundFlag(BmcInterface i, std::string_view name, unsigned& flag) {
    struct Entry {
        std::string_view name;
        unsigned flag;
    };
    static constexpr Entry kLan[] = {
        {"authcap", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_AUTHENTICATION_CAPABILITIES},
        {"intel20", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_INTEL_2_0_SESSION},
        {"supermicro20", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_SUPERMICRO_2_0_SESSION},
        {"sun20", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_SUN_2_0_SESSION},
        {"opensesspriv", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_OPEN_SESSION_PRIVILEGE},
        {"integritycheckvalue",
         IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_NON_EMPTY_INTEGRITY_CHECK_VALUE},
        {"nochecksumcheck", IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_NO_CHECKSUM_CHECK},
    };
    static constexpr Entry kInband[] = {
        {"assumeio", IPMI_WORKAROUND_FLAGS_INBAND_ASSUME_IO_BASE_ADDRESS},
        {"spinpoll", IPMI_WORKAROUND_FLAGS_INBAND_SPIN_POLL},
    };
    if (i == BmcInterface::Lanplus) {
        for (const auto& e : kLan) {
            if (e.name == name) {
                flag = e.flag;
                return true;
            }
        }
    } else if (i == BmcInterface::Inband) {
        for (const auto& e : kInband) {
            if (e.name == name) {
                flag = e.flag;
                return true;
            }
        }
    }
    return false;
}

namespace {

// Reads one table, remembers which keys were used and rejects the others.
class Reader {
  public:
    Reader(const toml::table& t, std::string prefix, const std::string& file)
        : table_(t), prefix_(std::move(prefix)), file_(file) {}

    [[noreturn]] void failAt(const toml::source_region& src, std::string_view key,
                             const std::string& why) const {
        toml::source_region s = src;
        if (!s.path && !file_.empty()) {
            s.path = std::make_shared<const std::string>(file_);
        }
        configFail(s, qualified(key), why);
    }
    [[noreturn]] void fail(std::string_view key, const std::string& why) const {
        const toml::node* n = table_.get(key);
        failAt(n ? n->source() : table_.source(), key, why);
    }
    // "FILE:LINE: chassis.KEY: why", for a setting that is accepted but weakens security.
    std::string warning(std::string_view key, const std::string& why) const {
        const toml::node* n = table_.get(key);
        toml::source_region s = n ? n->source() : table_.source();
        if (!s.path && !file_.empty()) {
            s.path = std::make_shared<const std::string>(file_);
        }
        return configWhere(s, qualified(key)) + ": " + why;
    }
    std::string qualified(std::string_view key) const {
        return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
    }
    const toml::node* get(std::string_view key) {
        used_.insert(std::string(key));
        return table_.get(key);
    }
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t lo, std::int64_t hi) {
        const toml::node* n = get(key);
        if (!n) {
            return std::nullopt;
        }
        if (!n->is_integer()) {
            fail(key, "must be an integer");
        }
        std::int64_t v = n->as_integer()->get();
        if (v < lo || v > hi) {
            fail(key, fmt::format("{} is out of range {}..{}", v, lo, hi));
        }
        return v;
    }
    std::optional<milliseconds> ms(std::string_view key, std::int64_t lo, std::int64_t hi) {
        auto v = integer(key, lo, hi);
        return v ? std::optional<milliseconds>(milliseconds(*v)) : std::nullopt;
    }
    std::optional<double> number(std::string_view key, double lo, double hi) {
        const toml::node* n = get(key);
        if (!n) {
            return std::nullopt;
        }
        if (!n->is_number()) {
            fail(key, "must be a number");
        }
        double v = n->value<double>().value_or(0);
        if (v < lo || v > hi) {
            fail(key, fmt::format("{} is out of range {}..{}", v, lo, hi));
        }
        return v;
    }
    std::optional<bool> boolean(std::string_view key) {
        const toml::node* n = get(key);
        if (!n) {
            return std::nullopt;
        }
        if (!n->is_boolean()) {
            fail(key, "must be true or false");
        }
        return n->as_boolean()->get();
    }
    std::optional<std::string> string(std::string_view key) {
        const toml::node* n = get(key);
        if (!n) {
            return std::nullopt;
        }
        if (!n->is_string()) {
            fail(key, "must be a string");
        }
        std::string s = n->as_string()->get();
        if (s.empty()) {
            fail(key, "must not be empty");
        }
        return s;
    }
    std::vector<std::string> strings(std::string_view key) {
        std::vector<std::string> out;
        const toml::node* n = get(key);
        if (!n) {
            return out;
        }
        const toml::array* a = n->as_array();
        if (!a) {
            fail(key, "must be an array of strings");
        }
        for (const toml::node& e : *a) {
            if (!e.is_string() || e.as_string()->get().empty()) {
                failAt(e.source(), key, "must be an array of non-empty strings");
            }
            out.push_back(e.as_string()->get());
        }
        return out;
    }
    // KNOWN are the table's lists in config_keys: a key read but not listed is unknown too.
    void rejectUnknown(std::initializer_list<std::span<const std::string_view>> known) const {
        auto listed = [&known](std::string_view k) {
            return std::any_of(known.begin(), known.end(), [k](auto list) {
                return std::find(list.begin(), list.end(), k) != list.end();
            });
        };
        for (auto&& [k, v] : table_) {
            if (!used_.count(std::string(k.str())) || !listed(k.str())) {
                failAt(k.source(), k.str(), "unknown key");
            }
        }
    }
    const toml::table& table() const { return table_; }
    const std::string& file() const { return file_; }
    const std::string& prefix() const { return prefix_; }

  private:
    const toml::table& table_;
    std::string prefix_;
    std::string file_;
    std::set<std::string, std::less<>> used_;
};

constexpr std::size_t kMaxPasswordFileBytes = 4096;

// The first line of the password file, trailing whitespace removed. The file is checked on its
// open descriptor (see hs::openSecretFile); an empty password is refused unless allowEmpty.
SharedSecret readPasswordFile(Reader& r, const std::string& path, bool allowEmpty) {
    std::string error;
    SecretBytes pw = readSecretFile(path, "password file", kMaxPasswordFileBytes, error);
    if (!error.empty()) {
        r.fail("password_file", error);
    }
    const auto bytes = pw.bytes();
    std::size_t n =
        static_cast<std::size_t>(std::find(bytes.begin(), bytes.end(), '\n') - bytes.begin());
    while (n > 0 && (bytes[n - 1] == '\r' || bytes[n - 1] == ' ' || bytes[n - 1] == '\t')) {
        --n;
    }
    pw.truncate(n);
    if (pw.size() > IPMI_2_0_MAX_PASSWORD_LENGTH) {
        r.fail("password_file", fmt::format("the password in {} is longer than {} bytes", path,
                                            IPMI_2_0_MAX_PASSWORD_LENGTH));
    }
    if (pw.empty() && !allowEmpty) {
        r.fail("password_file",
               fmt::format("{} holds no password (its first line is empty): the BMC would be used "
                           "without one; write the BMC user's password into it, or set "
                           "allow_insecure = true in [chassis] (test benches only)",
                           path));
    }
    return SharedSecret(std::move(pw));
}

// Suite 0 (no authentication) is refused unless allow_insecure; suites without integrity or
// confidentiality are accepted with a warning.
void checkCipherSuite(Reader& r, std::uint8_t id, bool allowInsecure,
                      std::vector<std::string>& warnings) {
    const CipherSuiteInfo cs = cipherSuiteInfo(id);
    if (!cs.authentication) {
        if (!allowInsecure) {
            r.fail("cipher_suite",
                   "0 has no authentication: anyone on the BMC network could command the chassis; "
                   "use 17 (or 3 where the BMC has no 17), or set allow_insecure = true in "
                   "[chassis] (test benches only)");
        }
        warnings.push_back(r.warning(
            "cipher_suite", "0: no authentication, integrity or confidentiality (allow_insecure)"));
    } else if (!cs.integrity) {
        warnings.push_back(r.warning(
            "cipher_suite", fmt::format("{}: no integrity: an attacker on the BMC network can "
                                        "alter or inject commands in a session; use 17 or 3",
                                        id)));
    } else if (!cs.confidentiality) {
        warnings.push_back(r.warning(
            "cipher_suite", fmt::format("{}: no confidentiality: commands and readings are "
                                        "readable on the BMC network; use 17 or 3",
                                        id)));
    }
}

// Keys shared by [chassis] and [chassis.fencing]: how to reach one BMC.
BmcEndpoint parseEndpoint(Reader& r, bool requireLan, bool allowInsecure,
                          std::vector<std::string>& warnings) {
    BmcEndpoint e;
    std::string iface = r.string("interface").value_or(requireLan ? "lanplus" : "none");
    if (iface == "lanplus") {
        e.interface = BmcInterface::Lanplus;
    } else if (iface == "inband" && !requireLan) {
        e.interface = BmcInterface::Inband;
    } else if (iface == "none" && !requireLan) {
        e.interface = BmcInterface::None;
    } else {
        r.fail("interface", fmt::format("\"{}\" is not one of {}", iface,
                                        requireLan ? "lanplus" : "lanplus, inband, none"));
    }
    auto host = r.string("host");
    e.port = static_cast<std::uint16_t>(r.integer("port", 1, 65535).value_or(623));
    auto user = r.string("user");
    auto pwFile = r.string("password_file");
    e.cipherSuite = static_cast<std::uint8_t>(r.integer("cipher_suite", 0, 17).value_or(17));
    if (auto p = r.string("privilege")) {
        if (*p == "user") {
            e.privilege = Privilege::User;
        } else if (*p == "operator") {
            e.privilege = Privilege::Operator;
        } else if (*p == "admin") {
            e.privilege = Privilege::Admin;
        } else {
            r.fail("privilege", fmt::format("\"{}\" is not one of user, operator, admin", *p));
        }
    }
    for (const std::string& w : r.strings("workaround_flags")) {
        unsigned flag = 0;
        if (!parseWorkaroundFlag(e.interface, w, flag)) {
            r.fail("workaround_flags",
                   fmt::format("\"{}\" is not a {} workaround flag", w, toString(e.interface)));
        }
        e.workaroundFlags |= flag;
    }
    e.sessionTimeout = r.ms("session_timeout_ms", 100, 600000).value_or(e.sessionTimeout);
    e.retransmissionTimeout =
        r.ms("retransmission_timeout_ms", 10, 600000).value_or(e.retransmissionTimeout);
    e.driverDevice = r.string("driver_device").value_or("");
    if (e.interface == BmcInterface::Lanplus) {
        if (!host) {
            r.fail("host", "missing required key (interface = \"lanplus\")");
        }
        if (!user) {
            r.fail("user", "missing required key (interface = \"lanplus\")");
        }
        if (!pwFile) {
            r.fail("password_file", "missing required key (interface = \"lanplus\")");
        }
        e.host = *host;
        e.user = *user;
        if (e.user.size() > IPMI_MAX_USER_NAME_LENGTH) {
            r.fail("user", fmt::format("longer than {} bytes", IPMI_MAX_USER_NAME_LENGTH));
        }
        e.passwordFile = *pwFile;
        e.password = readPasswordFile(r, *pwFile, allowInsecure);
        if (e.retransmissionTimeout >= e.sessionTimeout) {
            r.fail("retransmission_timeout_ms",
                   fmt::format("{} ms must be shorter than session_timeout_ms ({} ms)",
                               e.retransmissionTimeout.count(), e.sessionTimeout.count()));
        }
        // Valid IPMI ids that FreeIPMI cannot negotiate are refused here, not at the first session.
        static constexpr std::uint8_t kSupported[] = {0, 1, 2, 3, 6, 7, 8, 11, 12, 15, 16, 17};
        if (std::find(std::begin(kSupported), std::end(kSupported), e.cipherSuite) ==
            std::end(kSupported)) {
            r.fail("cipher_suite",
                   fmt::format("{} is not supported by FreeIPMI (use 0-3, 6-8, 11, 12, 15-17)",
                               e.cipherSuite));
        }
        checkCipherSuite(r, e.cipherSuite, allowInsecure, warnings);
    } else if (e.interface == BmcInterface::Inband) {
        if (host || user || pwFile) {
            r.fail(host ? "host" : (user ? "user" : "password_file"),
                   "only meaningful with interface = \"lanplus\"");
        }
    }
    return e;
}

std::vector<ThermalPoint> parseCurve(Reader& r) {
    std::vector<ThermalPoint> curve;
    const toml::node* n = r.get("curve");
    if (!n) {
        r.fail("curve", "missing required key: [[TEMP_C, DUTY_PCT], ...]");
    }
    const toml::array* a = n->as_array();
    if (!a || a->empty()) {
        r.fail("curve", "must be a non-empty array of [TEMP_C, DUTY_PCT] pairs");
    }
    for (const toml::node& e : *a) {
        const toml::array* pair = e.as_array();
        if (!pair || pair->size() != 2 || !(*pair)[0].is_number() || !(*pair)[1].is_integer()) {
            r.failAt(e.source(), "curve", "each point must be [TEMP_C, DUTY_PCT]");
        }
        ThermalPoint p;
        p.tempC = (*pair)[0].value<double>().value_or(0);
        std::int64_t duty = (*pair)[1].value<std::int64_t>().value_or(-1);
        if (duty < 0 || duty > 100) {
            r.failAt(e.source(), "curve", fmt::format("duty {} is out of range 0..100", duty));
        }
        if (p.tempC < -50 || p.tempC > 200) {
            r.failAt(e.source(), "curve", fmt::format("temperature {} is out of range", p.tempC));
        }
        p.dutyPct = static_cast<unsigned>(duty);
        if (!curve.empty()) {
            if (p.tempC <= curve.back().tempC) {
                r.failAt(e.source(), "curve", "temperatures must be strictly increasing");
            }
            if (p.dutyPct < curve.back().dutyPct) {
                r.failAt(e.source(), "curve", "duties must not decrease as temperature rises");
            }
        }
        curve.push_back(p);
    }
    return curve;
}

std::vector<ZoneConfig> parseZones(Reader& parent, FanProfileKind profile) {
    std::vector<ZoneConfig> zones;
    const toml::node* n = parent.get("zone");
    if (!n) {
        return zones;
    }
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables()) {
        parent.fail("zone", "must be an array of tables ([[chassis.zone]])");
    }
    std::set<std::uint32_t> seen;
    std::size_t i = 0;
    for (const toml::node& e : *a) {
        Reader r(*e.as_table(), fmt::format("{}.zone[{}]", parent.prefix(), i++), parent.file());
        ZoneConfig z;
        z.zone = static_cast<std::uint32_t>(
            r.integer("id", 0, profile == FanProfileKind::Dell ? 254 : 255).value_or(0));
        if (!r.table().contains("id")) {
            r.fail("id", "missing required key");
        }
        if (!seen.insert(z.zone).second) {
            r.fail("id", fmt::format("zone {} is defined twice", z.zone));
        }
        z.name = r.string("name").value_or(fmt::format("zone{}", z.zone));
        z.tempSensors = r.strings("temp_sensors");
        if (z.tempSensors.empty()) {
            r.fail("temp_sensors", "missing required key: the sensors that drive this zone");
        }
        z.fanSensors = r.strings("fan_sensors");
        z.curve = parseCurve(r);
        z.hysteresisC = r.number("hysteresis_c", 0, 50).value_or(z.hysteresisC);
        r.rejectUnknown({config_keys::kZone});
        zones.push_back(std::move(z));
    }
    return zones;
}

} // namespace

ChassisConfig parseChassisConfig(const toml::table& chassisTable, const std::string& file) {
    ChassisConfig c;
    Reader r(chassisTable, "chassis", file);
    c.allowInsecure = r.boolean("allow_insecure").value_or(false);
    if (c.allowInsecure) {
        c.warnings.push_back(r.warning("allow_insecure",
                                       "true: cipher suite 0 and an empty BMC password are "
                                       "accepted; never use this outside a test bench"));
    }
    c.bmc = parseEndpoint(r, false, c.allowInsecure, c.warnings);
    c.statusPoll = r.ms("status_poll_ms", 100, 3600000).value_or(c.statusPoll);
    c.sensorPoll = r.ms("sensor_poll_ms", 100, 3600000).value_or(c.sensorPoll);
    c.retryMin = r.ms("retry_min_ms", 10, 600000).value_or(c.retryMin);
    c.retryMax = r.ms("retry_max_ms", 10, 3600000).value_or(c.retryMax);
    if (c.retryMax < c.retryMin) {
        r.fail("retry_max_ms", "must not be smaller than retry_min_ms");
    }
    c.powerConfirmTimeout =
        r.ms("power_confirm_timeout_ms", 1000, 3600000).value_or(c.powerConfirmTimeout);
    c.errorLogInterval = r.ms("error_log_interval_ms", 0, 3600000).value_or(c.errorLogInterval);
    c.sdrCacheDir = r.string("sdr_cache_dir").value_or("");
    if (c.enabled() && c.sdrCacheDir.empty()) {
        r.fail("sdr_cache_dir", "missing required key (one directory per daemon instance)");
    }
    // The SDR cache tells the daemon how to read every sensor: it must be the daemon's own. A
    // missing directory is created 0700 at the first sensor read.
    std::error_code fsec;
    if (c.enabled() && std::filesystem::exists(c.sdrCacheDir, fsec)) {
        if (std::string why = checkPrivateDir(c.sdrCacheDir); !why.empty()) {
            r.fail("sdr_cache_dir", why);
        }
    }
    std::string profile = r.string("fan_profile").value_or("none");
    if (profile == "supermicro") {
        c.fanProfile = FanProfileKind::Supermicro;
    } else if (profile == "dell") {
        c.fanProfile = FanProfileKind::Dell;
    } else if (profile != "none") {
        r.fail("fan_profile", fmt::format("\"{}\" is not one of supermicro, dell, none", profile));
    }
    c.failsafeDutyPct =
        static_cast<unsigned>(r.integer("failsafe_duty_pct", 20, 100).value_or(100));
    c.zones = parseZones(r, c.fanProfile);
    if (c.fanProfile != FanProfileKind::None && c.zones.empty()) {
        r.fail("fan_profile", "needs at least one [[chassis.zone]]");
    }
    if (c.fanProfile != FanProfileKind::None && !c.enabled()) {
        r.fail("fan_profile", "needs a BMC (interface is \"none\")");
    }
    // Least privilege that works: power, status and sensors need OPERATOR; the OEM fan commands
    // of a fan profile need ADMINISTRATOR on many BMCs (and on the test bed's ipmi_sim).
    const bool wantsAdmin = c.fanProfile != FanProfileKind::None;
    if (!chassisTable.contains("privilege")) {
        c.bmc.privilege = wantsAdmin ? Privilege::Admin : Privilege::Operator;
    } else if (c.bmc.privilege == Privilege::Admin && !wantsAdmin) {
        c.warnings.push_back(r.warning("privilege", "administrator is more than chassis control "
                                                    "and sensors need (no fan_profile); use "
                                                    "\"operator\""));
    }
    if (const toml::node* f = r.get("fencing")) {
        const toml::table* ft = f->as_table();
        if (!ft) {
            r.fail("fencing", "must be a table ([chassis.fencing])");
        }
        Reader fr(*ft, "chassis.fencing", file);
        c.fencing.enabled = fr.boolean("enabled").value_or(false);
        c.fencing.delayPerSlot =
            fr.ms("delay_per_slot_ms", 0, 600000).value_or(c.fencing.delayPerSlot);
        c.fencing.confirmTimeout =
            fr.ms("confirm_timeout_ms", 1000, 600000).value_or(c.fencing.confirmTimeout);
        if (c.fencing.enabled) {
            c.fencing.peer = parseEndpoint(fr, true, c.allowInsecure, c.warnings);
            if (c.fencing.peer.privilege == Privilege::Admin) {
                c.warnings.push_back(fr.warning("privilege", "administrator is more than fencing "
                                                             "(a power-off) needs; use "
                                                             "\"operator\""));
            }
        } else {
            // Still validate the keys' names so a typo does not hide until fencing is enabled.
            for (std::string_view k : config_keys::kBmc) {
                fr.get(k);
            }
        }
        fr.rejectUnknown({config_keys::kFencing, config_keys::kBmc});
    }
    r.rejectUnknown({config_keys::kChassis, config_keys::kBmc});
    return c;
}

} // namespace hs::chassis

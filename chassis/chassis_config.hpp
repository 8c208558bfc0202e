// [chassis] configuration: BMC access, sensor polling, fan profile and thermal zones, fail-safe
// duty and optional fencing of the peer host. One validated struct, defaults in code; the parser
// throws hs::ConfigError "FILE:LINE: chassis.KEY: reason" on the first problem.
#pragma once

#include "base/secret.hpp"
#include "base/types.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

namespace hs::chassis {

using std::chrono::milliseconds;

// The keys the parser accepts: a key missing here is rejected as unknown, so these lists are
// complete. The man page hotstandbyd.toml(5) is checked against them (tests/packaging).
namespace config_keys {
// How to reach one BMC: keys of both [chassis] and [chassis.fencing].
inline constexpr std::array<std::string_view, 11> kBmc = {"interface",
                                                          "host",
                                                          "port",
                                                          "user",
                                                          "password_file",
                                                          "cipher_suite",
                                                          "privilege",
                                                          "workaround_flags",
                                                          "session_timeout_ms",
                                                          "retransmission_timeout_ms",
                                                          "driver_device"};
// [chassis], besides kBmc.
inline constexpr std::array<std::string_view, 12> kChassis = {
    "allow_insecure",        "status_poll_ms", "sensor_poll_ms",
    "retry_min_ms",          "retry_max_ms",   "power_confirm_timeout_ms",
    "error_log_interval_ms", "sdr_cache_dir",  "fan_profile",
    "failsafe_duty_pct",     "zone",           "fencing"};
// [chassis.fencing], besides kBmc.
inline constexpr std::array<std::string_view, 3> kFencing = {"enabled", "delay_per_slot_ms",
                                                             "confirm_timeout_ms"};
// [[chassis.zone]]
inline constexpr std::array<std::string_view, 6> kZone = {"id",          "name",  "temp_sensors",
                                                          "fan_sensors", "curve", "hysteresis_c"};
} // namespace config_keys

enum class BmcInterface : std::uint8_t { None, Lanplus, Inband };
enum class Privilege : std::uint8_t { User, Operator, Admin };
enum class FanProfileKind : std::uint8_t { None, Supermicro, Dell };

std::string_view toString(BmcInterface i);
std::string_view toString(FanProfileKind k);

// How to reach one BMC (ours, or the peer's for fencing).
struct BmcEndpoint {
    BmcInterface interface = BmcInterface::None;
    std::string host;              // lanplus: IP literal or name
    std::uint16_t port = 623;      // lanplus
    std::string user;              // lanplus
    SharedSecret password;         // read from password_file at parse time; NEVER logged
    std::string passwordFile;      // for messages
    std::uint8_t cipherSuite = 17; // IPMI 2.0 cipher suite id (0-17)
    // Least privilege: OPERATOR covers chassis control (power), status and sensor reads. The
    // parser defaults [chassis] to ADMINISTRATOR only when a fan profile needs OEM commands.
    Privilege privilege = Privilege::Operator;
    unsigned workaroundFlags =
        0; // FreeIPMI IPMI_WORKAROUND_FLAGS_* (same bits as ipmimonitoring's)
    milliseconds sessionTimeout{5000};
    milliseconds retransmissionTimeout{1000};
    std::string driverDevice; // inband: "" = probe (/dev/ipmi0)

    // "host:port" as FreeIPMI takes it; empty for inband.
    std::string target() const;
    // For logs: "lanplus 127.0.0.1:623 user=admin cs=17" (no secret).
    std::string describe() const;
};

struct ThermalPoint {
    double tempC = 0;
    unsigned dutyPct = 0;
};

struct ZoneConfig {
    std::uint32_t zone = 0; // zone number as the OEM profile numbers it
    std::string name;
    std::vector<std::string> tempSensors; // hottest of these drives the curve
    std::vector<std::string> fanSensors;  // RPM shown for the zone; failure detection
    std::vector<ThermalPoint> curve;      // temperatures strictly increasing, duties non-decreasing
    double hysteresisC = 3.0;
};

struct FencingConfig {
    bool enabled = false;
    BmcEndpoint peer;                   // the PEER host's BMC
    milliseconds delayPerSlot{5000};    // fencing waits localSlot * delayPerSlot first
    milliseconds confirmTimeout{15000}; // how long to wait for "power is off"
};

struct ChassisConfig {
    BmcEndpoint bmc;
    milliseconds statusPoll{1000}; // chassis status (power, reachability)
    milliseconds sensorPoll{2000}; // sensors through libipmimonitoring
    milliseconds retryMin{500};    // backoff after a BMC error, doubling up to retryMax
    milliseconds retryMax{10000};
    milliseconds powerConfirmTimeout{60000}; // requested transition dropped if never confirmed
    milliseconds errorLogInterval{30000};    // identical errors logged at most once per interval
    std::string sdrCacheDir;                 // per instance; required when a BMC is configured
    FanProfileKind fanProfile = FanProfileKind::None;
    std::vector<ZoneConfig> zones;
    unsigned failsafeDutyPct = 100;
    FencingConfig fencing;
    // allow_insecure: accept cipher suite 0 and an empty password (test benches only).
    bool allowInsecure = false;
    // Settings that are accepted but weaken security (suites without integrity or
    // confidentiality, administrator privilege, allow_insecure in use); the daemon logs them.
    std::vector<std::string> warnings;

    bool enabled() const { return bmc.interface != BmcInterface::None; }
};

// Parses the [chassis] table (an empty table means "no BMC": interface none). FILE names the
// configuration file for messages when the nodes carry no source path.
ChassisConfig parseChassisConfig(const toml::table& chassisTable, const std::string& file);

// What an IPMI 2.0 cipher suite (0-17, IPMI v2.0 table 22-20) protects.
struct CipherSuiteInfo {
    bool authentication = false;  // RAKP key exchange authenticated (all but 0)
    bool integrity = false;       // every message carries an integrity code (not 0, 1, 6, 15)
    bool confidentiality = false; // messages encrypted (3-5, 8-10, 12-14, 17)
};
CipherSuiteInfo cipherSuiteInfo(std::uint8_t id);

// Workaround flag names as FreeIPMI's tools spell them (-W): authcap, intel20, supermicro20, sun20,
// opensesspriv, integritycheckvalue, nochecksumcheck (lanplus); assumeio, spinpoll (inband).
bool parseWorkaroundFlag(BmcInterface i, std::string_view name, unsigned& flag);

} // namespace hs::chassis

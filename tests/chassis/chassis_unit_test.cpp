// Pure chassis logic: fan curve and hysteresis, OEM command bytes, [chassis] config validation,
// the command lease.
#include "base/config_error.hpp"
#include "chassis/chassis_config.hpp"
#include "chassis/command_lease.hpp"
#include "chassis/fan_curve.hpp"
#include "chassis/fan_profile.hpp"
#include "chassis/ipmi_error.hpp"
#include "fake_bmc.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <freeipmi/freeipmi.h>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace hs::chassis;

namespace {

const std::vector<ThermalPoint> kCurve = {{30, 20}, {50, 40}, {70, 100}};

std::string tempFile(const std::string& content, unsigned mode) {
    char tmpl[] = "/tmp/hs-chassis-unit.XXXXXX";
    int fd = ::mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    ::close(fd);
    std::ofstream(tmpl) << content;
    ::chmod(tmpl, mode);
    return tmpl;
}

ChassisConfig parse(const std::string& text) {
    toml::table t = toml::parse(text, std::string_view("test.toml"));
    return parseChassisConfig(*t["chassis"].as_table(), "test.toml");
}

std::string parseError(const std::string& text) {
    try {
        parse(text);
    } catch (const hs::ConfigError& e) {
        return e.what();
    }
    return "no error";
}

} // namespace

// ---- Insecure BMC settings (cipher suite, password, privilege, SDR cache directory) ----

namespace {

class ChassisSecurityTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hs-chassis-sec.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        pw = write("pw", "secret\n", 0600);
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::string write(const std::string& name, const std::string& content, unsigned mode) {
        std::string path = dir + "/" + name;
        std::ofstream(path) << content;
        ::chmod(path.c_str(), mode);
        return path;
    }
    // A lanplus [chassis] table (password file on line 7) with EXTRA appended.
    std::string lan(const std::string& extra = "", const std::string& password = "") const {
        return "[chassis]\ninterface = \"lanplus\"\nhost = \"127.0.0.1\"\nuser = \"admin\"\n"
               "sdr_cache_dir = \"" +
               dir + "/sdr\"\npassword_file = \"" + (password.empty() ? pw : password) + "\"\n" +
               extra;
    }
    static bool hasWarning(const ChassisConfig& c, const std::string& part) {
        return std::any_of(c.warnings.begin(), c.warnings.end(), [&part](const std::string& w) {
            return w.find(part) != std::string::npos;
        });
    }
    static std::string firstWarning(const ChassisConfig& c) {
        return c.warnings.empty() ? std::string() : c.warnings.front();
    }

    std::string dir;
    std::string pw;
};

TEST_F(ChassisSecurityTest, PrivilegeDefaultsToTheLeastThatWorks) {
    // Power, status and sensors: OPERATOR.
    ChassisConfig c = parse(lan());
    EXPECT_EQ(c.bmc.privilege, Privilege::Operator);
    EXPECT_TRUE(c.warnings.empty()) << firstWarning(c);
    EXPECT_EQ(BmcEndpoint{}.privilege, Privilege::Operator);
    // OEM fan commands: ADMINISTRATOR, without a warning.
    const std::string fans = "fan_profile = \"supermicro\"\n[[chassis.zone]]\nid = 0\n"
                             "temp_sensors = [\"T\"]\ncurve = [[30, 20], [60, 80]]\n";
    c = parse(lan(fans));
    EXPECT_EQ(c.bmc.privilege, Privilege::Admin);
    EXPECT_TRUE(c.warnings.empty()) << firstWarning(c);
    // An explicit choice is kept; administrator that nothing needs is a warning.
    c = parse(lan("privilege = \"operator\"\n" + fans));
    EXPECT_EQ(c.bmc.privilege, Privilege::Operator);
    c = parse(lan("privilege = \"admin\"\n"));
    EXPECT_EQ(c.bmc.privilege, Privilege::Admin);
    EXPECT_TRUE(hasWarning(c, "test.toml:7: chassis.privilege")) << firstWarning(c);
    // Fencing (a power-off of the peer) defaults to OPERATOR, whatever the fans need.
    c = parse(lan(fans +
                  "[chassis.fencing]\nenabled = true\nhost = \"127.0.0.1\"\n"
                  "user = \"a\"\npassword_file = \"" +
                  pw + "\"\n"));
    EXPECT_EQ(c.fencing.peer.privilege, Privilege::Operator);
    EXPECT_TRUE(c.warnings.empty()) << firstWarning(c);
}

TEST_F(ChassisSecurityTest, CipherSuiteZeroRefusedUnlessAllowed) {
    std::string e = parseError(lan("cipher_suite = 0\n"));
    EXPECT_NE(e.find("test.toml:7: chassis.cipher_suite: 0 has no authentication"),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("allow_insecure"), std::string::npos) << e;
    // The peer's BMC (fencing) is held to the same rule.
    e = parseError(lan("[chassis.fencing]\nenabled = true\nhost = \"127.0.0.1\"\nuser = \"a\"\n"
                       "password_file = \"" +
                       pw + "\"\ncipher_suite = 0\n"));
    EXPECT_NE(e.find("chassis.fencing.cipher_suite: 0 has no authentication"), std::string::npos)
        << e;
    ChassisConfig c = parse(lan("cipher_suite = 0\nallow_insecure = true\n"));
    EXPECT_EQ(c.bmc.cipherSuite, 0);
    EXPECT_TRUE(c.allowInsecure);
    EXPECT_TRUE(hasWarning(c, "chassis.allow_insecure"));
    EXPECT_TRUE(hasWarning(c, "chassis.cipher_suite: 0: no authentication"));
}

TEST_F(ChassisSecurityTest, CipherSuiteTableAndWarnings) {
    // IPMI v2.0 table 22-20: no integrity in 0, 1, 6, 15; confidentiality in 3-5, 8-10, 12-14, 17.
    for (int id = 0; id <= 17; ++id) {
        CipherSuiteInfo i = cipherSuiteInfo(static_cast<std::uint8_t>(id));
        EXPECT_EQ(i.authentication, id != 0) << id;
        EXPECT_EQ(i.integrity, id != 0 && id != 1 && id != 6 && id != 15) << id;
        bool conf =
            (id >= 3 && id <= 5) || (id >= 8 && id <= 10) || (id >= 12 && id <= 14) || id == 17;
        EXPECT_EQ(i.confidentiality, conf) << id;
    }
    for (int id : {1, 6, 15}) {
        ChassisConfig c = parse(lan("cipher_suite = " + std::to_string(id) + "\n"));
        EXPECT_TRUE(hasWarning(c, "no integrity")) << id;
    }
    for (int id : {2, 7, 11, 16}) {
        ChassisConfig c = parse(lan("cipher_suite = " + std::to_string(id) + "\n"));
        EXPECT_TRUE(hasWarning(c, "no confidentiality")) << id;
    }
    for (int id : {3, 8, 12, 17}) {
        ChassisConfig c = parse(lan("cipher_suite = " + std::to_string(id) + "\n"));
        EXPECT_TRUE(c.warnings.empty()) << id << ": " << firstWarning(c);
    }
}

TEST_F(ChassisSecurityTest, EmptyPasswordRefusedUnlessAllowed) {
    for (const char* content : {"", "\n", "  \r\n", "\nsecond-line\n"}) {
        std::string empty = write("empty", content, 0600);
        std::string e = parseError(lan("", empty));
        EXPECT_NE(e.find("chassis.password_file"), std::string::npos) << e;
        EXPECT_NE(e.find("holds no password"), std::string::npos) << e;
        ChassisConfig c = parse(lan("allow_insecure = true\n", empty));
        EXPECT_TRUE(c.bmc.password.empty());
    }
}

TEST_F(ChassisSecurityTest, PasswordFileIsCheckedOnTheOpenFile) {
    std::string link = dir + "/pw-link";
    ASSERT_EQ(::symlink(pw.c_str(), link.c_str()), 0);
    std::string e = parseError(lan("", link));
    EXPECT_NE(e.find("symbolic link"), std::string::npos) << e;
    e = parseError(lan("", write("open", "secret\n", 0644)));
    EXPECT_NE(e.find("0644"), std::string::npos) << e;
    EXPECT_NE(e.find("chmod 600"), std::string::npos) << e;
    e = parseError(lan("", dir));
    EXPECT_NE(e.find("not a regular file"), std::string::npos) << e;
    std::string other = write("other", "secret\n", 0600);
    if (::geteuid() == 0) {
        // A file owned by another user is refused: that user could change the password.
        ASSERT_EQ(::chown(other.c_str(), 4242, 4242), 0);
        e = parseError(lan("", other));
        EXPECT_NE(e.find("owned by uid 4242"), std::string::npos) << e;
    } else {
        ::chmod(other.c_str(), 0000);
        e = parseError(lan("", other));
        EXPECT_NE(e.find("cannot open"), std::string::npos) << e;
    }
    EXPECT_EQ(e.find("secret"), std::string::npos) << "password leaked: " << e;
}

TEST_F(ChassisSecurityTest, PasswordHeldOnceAcrossCopies) {
    ChassisConfig c = parse(lan());
    BmcEndpoint copy = c.bmc;
    EXPECT_EQ(copy.password.view(), "secret");
    EXPECT_EQ(copy.password.c_str(), c.bmc.password.c_str()) << "the copy holds its own bytes";
}

TEST_F(ChassisSecurityTest, SdrCacheDirMustBeTheDaemons) {
    const std::string sdr = dir + "/sdr";
    EXPECT_NO_THROW(parse(lan())); // missing: created 0700 at the first sensor read
    ASSERT_EQ(::mkdir(sdr.c_str(), 0700), 0);
    EXPECT_NO_THROW(parse(lan()));
    ::chmod(sdr.c_str(), 0777);
    std::string e = parseError(lan());
    EXPECT_NE(e.find("chassis.sdr_cache_dir"), std::string::npos) << e;
    EXPECT_NE(e.find("chmod go-w " + sdr), std::string::npos) << e;
    ::chmod(sdr.c_str(), 0700);
    if (::geteuid() == 0) {
        ASSERT_EQ(::chown(sdr.c_str(), 4242, 4242), 0);
        e = parseError(lan());
        EXPECT_NE(e.find("owned by uid 4242"), std::string::npos) << e;
        EXPECT_NE(e.find("chown 0 " + sdr), std::string::npos) << e;
    }
}

} // namespace

TEST(FanCurve, InterpolatesAndClamps) {
    EXPECT_EQ(curveDuty(kCurve, 10), 20u);
    EXPECT_EQ(curveDuty(kCurve, 30), 20u);
    EXPECT_EQ(curveDuty(kCurve, 35), 25u);
    EXPECT_EQ(curveDuty(kCurve, 50), 40u);
    EXPECT_EQ(curveDuty(kCurve, 60), 70u);
    EXPECT_EQ(curveDuty(kCurve, 61), 73u);
    EXPECT_EQ(curveDuty(kCurve, 70), 100u);
    EXPECT_EQ(curveDuty(kCurve, 120), 100u);
    EXPECT_EQ(curveDuty({}, 40), 100u); // no curve: full speed
}

TEST(FanCurve, RisesAtOnceFallsWithHysteresis) {
    ZonePolicy p(kCurve, 3.0);
    EXPECT_EQ(p.update(60), 70u);
    EXPECT_EQ(p.update(58), 70u); // curve(61) = 73 >= 70: hold
    EXPECT_EQ(p.update(57), 70u); // curve(60) = 70: hold
    EXPECT_EQ(p.update(56), 67u); // curve(59) = 67 < 70: come down to it
    EXPECT_EQ(p.update(57), 67u); // rising to curve(57) = 61 < 67: hold
    EXPECT_EQ(p.update(62), 76u); // rising past it: up at once
    EXPECT_EQ(p.update(20), 20u);
}

TEST(FanCurve, HoversWithoutHunting) {
    ZonePolicy p(kCurve, 2.0);
    p.update(55);
    unsigned first = *p.duty();
    for (int i = 0; i < 100; ++i) {
        double t = 55 + ((i % 2) ? 0.9 : -0.9);
        unsigned d = p.update(t);
        EXPECT_GE(d, first - 5);
    }
    // Oscillating by less than the hysteresis never changes the duty after the first rise.
    ZonePolicy q(kCurve, 2.0);
    q.update(55.9);
    unsigned held = *q.duty();
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(q.update((i % 2) ? 55.9 : 54.1), held);
    }
}

TEST(FanCurve, ResetForgetsHistory) {
    ZonePolicy p(kCurve, 5.0);
    p.update(70);
    p.reset();
    EXPECT_FALSE(p.duty());
    EXPECT_EQ(p.update(40), 30u);
}

TEST(FanProfile, SupermicroBytes) {
    auto m = fanManualMode(FanProfileKind::Supermicro);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].netfn, 0x30);
    EXPECT_EQ(m[0].cmd, 0x45);
    EXPECT_EQ(m[0].data, (std::vector<std::uint8_t>{0x01, 0x01}));
    auto a = fanAutoMode(FanProfileKind::Supermicro);
    EXPECT_EQ(a[0].data, (std::vector<std::uint8_t>{0x01, 0x00}));
    auto d = fanZoneDuty(FanProfileKind::Supermicro, 1, 55);
    EXPECT_EQ(d[0].cmd, 0x70);
    EXPECT_EQ(d[0].data, (std::vector<std::uint8_t>{0x66, 0x01, 0x01, 55}));
    EXPECT_EQ(fanZoneDuty(FanProfileKind::Supermicro, 0, 250)[0].data[3], 100); // clamped
}

TEST(FanProfile, DellBytes) {
    auto m = fanManualMode(FanProfileKind::Dell);
    EXPECT_EQ(m[0].cmd, 0x30);
    EXPECT_EQ(m[0].data, (std::vector<std::uint8_t>{0x01, 0x00}));
    EXPECT_EQ(fanAutoMode(FanProfileKind::Dell)[0].data, (std::vector<std::uint8_t>{0x01, 0x01}));
    EXPECT_EQ(fanZoneDuty(FanProfileKind::Dell, 0xff, 30)[0].data,
              (std::vector<std::uint8_t>{0x02, 0xff, 30}));
    EXPECT_TRUE(fanManualMode(FanProfileKind::None).empty());
}

// The error categories are pure (hs_logic); their messages are still FreeIPMI's own texts once
// the I/O side is in use, and the classification does not depend on the texts.
TEST(IpmiErrors, MessagesAreFreeipmisTexts) {
    std::error_code pw = freeipmiError(IPMI_ERR_PASSWORD_INVALID);
    EXPECT_EQ(pw.message(), ipmi_ctx_strerror(IPMI_ERR_PASSWORD_INVALID));
    EXPECT_EQ(classifyAccess(pw), hs::BmcAccess::AuthFailed);
    std::array<char, 256> cc{};
    ASSERT_EQ(ipmi_completion_code_strerror_r(0x01, 0x06, 0xC9, cc.data(), cc.size()), 0);
    EXPECT_EQ(completionCode(0xC9).message(), std::string("completion code 0xC9: ") + cc.data());
    EXPECT_EQ(sessionTimeoutError().message(), ipmi_ctx_strerror(IPMI_ERR_SESSION_TIMEOUT));
    EXPECT_EQ(classifyAccess(sessionTimeoutError()), hs::BmcAccess::Unreachable);
}

TEST(ChassisConfigTest, EmptyTableMeansNoBmc) {
    ChassisConfig c = parseChassisConfig(toml::table{}, "x.toml");
    EXPECT_FALSE(c.enabled());
    EXPECT_EQ(c.failsafeDutyPct, 100u);
    EXPECT_EQ(c.bmc.cipherSuite, 17);
    EXPECT_FALSE(c.fencing.enabled);
}

TEST(ChassisConfigTest, FullLanplusConfig) {
    std::string pw = tempFile("secret\n", 0600);
    ChassisConfig c = parse(R"([chassis]
interface = "lanplus"
host = "127.0.0.1"
port = 6230
user = "admin"
password_file = ")" + pw + R"("
cipher_suite = 3
privilege = "operator"
workaround_flags = ["opensesspriv"]
session_timeout_ms = 2000
retransmission_timeout_ms = 250
sensor_poll_ms = 500
sdr_cache_dir = "/nonexistent-hs/sdr"
fan_profile = "dell"
failsafe_duty_pct = 90
[[chassis.zone]]
id = 0
temp_sensors = ["CPU Temp"]
fan_sensors = ["FAN1"]
curve = [[30, 20], [60.5, 80]]
hysteresis_c = 2.5
[chassis.fencing]
enabled = true
host = "127.0.0.1"
port = 6231
user = "admin"
password_file = ")" + pw + R"("
cipher_suite = 3
delay_per_slot_ms = 1000
)");
    EXPECT_TRUE(c.enabled());
    EXPECT_EQ(c.bmc.password.view(), "secret");
    EXPECT_EQ(c.bmc.target(), "127.0.0.1:6230");
    EXPECT_EQ(c.bmc.cipherSuite, 3);
    EXPECT_EQ(c.bmc.privilege, Privilege::Operator);
    EXPECT_NE(c.bmc.workaroundFlags, 0u);
    EXPECT_EQ(c.bmc.sessionTimeout.count(), 2000);
    EXPECT_EQ(c.fanProfile, FanProfileKind::Dell);
    ASSERT_EQ(c.zones.size(), 1u);
    EXPECT_EQ(c.zones[0].curve[1].tempC, 60.5);
    EXPECT_EQ(c.zones[0].hysteresisC, 2.5);
    EXPECT_TRUE(c.fencing.enabled);
    EXPECT_EQ(c.fencing.peer.port, 6231);
    EXPECT_EQ(c.fencing.delayPerSlot.count(), 1000);
    EXPECT_EQ(c.bmc.describe().find("secret"), std::string::npos);
    ::unlink(pw.c_str());
}

TEST(ChassisConfigTest, RejectsBadSettingsWithFileLineKey) {
    std::string pw = tempFile("secret\n", 0600);
    std::string open = tempFile("secret\n", 0644);
    std::string base = "[chassis]\ninterface = \"lanplus\"\nhost = \"127.0.0.1\"\nuser = "
                       "\"admin\"\nsdr_cache_dir = \"/nonexistent-hs/sdr\"\n";
    EXPECT_NE(parseError(base + "password_file = \"" + open + "\"\n").find("group/world"),
              std::string::npos);
    EXPECT_NE(parseError(base + "password_file = \"/nonexistent/pw\"\n").find("password_file"),
              std::string::npos);
    std::string ok = base + "password_file = \"" + pw + "\"\n";
    EXPECT_EQ(parse(ok).bmc.password.view(), "secret");
    std::string e = parseError(ok + "bogus = 1\n");
    EXPECT_NE(e.find("test.toml:7: chassis.bogus: unknown key"), std::string::npos) << e;
    EXPECT_NE(parseError(ok + "cipher_suite = 5\n").find("not supported"), std::string::npos);
    EXPECT_NE(parseError(ok + "cipher_suite = 18\n").find("out of range"), std::string::npos);
    EXPECT_NE(parseError(ok + "workaround_flags = [\"nope\"]\n").find("workaround"),
              std::string::npos);
    EXPECT_NE(parseError(ok + "session_timeout_ms = 500\nretransmission_timeout_ms = 600\n")
                  .find("shorter than session_timeout_ms"),
              std::string::npos);
    EXPECT_NE(parseError(ok + "fan_profile = \"hp\"\n").find("supermicro, dell, none"),
              std::string::npos);
    EXPECT_NE(parseError(ok + "fan_profile = \"supermicro\"\n").find("zone"), std::string::npos);
    EXPECT_NE(parseError(ok + "fan_profile = \"supermicro\"\n[[chassis.zone]]\nid = 0\n"
                              "temp_sensors = [\"T\"]\ncurve = [[50, 40], [40, 60]]\n")
                  .find("strictly increasing"),
              std::string::npos);
    EXPECT_NE(parseError(ok + "fan_profile = \"supermicro\"\n[[chassis.zone]]\nid = 0\n"
                              "temp_sensors = [\"T\"]\ncurve = [[40, 60], [50, 40]]\n")
                  .find("must not decrease"),
              std::string::npos);
    EXPECT_NE(parseError(ok + "failsafe_duty_pct = 10\n").find("failsafe_duty_pct"),
              std::string::npos);
    EXPECT_NE(parseError("[chassis]\ninterface = \"serial\"\n").find("chassis.interface"),
              std::string::npos);
    EXPECT_NE(parseError("[chassis]\ninterface = \"lanplus\"\nsdr_cache_dir = \"/x\"\n")
                  .find("chassis.host: missing"),
              std::string::npos);
    EXPECT_NE(parseError(ok + "[chassis.fencing]\nenabled = true\nhost = \"127.0.0.1\"\n")
                  .find("chassis.fencing.user"),
              std::string::npos);
    EXPECT_NE(parseError(ok + "[chassis.fencing]\nenabeld = true\n").find("unknown key"),
              std::string::npos);
    ::unlink(pw.c_str());
    ::unlink(open.c_str());
}

// ---- the command lease (virtual time: every question takes `now`) ----

using hs::Duration;
using hs::TimePoint;
using namespace std::chrono_literals;

TEST(CommandLease, LengthIsDetectionMinusIntervalMinusHalfAnInterval) {
    EXPECT_EQ(commandLeaseLength(3, 20ms), 30ms); // 60 - 20 - 10
    EXPECT_EQ(commandLeaseLength(3, 10ms), 15ms);
    EXPECT_EQ(commandLeaseLength(5, 50ms), 175ms); // 250 - 50 - 25
    EXPECT_EQ(commandLeaseLength(2, 20ms), 10ms);
    EXPECT_EQ(commandLeaseLength(2, 1ms), 500us); // short intervals are not clamped up
    // No safe lease exists with one missed interval: clamped, never zero or negative.
    EXPECT_EQ(commandLeaseLength(1, 20ms), kMinCommandLease);
    EXPECT_EQ(commandLeaseLength(0, 20ms), kMinCommandLease);
}

// The guarantee: a lease renewed at a tick (after the heartbeats due then were sent) ends
// before the earliest moment the peer can declare this node lost, for every N >= 2 and interval.
TEST(CommandLease, EndsBeforeThePeerCanDeclareUsLost) {
    for (std::uint32_t n = 2; n <= 10; ++n) {
        for (Duration i : {Duration(100us), Duration(1ms), Duration(5ms), Duration(10ms),
                           Duration(20ms), Duration(50ms), Duration(1000ms)}) {
            TimePoint tick{std::chrono::seconds(100)};
            // Worst case: the last heartbeat on the path left just under one interval before
            // the tick (it was not yet due again at the tick).
            TimePoint lastHeartbeat = tick - i + 1ns;
            TimePoint peerDeclaresLost = lastHeartbeat + n * i;
            CommandLease lease;
            lease.renew(tick + commandLeaseLength(n, i));
            ASSERT_LT(*lease.deadline(), peerDeclaresLost) << "N=" << n << " I=" << i.count();
            ASSERT_GE(peerDeclaresLost - *lease.deadline(), i / 2 - 1ns); // the margin
            EXPECT_FALSE(lease.held(peerDeclaresLost));
            EXPECT_TRUE(lease.held(tick));
        }
    }
}

TEST(CommandLease, ExpiresByItselfAndIsRevokedAtOnce) {
    CommandLease lease;
    TimePoint t0{std::chrono::seconds(10)};
    EXPECT_FALSE(lease.held(t0)); // never granted
    EXPECT_EQ(lease.remaining(t0), Duration::zero());
    lease.renew(t0 + 30ms);
    EXPECT_TRUE(lease.held(t0));
    EXPECT_TRUE(lease.held(t0 + 30ms - 1ns));
    EXPECT_FALSE(lease.held(t0 + 30ms)); // the deadline itself is past the right
    EXPECT_EQ(lease.remaining(t0 + 10ms), 20ms);
    EXPECT_EQ(lease.expiredFor(t0 + 45ms), 15ms);
    // A renewal never shortens it: an older tick's deadline arriving late changes nothing.
    lease.renew(t0 + 50ms);
    lease.renew(t0 + 40ms);
    EXPECT_EQ(*lease.deadline(), t0 + 50ms);
    EXPECT_TRUE(lease.held(t0 + 45ms));
    // Revoked: gone at once, whatever the deadline was; the next renewal grants it again.
    lease.revoke();
    EXPECT_FALSE(lease.held(t0));
    EXPECT_FALSE(lease.deadline().has_value());
    lease.renew(t0 + 5ms);
    EXPECT_TRUE(lease.held(t0));
    EXPECT_EQ(lease.renewals(), 4u);
}

// The core ticking every interval (late by up to half of one, as on a loaded host) keeps the
// lease held without a gap; a stop of the whole process for three detection times leaves it
// expired at the moment any thread runs again, before the core has noticed anything.
TEST(CommandLease, TickingKeepsItHeldAndAStopLetsItExpire) {
    const std::uint32_t n = 3;
    const Duration interval = 20ms;
    const Duration lease = commandLeaseLength(n, interval);
    CommandLease l;
    TimePoint t{std::chrono::seconds(1)};
    const Duration lateness[] = {0ms, 3ms, 9ms, 1ms, 0ms, 9ms, 9ms, 2ms};
    TimePoint scheduled = t;
    for (int k = 0; k < 400; ++k) {
        TimePoint tick = scheduled + lateness[k % 8];
        if (k > 0) {
            ASSERT_TRUE(l.held(tick - 1ns)) << "gap before tick " << k; // no lapse between ticks
        }
        l.renew(tick + lease);
        scheduled += interval;
    }
    TimePoint stoppedAt = scheduled - interval + 1ms; // SIGSTOP just after the last tick
    TimePoint resumedAt = stoppedAt + 3 * n * interval;
    EXPECT_FALSE(l.held(resumedAt));
    EXPECT_GT(l.expiredFor(resumedAt), 100ms);
}

// ---------------------------------------------------------------- the BMC transport and its fake

TEST(FakeBmc, ModelsPowerAndFansBehindTheTransportInterface) {
    test::FakeBmc fake;
    BmcTransport& bmc = fake;
    RawResponse rs;
    ASSERT_FALSE(bmc.raw({kNetfnChassis, kCmdGetChassisStatus, {}, "status"}, rs));
    EXPECT_EQ(rs.cc, 0);
    ASSERT_FALSE(rs.data.empty());
    EXPECT_EQ(rs.data[0] & 0x01, 0);
    const std::uint8_t up[] = {0x01};
    ASSERT_FALSE(bmc.raw(kNetfnChassis, kCmdChassisControl, up, rs));
    EXPECT_TRUE(fake.power);
    for (const RawRequest& rq : fanManualMode(FanProfileKind::Supermicro)) {
        ASSERT_FALSE(bmc.raw(rq, rs));
    }
    for (const RawRequest& rq : fanZoneDuty(FanProfileKind::Supermicro, 1, 55)) {
        ASSERT_FALSE(bmc.raw(rq, rs));
    }
    EXPECT_TRUE(fake.fanManual);
    EXPECT_EQ(fake.duty[1], 55u);
    EXPECT_EQ(fake.changes.size(), 3u);
    EXPECT_EQ(fake.statusReads, 1);
    EXPECT_EQ(bmc.opens(), 1u);

    // A send check that says no: nothing reaches the BMC.
    ASSERT_EQ(
        bmc.raw(fanZoneDuty(FanProfileKind::Supermicro, 1, 90).front(), rs, [] { return false; }),
        std::make_error_code(std::errc::operation_canceled));
    EXPECT_EQ(fake.duty[1], 55u);
    EXPECT_EQ(fake.changes.size(), 3u);
    EXPECT_EQ(fake.refusedBeforeSend, 1);

    // Unknown OEM bytes get a completion code, as a real BMC answers them.
    const std::uint8_t junk[] = {0x09};
    ASSERT_FALSE(bmc.raw(kNetfnOem, 0x45, junk, rs));
    EXPECT_EQ(rs.cc, 0xC1);
}

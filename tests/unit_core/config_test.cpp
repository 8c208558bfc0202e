#include "base/config_error.hpp"
#include "core/config.hpp"
#include "tests/unit_core/test_util.hpp"

#include <gtest/gtest.h>

namespace hs {
namespace {

// Line numbers below refer to this text (line 1 is "[node]").
constexpr const char* kGood = R"([node]
id = 1
slot = 0
state_dir = "@DIR@/state"
key_file = "@DIR@/hb.key"
control_socket = "@DIR@/ctl.sock"
cluster_id = "rack1-mm"
[heartbeat]
interval_ms = 10
miss_threshold = 3
recovery_threshold = 3
init_dead_ms = 2000

[[path]]
name = "net0"
type = "udp"
local = "127.0.0.1:7400"
peer = "127.0.0.1:7401"

[[path]]
name = "serial0"
type = "serial"
device = "/dev/ttyS1"
baud = 115200

[chassis]
host = "10.0.0.9"
)";

class ConfigTest : public ::testing::Test {
  protected:
    void SetUp() override { test::writeFile(dir.path() / "hb.key", "secret-key-bytes\n", 0600); }

    std::string text(const std::string& find = "", const std::string& replace = "") const {
        std::string t = kGood;
        for (auto pos = t.find("@DIR@"); pos != std::string::npos; pos = t.find("@DIR@")) {
            t.replace(pos, 5, dir.path().string());
        }
        if (!find.empty()) {
            auto pos = t.find(find);
            EXPECT_NE(pos, std::string::npos) << find;
            t.replace(pos, find.size(), replace);
        }
        return t;
    }
    Config load(const std::string& content) const {
        test::writeFile(file(), content, 0644);
        return loadConfig(file());
    }
    std::string file() const { return dir.str("hotstandbyd.toml"); }
    // Loads CONTENT, expects a ConfigError and returns its message.
    std::string error(const std::string& content) const {
        try {
            load(content);
        } catch (const ConfigError& e) {
            return e.what();
        }
        ADD_FAILURE() << "no ConfigError for:\n" << content;
        return {};
    }

    test::TempDir dir;
};

TEST_F(ConfigTest, GoodFileParses) {
    Config c = load(text());
    EXPECT_EQ(c.file, file());
    EXPECT_EQ(c.node.id, 1U);
    ASSERT_TRUE(c.node.slot.has_value());
    EXPECT_EQ(*c.node.slot, 0U);
    EXPECT_EQ(c.node.stateDir, dir.path() / "state");
    EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "state"));
    EXPECT_EQ(c.node.logLevel, log::Level::Info);
    EXPECT_EQ(c.node.clusterId, "rack1-mm");
    EXPECT_EQ(c.heartbeat.interval, std::chrono::milliseconds(10));
    EXPECT_EQ(c.heartbeat.missThreshold, 3U);
    EXPECT_EQ(c.heartbeat.initDead, std::chrono::milliseconds(2000));
    EXPECT_FALSE(c.heartbeat.preempt);
    ASSERT_EQ(c.paths.size(), 2U);
    EXPECT_EQ(c.paths[0].link.name, "net0");
    EXPECT_EQ(c.paths[0].link.type, PathType::Udp);
    EXPECT_EQ(c.paths[0].link.localAddress, "127.0.0.1");
    EXPECT_EQ(c.paths[0].link.localPort, 7400);
    EXPECT_EQ(c.paths[0].link.peerPort, 7401);
    EXPECT_EQ(c.paths[0].interval, std::chrono::milliseconds(10));
    EXPECT_EQ(c.paths[1].link.type, PathType::Serial);
    EXPECT_EQ(c.paths[1].link.device, "/dev/ttyS1");
    EXPECT_EQ(c.paths[1].link.baud, 115200U);
    EXPECT_EQ(c.chassis["host"].value_or(std::string()), "10.0.0.9");
    EXPECT_TRUE(c.snmp.empty());
}

TEST_F(ConfigTest, Ipv6TcpAndIntervalOverride) {
    Config c = load(text("type = \"udp\"\nlocal = \"127.0.0.1:7400\"\npeer = \"127.0.0.1:7401\"",
                         "type = \"tcp\"\nlocal = \"[::1]:7400\"\npeer = \"[fe80::2]:7401\"\n"
                         "interval_ms = 50"));
    EXPECT_EQ(c.paths[0].link.type, PathType::Tcp);
    EXPECT_EQ(c.paths[0].link.localAddress, "::1");
    EXPECT_EQ(c.paths[0].link.peerAddress, "fe80::2");
    EXPECT_EQ(c.paths[0].link.peerPort, 7401);
    EXPECT_EQ(c.paths[0].interval, std::chrono::milliseconds(50));
}

TEST_F(ConfigTest, DefaultsWithoutHeartbeatTable) {
    std::string t = text();
    auto from = t.find("[heartbeat]");
    t.erase(from, t.find("[[path]]") - from);
    Config c = load(t);
    EXPECT_EQ(c.heartbeat.interval, std::chrono::milliseconds(10));
    EXPECT_EQ(c.heartbeat.recoveryThreshold, 3U);
    EXPECT_EQ(c.heartbeat.preemptDelay, std::chrono::milliseconds(5000));
}

// The serial path of kGood, and an ether path in its place (same lines: type 22, 23, 24).
constexpr const char* kSerialKeys = "type = \"serial\"\ndevice = \"/dev/ttyS1\"\nbaud = 115200";
#define HS_ETHER(iface, mac) "type = \"ether\"\ninterface = \"" iface "\"\npeer_mac = \"" mac "\""

TEST_F(ConfigTest, EtherPath) {
    Config c = load(text(kSerialKeys, HS_ETHER("eth1.42", "02:00:5E:10:00:02")));
    ASSERT_EQ(c.paths.size(), 2U);
    EXPECT_EQ(c.paths[1].link.type, PathType::Ether);
    EXPECT_EQ(c.paths[1].link.interfaceName, "eth1.42");
    EXPECT_EQ(c.paths[1].link.peerMac, (hb::MacAddress{0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}));
    // ether + serial only (no IP path at all) is a valid pair.
    std::string t = text();
    const auto from = t.find("[[path]]");
    t.erase(from, t.find("[[path]]", from + 1) - from);
    t.insert(t.find("[[path]]"),
             "[[path]]\nname = \"l2\"\n" HS_ETHER("eth1", "02:00:5e:10:00:02") "\n\n");
    c = load(t);
    ASSERT_EQ(c.paths.size(), 2U);
    EXPECT_EQ(c.paths[0].link.type, PathType::Ether);
    EXPECT_EQ(c.paths[1].link.type, PathType::Serial);
}

TEST_F(ConfigTest, FloatingAddresses) {
    Config c = load(text());
    EXPECT_TRUE(c.addresses.empty());
    c = load(text("[chassis]",
                  "[[address]]\naddress = \"192.0.2.10\"\nprefix = 24\ninterface = "
                  "\"eth0\"\n\n[[address]]\naddress = \"2001:db8::10\"\ninterface = "
                  "\"eth0.7\"\nannounce_count = 0\nannounce_interval_ms = 250\n[chassis]"));
    ASSERT_EQ(c.addresses.size(), 2U);
    const AddressConfig& a = c.addresses[0];
    EXPECT_FALSE(a.v6);
    EXPECT_EQ(a.address, "192.0.2.10");
    EXPECT_EQ((std::array<std::uint8_t, 4>{a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]}),
              (std::array<std::uint8_t, 4>{192, 0, 2, 10}));
    EXPECT_EQ(a.prefix, 24);
    EXPECT_EQ(a.interfaceName, "eth0");
    EXPECT_EQ(a.announceCount, 3U); // the defaults
    EXPECT_EQ(a.announceInterval, std::chrono::milliseconds(100));
    const AddressConfig& b = c.addresses[1];
    EXPECT_TRUE(b.v6);
    EXPECT_EQ(b.prefix, 128); // the host prefix by default
    EXPECT_EQ(b.bytes[0], 0x20);
    EXPECT_EQ(b.bytes[15], 0x10);
    EXPECT_EQ(b.announceCount, 0U);
    EXPECT_EQ(b.announceInterval, std::chrono::milliseconds(250));
}

struct BadCase {
    const char* name;
    const char* find;
    const char* replace;
    const char* key;
    int line;
    const char* reason; // a part of the message
};

class ConfigBadTest : public ConfigTest, public ::testing::WithParamInterface<BadCase> {};

TEST_P(ConfigBadTest, RejectedWithFileLineAndKey) {
    const BadCase& c = GetParam();
    std::string msg = error(text(c.find, c.replace));
    std::string where = file() + ":" + std::to_string(c.line) + ": ";
    EXPECT_NE(msg.find(where), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.key), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.reason), std::string::npos) << msg;
}

const BadCase kBadCases[] = {
    {"IntervalLow", "interval_ms = 10", "interval_ms = 4", "heartbeat.interval_ms", 9, "5..10000"},
    {"IntervalHigh", "interval_ms = 10", "interval_ms = 10001", "heartbeat.interval_ms", 9,
     "out of range"},
    {"IntervalFloat", "interval_ms = 10", "interval_ms = 10.5", "heartbeat.interval_ms", 9,
     "expected an integer"},
    {"MissZero", "miss_threshold = 3", "miss_threshold = 0", "heartbeat.miss_threshold", 10,
     "1..100"},
    {"RecoveryHigh", "recovery_threshold = 3", "recovery_threshold = 101",
     "heartbeat.recovery_threshold", 11, "1..100"},
    {"InitDeadShort", "init_dead_ms = 2000", "init_dead_ms = 50", "heartbeat.init_dead_ms", 12,
     "60 ms"},
    {"PreemptType", "init_dead_ms = 2000", "init_dead_ms = 2000\npreempt = \"yes\"",
     "heartbeat.preempt", 13, "expected a boolean"},
    {"PortZero", "127.0.0.1:7400", "127.0.0.1:0", "path[net0].local", 17, "1..65535"},
    {"PortHigh", "127.0.0.1:7401", "127.0.0.1:70000", "path[net0].peer", 18, "1..65535"},
    {"HostName", "127.0.0.1:7400", "example.com:7400", "path[net0].local", 17, "IPv4"},
    {"BadIpv6", "127.0.0.1:7400", "[::zz]:7400", "path[net0].local", 17, "IPv6"},
    {"MixedFamilies", "127.0.0.1:7401", "[::1]:7401", "path[net0].peer", 18, "both"},
    {"BadType", "type = \"udp\"", "type = \"carrier-pigeon\"", "path[net0].type", 16,
     "udp, tcp, serial"},
    {"DeviceOnUdp", "peer = \"127.0.0.1:7401\"", "peer = \"127.0.0.1:7401\"\ndevice = \"/dev/x\"",
     "path[net0].device", 19, "not valid"},
    {"EtherBadMac", kSerialKeys, HS_ETHER("eth1", "02:00:5e:10:00"), "path[serial0].peer_mac", 24,
     "not a MAC address"},
    {"EtherMulticastMac", kSerialKeys, HS_ETHER("eth1", "01:00:5e:00:00:01"),
     "path[serial0].peer_mac", 24, "not a unicast"},
    {"EtherZeroMac", kSerialKeys, HS_ETHER("eth1", "00:00:00:00:00:00"), "path[serial0].peer_mac",
     24, "not a unicast"},
    {"EtherSlashInterface", kSerialKeys, HS_ETHER("eth/1", "02:00:5e:10:00:02"),
     "path[serial0].interface", 23, "not an interface name"},
    {"EtherLongInterface", kSerialKeys, HS_ETHER("abcdefghijklmnop", "02:00:5e:10:00:02"),
     "path[serial0].interface", 23, "1 to 15"},
    {"EtherNoInterface", kSerialKeys, "type = \"ether\"\npeer_mac = \"02:00:5e:10:00:02\"",
     "path[serial0].interface", 20, "missing"},
    {"EtherNoMac", kSerialKeys, "type = \"ether\"\ninterface = \"eth1\"", "path[serial0].peer_mac",
     20, "missing"},
    {"EtherWithBaud", kSerialKeys, HS_ETHER("eth1", "02:00:5e:10:00:02") "\nbaud = 9600",
     "path[serial0].baud", 25, "not valid for an ether path"},
    {"EtherWithPeer", kSerialKeys, HS_ETHER("eth1", "02:00:5e:10:00:02") "\npeer = \"1.2.3.4:5\"",
     "path[serial0].peer", 25, "not valid for an ether path"},
    {"InterfaceOnUdp", "peer = \"127.0.0.1:7401\"",
     "peer = \"127.0.0.1:7401\"\ninterface = \"eth1\"", "path[net0].interface", 19, "not valid"},
    {"MacOnSerial", "baud = 115200", "baud = 115200\npeer_mac = \"02:00:5e:10:00:02\"",
     "path[serial0].peer_mac", 25, "not valid"},
    {"BaudNonStandard", "baud = 115200", "baud = 12345", "path[serial0].baud", 24, "standard"},
    {"SerialTooSlow", "baud = 115200", "baud = 9600", "path[serial0].baud", 24,
     "use baud >= 115200 or interval_ms >= 86"},
    {"DuplicateName", "name = \"serial0\"", "name = \"net0\"", "path[2].name", 21, "duplicate"},
    {"MissingPeer", "peer = \"127.0.0.1:7401\"\n", "", "path[net0].peer", 14, "missing"},
    {"MissingName", "name = \"net0\"\n", "", "path[1].name", 14, "missing"},
    {"MissingId", "id = 1\n", "", "node.id", 1, "missing required key"},
    {"IdType", "id = 1", "id = \"1\"", "node.id", 2, "expected an integer, got string"},
    {"IdZero", "id = 1", "id = 0", "node.id", 2, "out of range"},
    {"UnknownNodeKey", "slot = 0", "slot = 0\nbogus = 2", "node.bogus", 4, "unknown key"},
    {"UnknownPathKey", "baud = 115200", "baud = 115200\nparity = \"even\"", "path[serial0].parity",
     25, "unknown key"},
    {"UnknownTable", "[chassis]", "[bogus]\nx = 1\n[chassis]", "bogus", 26, "unknown table"},
    {"SlotTwo", "slot = 0", "slot = 2", "node.slot", 3, "0..1"},
    {"SlotAndFile", "slot = 0", "slot = 0\nslot_file = \"/tmp/x\"", "node.slot_file", 4,
     "only one"},
    {"BadGpioSpec", "slot = 0", "slot_gpio = \"gpiochip0\"", "node.slot_gpio", 3, "CHIP:LINE"},
    {"LogLevel", "slot = 0", "slot = 0\nlog_level = \"loud\"", "node.log_level", 4, "debug"},
    {"RtPriority", "slot = 0", "slot = 0\nrt_priority = 0", "node.rt_priority", 4, "1..99"},
    {"NoSuchGroup", "slot = 0", "slot = 0\ncontrol_group = \"no-such-group-hs\"",
     "node.control_group", 4, "no such group"},
    {"RelativeSocket", "control_socket = \"", "control_socket = \"rel/", "node.control_socket", 6,
     "absolute"},
    {"KeyMissing", "hb.key", "missing.key", "node.key_file", 5, "No such file"},
    {"StateDirNotCreatable", "state_dir = \"", "state_dir = \"/proc/hs-nope\" # \"",
     "node.state_dir", 4, "cannot create"},
    {"Syntax", "id = 1", "id = = 1", "syntax error", 2, ""},
    {"ClusterIdMissing", "cluster_id = \"rack1-mm\"", "", "node.cluster_id", 1,
     "missing required key"},
    {"ClusterIdEmpty", "cluster_id = \"rack1-mm\"", "cluster_id = \"\"", "node.cluster_id", 7,
     "must not be empty"},
    {"ClusterIdBadChars", "cluster_id = \"rack1-mm\"", "cluster_id = \"rack 1\"", "node.cluster_id",
     7, "letters, digits"},
    {"ClusterIdTooLong", "cluster_id = \"rack1-mm\"",
     "cluster_id = \"0123456789012345678901234567890123456789012345678901234567890123x\"",
     "node.cluster_id", 7, "1 to 64"},
    {"ClusterIdType", "cluster_id = \"rack1-mm\"", "cluster_id = 12", "node.cluster_id", 7,
     "expected a string"},
    {"AddrNotIp", "[chassis]",
     "[[address]]\naddress = \"vip.example\"\ninterface = \"eth0\"\n[chassis]",
     "address[1].address", 27, "not an IPv4 or IPv6 address"},
    {"AddrWithPrefix", "[chassis]",
     "[[address]]\naddress = \"192.0.2.10/24\"\ninterface = \"eth0\"\n[chassis]",
     "address[1].address", 27, "no prefix"},
    {"AddrLoopback", "[chassis]",
     "[[address]]\naddress = \"127.0.0.2\"\ninterface = \"eth0\"\n[chassis]", "address[1].address",
     27, "not a unicast host address"},
    {"AddrMulticast6", "[chassis]",
     "[[address]]\naddress = \"ff02::1\"\ninterface = \"eth0\"\n[chassis]", "address[1].address",
     27, "not a unicast address"},
    {"AddrPrefix4", "[chassis]",
     "[[address]]\naddress = \"192.0.2.10\"\nprefix = 33\ninterface = \"eth0\"\n[chassis]",
     "address[1].prefix", 28, "1..32"},
    {"AddrPrefix6", "[chassis]",
     "[[address]]\naddress = \"2001:db8::10\"\nprefix = 129\ninterface = \"eth0\"\n[chassis]",
     "address[1].prefix", 28, "1..128"},
    {"AddrNoInterface", "[chassis]", "[[address]]\naddress = \"192.0.2.10\"\n[chassis]",
     "address[1].interface", 26, "missing required key"},
    {"AddrBadInterface", "[chassis]",
     "[[address]]\naddress = \"192.0.2.10\"\ninterface = \"eth 0\"\n[chassis]",
     "address[1].interface", 28, "not an interface name"},
    {"AddrAnnounceCount", "[chassis]",
     "[[address]]\naddress = \"192.0.2.10\"\ninterface = \"eth0\"\nannounce_count = 101\n[chassis]",
     "address[1].announce_count", 29, "0..100"},
    {"AddrAnnounceInterval", "[chassis]",
     "[[address]]\naddress = \"192.0.2.10\"\ninterface = \"eth0\"\nannounce_interval_ms = "
     "-1\n[chassis]",
     "address[1].announce_interval_ms", 29, "0..10000"},
    {"AddrUnknownKey", "[chassis]",
     "[[address]]\naddress = \"192.0.2.10\"\ninterface = \"eth0\"\ndev = \"eth0\"\n[chassis]",
     "address[1].dev", 29, "unknown key"},
    {"AddrDuplicate", "[chassis]",
     "[[address]]\naddress = \"2001:db8::a\"\ninterface = \"eth0\"\n[[address]]\naddress = "
     "\"2001:DB8:0::A\"\ninterface = \"eth1\"\n[chassis]",
     "address[2].address", 30, "duplicate floating address"},
    {"AddrNotTables", "[node]\nid = 1", "address = \"192.0.2.10\"\n[node]\nid = 1", "address", 1,
     "expected [[address]] tables"},
};

INSTANTIATE_TEST_SUITE_P(Bad, ConfigBadTest, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(ConfigTest, KeyFileGroupReadableRejected) {
    ::chmod((dir.path() / "hb.key").c_str(), 0640);
    std::string msg = error(text());
    EXPECT_NE(msg.find(file() + ":5: node.key_file"), std::string::npos) << msg;
    EXPECT_NE(msg.find("0640"), std::string::npos) << msg;
    EXPECT_NE(msg.find("chmod 600"), std::string::npos) << msg;
}

TEST_F(ConfigTest, KeyFileSymlinkRejected) {
    ASSERT_EQ(::symlink(dir.str("hb.key").c_str(), dir.str("link.key").c_str()), 0);
    std::string msg = error(text("hb.key", "link.key"));
    EXPECT_NE(msg.find(file() + ":5: node.key_file"), std::string::npos) << msg;
    EXPECT_NE(msg.find("symbolic link"), std::string::npos) << msg;
}

TEST_F(ConfigTest, StateDirWritableByOthersRejected) {
    std::filesystem::create_directory(dir.path() / "state");
    ::chmod((dir.path() / "state").c_str(), 0777);
    std::string msg = error(text());
    EXPECT_NE(msg.find(file() + ":4: node.state_dir"), std::string::npos) << msg;
    EXPECT_NE(msg.find("chmod go-w " + dir.str("state")), std::string::npos) << msg;
    ::chmod((dir.path() / "state").c_str(), 0700);
    EXPECT_NO_THROW(load(text()));
}

TEST_F(ConfigTest, StateDirOfAnotherUserRejected) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to give the directory to another user";
    }
    std::filesystem::create_directory(dir.path() / "state");
    ASSERT_EQ(::chown((dir.path() / "state").c_str(), 4242, 4242), 0);
    std::string msg = error(text());
    EXPECT_NE(msg.find(file() + ":4: node.state_dir"), std::string::npos) << msg;
    EXPECT_NE(msg.find("owned by uid 4242"), std::string::npos) << msg;
    EXPECT_NE(msg.find("chown 0 " + dir.str("state")), std::string::npos) << msg;
}

TEST_F(ConfigTest, ZeroPathsRejected) {
    std::string t = text();
    t.erase(t.find("[[path]]"), t.find("[chassis]") - t.find("[[path]]"));
    std::string msg = error(t);
    EXPECT_NE(msg.find(file()), std::string::npos) << msg;
    EXPECT_NE(msg.find("path"), std::string::npos) << msg;
    EXPECT_NE(msg.find("at least one"), std::string::npos) << msg;
    msg = error("path = []\n" + t);
    EXPECT_NE(msg.find(file() + ":1: path"), std::string::npos) << msg;
}

TEST_F(ConfigTest, MissingNodeTableRejected) {
    std::string t = text();
    t.erase(0, t.find("[heartbeat]"));
    std::string msg = error(t);
    EXPECT_NE(msg.find(file() + ": node"), std::string::npos) << msg;
}

TEST_F(ConfigTest, ChassisMustBeTable) {
    std::string t = text("[chassis]\nhost = \"10.0.0.9\"\n", "");
    std::string msg = error("chassis = 3\n" + t);
    EXPECT_NE(msg.find(file() + ":1: chassis: expected a table"), std::string::npos) << msg;
}

TEST_F(ConfigTest, UnreadableFileNamed) {
    try {
        loadConfig(dir.str("nope.toml"));
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("nope.toml"), std::string::npos);
    }
}

TEST(SerialTiming, FrameTimeAt115200) {
    EXPECT_EQ(serialFrameTime(115200).count(), 7119); // rounded up
    EXPECT_TRUE(isStandardBaud(9600));
    EXPECT_FALSE(isStandardBaud(9601));
}

TEST(HostPort, Parses) {
    std::string host, why;
    std::uint16_t port = 0;
    EXPECT_TRUE(parseHostPort("192.0.2.1:7400", host, port, why));
    EXPECT_EQ(host, "192.0.2.1");
    EXPECT_EQ(port, 7400);
    EXPECT_TRUE(parseHostPort("[2001:db8::1]:1", host, port, why));
    EXPECT_EQ(host, "2001:db8::1");
    EXPECT_FALSE(parseHostPort("192.0.2.1", host, port, why));
    EXPECT_FALSE(parseHostPort("192.0.2.1:", host, port, why));
    EXPECT_FALSE(parseHostPort("192.0.2.1:12a", host, port, why));
    EXPECT_FALSE(parseHostPort("[::1]7400", host, port, why));
}

} // namespace
} // namespace hs

namespace hs {
namespace {

// The shipped example parses (with its paths pointed into a temp dir).
TEST_F(ConfigTest, ShippedExampleParses) {
    std::string t = test::readFile(std::string(HS_SOURCE_DIR) + "/etc/hotstandbyd.toml");
    auto set = [&t](const std::string& key, const std::string& value) {
        auto pos = t.find(key + " = \"");
        ASSERT_NE(pos, std::string::npos) << key;
        t.replace(pos, t.find('\n', pos) - pos, key + " = \"" + value + "\"");
    };
    set("state_dir", dir.str("state"));
    set("key_file", dir.str("hb.key"));
    Config c = load(t);
    EXPECT_EQ(c.paths.size(), 2U);
    EXPECT_EQ(c.node.controlSocket, "/run/hotstandby/hotstandbyd.sock");
}

} // namespace
} // namespace hs

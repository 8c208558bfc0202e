// The one validation the daemon is built from: readConfig() + validate() read the key file and the
// slot source and parse [chassis] and [snmp], and write nothing.
#include "base/config_error.hpp"
#include "daemon/validated_config.hpp"
#include "tests/unit_core/test_util.hpp"

#include <gtest/gtest.h>

namespace hs {
namespace {

class ValidatedConfigTest : public ::testing::Test {
  protected:
    void SetUp() override {
        test::writeFile(dir.path() / "hb.key", "secret-key-bytes-of-the-pair\n", 0600);
        test::writeFile(dir.path() / "slot", "1\n", 0644);
    }
    // A configuration whose state_dir does not exist; EXTRA is appended.
    std::string text(const std::string& extra = "") const {
        return "[node]\nid = 2\nslot_file = \"" + dir.str("slot") + "\"\nstate_dir = \"" +
               dir.str("new/state") + "\"\nkey_file = \"" + dir.str("hb.key") +
               "\"\ncluster_id = \"rack1-mm\"\ncontrol_socket = \"" + dir.str("ctl.sock") +
               "\"\n\n[[path]]\nname = \"net0\"\ntype = \"udp\"\nlocal = \"127.0.0.1:7400\"\n"
               "peer = \"127.0.0.1:7401\"\n" +
               extra;
    }
    ValidatedConfig check(const std::string& content) const {
        test::writeFile(file(), content, 0644);
        return validate(readConfig(file()));
    }
    std::string error(const std::string& content) const {
        try {
            check(content);
        } catch (const ConfigError& e) {
            return e.what();
        }
        ADD_FAILURE() << "no ConfigError for:\n" << content;
        return {};
    }
    std::string file() const { return dir.str("hotstandbyd.toml"); }

    test::TempDir dir;
};

TEST_F(ValidatedConfigTest, GoodConfigGivesEverythingTheDaemonNeedsAndWritesNothing) {
    ValidatedConfig v = check(text("[snmp]\nenabled = false\n"));
    EXPECT_EQ(v.cfg.node.id, 2U);
    EXPECT_EQ(v.slot, 1U); // from slot_file
    EXPECT_FALSE(v.key.fingerprint().empty());
    EXPECT_FALSE(v.chassis.enabled());
    EXPECT_FALSE(v.snmp.enabled);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "new")) << "validation created state_dir";
}

TEST_F(ValidatedConfigTest, PrepareStateDirCreatesItPrivate) {
    ValidatedConfig v = check(text());
    prepareStateDir(v.cfg);
    struct stat st {};
    ASSERT_EQ(::stat(dir.str("new/state").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700U);
}

TEST_F(ValidatedConfigTest, StateDirUnderAFileRejected) {
    test::writeFile(dir.path() / "new", "not a directory\n", 0644);
    std::string msg = error(text());
    EXPECT_NE(msg.find(file() + ":4: node.state_dir"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cannot create"), std::string::npos) << msg;
}

TEST_F(ValidatedConfigTest, SnmpErrorsStopValidation) {
    std::string msg = error(text("[snmp]\nbogus = 1\n"));
    EXPECT_NE(msg.find("snmp.bogus"), std::string::npos) << msg;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "new"));
}

TEST_F(ValidatedConfigTest, ChassisErrorsStopValidation) {
    std::string msg = error(text("[chassis]\nbogus_key = 1\n"));
    EXPECT_NE(msg.find("chassis.bogus_key"), std::string::npos) << msg;
}

TEST_F(ValidatedConfigTest, BadSlotFileStopsValidation) {
    test::writeFile(dir.path() / "slot", "7\n", 0644);
    EXPECT_THROW(check(text()), std::exception);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "new"));
}

} // namespace
} // namespace hs

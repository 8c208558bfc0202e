// Secrets in memory (held once, move-only, wiped) and the checks on the files and directories the
// daemon trusts.
#include "base/secret.hpp"
#include "tests/unit_core/test_util.hpp"

#include <gtest/gtest.h>
#include <type_traits>

namespace hs {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);

TEST(SecretBytes, MoveLeavesSourceEmptyAndKeepsTheBuffer) {
    SecretBytes a(std::string_view("hunter2"));
    const char* buffer = a.c_str();
    SecretBytes b(std::move(a));
    EXPECT_TRUE(a.empty()); // NOLINT(bugprone-use-after-move)
    EXPECT_STREQ(a.c_str(), "");
    EXPECT_EQ(b.view(), "hunter2");
    EXPECT_EQ(b.c_str(), buffer) << "a move must not copy the secret";
    SecretBytes c;
    c = std::move(b);
    EXPECT_EQ(c.c_str(), buffer);
    EXPECT_TRUE(b.empty()); // NOLINT(bugprone-use-after-move)
}

TEST(SecretBytes, TruncateWipesTheTail) {
    SecretBytes s(std::string_view("password\nsecond line"));
    const char* p = s.c_str();
    s.truncate(8);
    EXPECT_EQ(s.view(), "password");
    for (std::size_t i = 8; i < 20; ++i) {
        EXPECT_EQ(p[i], '\0') << i;
    }
}

TEST(SharedSecret, CopiesShareOneBuffer) {
    SharedSecret a(SecretBytes(std::string_view("secret")));
    SharedSecret b = a;
    EXPECT_EQ(b.view(), "secret");
    EXPECT_EQ(a.c_str(), b.c_str());
    EXPECT_STREQ(SharedSecret().c_str(), "");
    EXPECT_TRUE(SharedSecret().empty());
}

class SecretFile : public ::testing::Test {
  protected:
    std::string write(const std::string& name, const std::string& content, mode_t mode) {
        test::writeFile(dir.path() / name, content, mode);
        return dir.str(name);
    }
    test::TempDir dir;
};

TEST_F(SecretFile, ReadsARegularPrivateFile) {
    std::string err;
    SecretBytes s = readSecretFile(write("k", "abc\n", 0600), "key file", 64, err);
    EXPECT_TRUE(err.empty()) << err;
    EXPECT_EQ(s.view(), "abc\n");
    s = readSecretFile(write("big", std::string(65, 'x'), 0600), "key file", 64, err);
    EXPECT_NE(err.find("larger than 64"), std::string::npos) << err;
    EXPECT_TRUE(s.empty());
}

TEST_F(SecretFile, SymlinkRefused) {
    const std::string target = write("real", "abc", 0600);
    ASSERT_EQ(::symlink(target.c_str(), dir.str("link").c_str()), 0);
    std::string err;
    EXPECT_LT(openSecretFile(dir.str("link"), "key file", err), 0);
    EXPECT_EQ(err.rfind("key file " + dir.str("link") + ": is a symbolic link", 0), 0u) << err;
}

TEST_F(SecretFile, GroupOrOtherBitsRefused) {
    for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0610, 0601}) {
        std::string err;
        const std::string path = write("m" + std::to_string(mode), "abc", mode);
        EXPECT_LT(openSecretFile(path, "password file", err), 0) << mode;
        EXPECT_NE(err.find("chmod 600 " + path), std::string::npos) << err;
    }
    for (mode_t mode : {0600, 0400}) {
        std::string err;
        const int fd = openSecretFile(write("ok", "abc", mode), "password file", err);
        EXPECT_GE(fd, 0) << err;
        ::close(fd);
    }
}

TEST_F(SecretFile, OwnerMustBeTheDaemonOrRoot) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to give a file to another user";
    }
    const std::string path = write("k", "abc", 0600);
    ASSERT_EQ(::chown(path.c_str(), 4242, 4242), 0);
    std::string err;
    EXPECT_LT(openSecretFile(path, "key file", err), 0);
    EXPECT_NE(err.find("owned by uid 4242"), std::string::npos) << err;
}

TEST_F(SecretFile, NotRegularOrMissing) {
    std::string err;
    ::chmod(dir.path().c_str(), 0700);
    EXPECT_LT(openSecretFile(dir.path().string(), "key file", err), 0);
    EXPECT_NE(err.find("not a regular file"), std::string::npos) << err;
    EXPECT_LT(openSecretFile(dir.str("missing"), "key file", err), 0);
    EXPECT_NE(err.find("No such file"), std::string::npos) << err;
}

TEST(PrivateDir, OwnerAndModeChecked) {
    test::TempDir dir;
    EXPECT_EQ(checkPrivateDir(dir.path()), ""); // 0755, ours
    ::chmod(dir.path().c_str(), 0775);
    std::string why = checkPrivateDir(dir.path());
    EXPECT_NE(why.find("writable by group/other (mode 0775)"), std::string::npos) << why;
    EXPECT_NE(why.find("chmod go-w " + dir.path().string()), std::string::npos) << why;
    ::chmod(dir.path().c_str(), 01777);
    EXPECT_NE(checkPrivateDir(dir.path()), "");
    ::chmod(dir.path().c_str(), 0700);
    EXPECT_EQ(checkPrivateDir(dir.path()), "");
    test::writeFile(dir.path() / "f", "x");
    EXPECT_NE(checkPrivateDir(dir.path() / "f").find("not a directory"), std::string::npos);
    if (::geteuid() == 0) {
        ASSERT_EQ(::chown(dir.path().c_str(), 4242, 4242), 0);
        why = checkPrivateDir(dir.path());
        EXPECT_NE(why.find("owned by uid 4242"), std::string::npos) << why;
        EXPECT_NE(why.find("chown 0 " + dir.path().string()), std::string::npos) << why;
        ASSERT_EQ(::chown(dir.path().c_str(), 0, 0), 0);
    }
}

} // namespace
} // namespace hs

#include "daemon/state_files.hpp"
#include "tests/unit_core/test_util.hpp"

#include <gtest/gtest.h>
#include <optional>
#include <sys/stat.h>

namespace hs {
namespace {

mode_t modeOf(const std::filesystem::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 07777;
}

TEST(StateFiles, FirstStartAndIncarnationRaises) {
    test::TempDir dir;
    StateFiles a(dir.path());
    a.load();
    EXPECT_EQ(a.epoch(), 0U);
    EXPECT_EQ(a.incarnation(), 1U);
    EXPECT_EQ(test::readFile(a.incarnationFile()), "1\n");
    EXPECT_EQ(modeOf(a.incarnationFile()), 0600U);
    StateFiles b(dir.path());
    b.load();
    EXPECT_EQ(b.incarnation(), 2U);
}

TEST(StateFiles, EpochRoundTrip) {
    test::TempDir dir;
    StateFiles a(dir.path());
    a.load();
    ASSERT_FALSE(a.persistEpoch(42));
    ASSERT_FALSE(a.persistEpoch(18446744073709551615ULL));
    EXPECT_EQ(modeOf(a.epochFile()), 0600U);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "epoch.tmp"));
    StateFiles b(dir.path());
    b.load();
    EXPECT_EQ(b.epoch(), 18446744073709551615ULL);
}

TEST(StateFiles, PeerIncarnationRoundTrip) {
    test::TempDir dir;
    StateFiles a(dir.path());
    a.load();
    a.loadPeerIncarnation();
    EXPECT_EQ(a.peerIncarnation(), 0U) << "missing file: none known";
    asio::io_context core;
    {
        EpochPersister persister(core, a);
        std::optional<std::uint32_t> done;
        persister.persistPeerIncarnation(9, [&done](std::uint32_t inc, std::error_code ec) {
            EXPECT_FALSE(ec);
            done = inc;
        });
        auto guard = asio::make_work_guard(core);
        for (int i = 0; i < 500 && !done; ++i) {
            core.run_for(std::chrono::milliseconds(10));
        }
        ASSERT_TRUE(done);
        EXPECT_EQ(*done, 9U);
    }
    EXPECT_EQ(test::readFile(a.peerIncarnationFile()), "9\n");
    EXPECT_EQ(modeOf(a.peerIncarnationFile()), 0600U);
    StateFiles b(dir.path());
    b.load();
    b.loadPeerIncarnation();
    EXPECT_EQ(b.peerIncarnation(), 9U);
    test::writeFile(a.peerIncarnationFile(), "nine\n");
    StateFiles c(dir.path());
    EXPECT_THROW(c.loadPeerIncarnation(), StateError);
}

TEST(StateFiles, AtomicWriteReplacesWholeFile) {
    test::TempDir dir;
    auto f = dir.path() / "x";
    test::writeFile(f, "old content that is long\n", 0644);
    ASSERT_FALSE(writeFileAtomic(f, "7\n"));
    EXPECT_EQ(test::readFile(f), "7\n");
    EXPECT_EQ(modeOf(f), 0600U);
    EXPECT_TRUE(writeFileAtomic(dir.path() / "no-such-dir" / "x", "1"));
}

class CorruptEpoch : public ::testing::TestWithParam<const char*> {};

TEST_P(CorruptEpoch, IsAnErrorNeverZero) {
    test::TempDir dir;
    test::writeFile(dir.path() / "epoch", GetParam());
    StateFiles s(dir.path());
    try {
        s.load();
        FAIL() << "loaded a corrupt epoch as " << s.epoch();
    } catch (const StateError& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find((dir.path() / "epoch").string()), std::string::npos) << msg;
        EXPECT_NE(msg.find("corrupt"), std::string::npos) << msg;
    }
}

INSTANTIATE_TEST_SUITE_P(Values, CorruptEpoch,
                         ::testing::Values("", "\n", "abc\n", "12x\n", "-1\n", "1 2\n",
                                           "99999999999999999999999\n"));

TEST(StateFiles, CorruptIncarnationIsAnError) {
    test::TempDir dir;
    test::writeFile(dir.path() / "incarnation", "4294967295\n"); // would wrap
    StateFiles s(dir.path());
    EXPECT_THROW(s.load(), StateError);
}

TEST(EpochPersister, PostsCompletionToCore) {
    test::TempDir dir;
    StateFiles files(dir.path());
    files.load();
    asio::io_context core;
    std::vector<std::pair<std::uint64_t, std::error_code>> done;
    std::thread::id doneThread;
    {
        EpochPersister persister(core, files);
        for (std::uint64_t e : {3, 4, 5}) {
            persister.persist(e, [&](std::uint64_t epoch, std::error_code ec) {
                done.emplace_back(epoch, ec);
                doneThread = std::this_thread::get_id();
            });
        }
        EXPECT_TRUE(done.empty()); // never inline
        auto guard = asio::make_work_guard(core);
        for (int i = 0; i < 500 && done.size() < 3; ++i) {
            core.run_for(std::chrono::milliseconds(10));
        }
    }
    ASSERT_EQ(done.size(), 3U);
    EXPECT_EQ(done[0].first, 3U);
    EXPECT_EQ(done[2].first, 5U);
    EXPECT_FALSE(done[2].second);
    EXPECT_EQ(doneThread, std::this_thread::get_id());
    EXPECT_EQ(test::readFile(files.epochFile()), "5\n");
}

TEST(EpochPersister, ReportsWriteErrors) {
    test::TempDir dir;
    StateFiles files(dir.path() / "gone");
    asio::io_context core;
    std::optional<std::error_code> result;
    EpochPersister persister(core, files);
    persister.persist(9, [&](std::uint64_t, std::error_code ec) { result = ec; });
    auto guard = asio::make_work_guard(core);
    for (int i = 0; i < 500 && !result; ++i) {
        core.run_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(*result);
}

} // namespace
} // namespace hs

namespace hs {
namespace {

TEST(StateFiles, CorruptFileIsItsOwnError) {
    test::TempDir dir;
    test::writeFile(dir.path() / "epoch", "12x\n");
    StateFiles s(dir.path());
    EXPECT_THROW(s.load(), CorruptStateError);
}

TEST(WriteFileAtomic, SymlinkAtTempPathIsNotFollowed) {
    test::TempDir dir;
    test::TempDir elsewhere;
    const auto victim = elsewhere.path() / "victim";
    test::writeFile(victim, "precious\n", 0644);
    const auto file = dir.path() / "epoch";
    ASSERT_EQ(::symlink(victim.c_str(), (dir.path() / "epoch.tmp").c_str()), 0);
    ASSERT_FALSE(writeFileAtomic(file, "7\n"));
    EXPECT_EQ(test::readFile(victim), "precious\n") << "wrote through a symlink";
    EXPECT_EQ(modeOf(victim), 0644U);
    struct stat st {};
    ASSERT_EQ(::lstat(file.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << "the file became a symlink";
    EXPECT_EQ(test::readFile(file), "7\n");
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "epoch.tmp"));
}

TEST(WriteFileAtomic, StaleTempFileIsReplaced) {
    test::TempDir dir;
    test::writeFile(dir.path() / "x.tmp", "half-written garbage", 0644);
    ASSERT_FALSE(writeFileAtomic(dir.path() / "x", "9\n"));
    EXPECT_EQ(test::readFile(dir.path() / "x"), "9\n");
    EXPECT_EQ(modeOf(dir.path() / "x"), 0600U);
}

TEST(StateFiles, SymlinkedStateFileIsNotFollowed) {
    test::TempDir dir;
    test::TempDir elsewhere;
    test::writeFile(elsewhere.path() / "epoch", "5\n");
    ASSERT_EQ(::symlink((elsewhere.path() / "epoch").c_str(), (dir.path() / "epoch").c_str()), 0);
    StateFiles s(dir.path());
    EXPECT_THROW(s.load(), StateError);
}

} // namespace
} // namespace hs

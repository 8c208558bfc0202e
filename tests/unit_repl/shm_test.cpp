// The shared-memory layout and seqlock: written by the C++ writer, read by a reader written in C
// against repl/hs_shm.h alone (shm_reader.c), on plain memory and through a real POSIX mapping.
#include "repl/shm_writer.hpp"
#include "shm_reader.h"

#include <atomic>
#include <gtest/gtest.h>
#include <thread>
#include <unistd.h>

using namespace hs;
using namespace hs::repl;

namespace {

Store sample() {
    Store s;
    s.beginTerm(3, 10);
    s.put(0, FanModeRecord{FanMode::Manual});
    s.put(1, FanFloorRecord{std::uint8_t{35}});
    s.put(2, FanFloorRecord{std::nullopt});
    s.append(JournalRecord{100, SwitchoverReason::PeerLost, Role::Standby, Role::Active, 3, 2, 17});
    s.put(1, SensorRecord{40.5, true, SensorState::Nominal, 1});
    s.put(2, SensorRecord{1.5, true, SensorState::Nominal, 1});
    s.put(0, BmcRecord{BmcAccess::Unreachable, "connection timed out"});
    return s;
}

} // namespace

TEST(ReplShm, CReaderSeesWhatTheWriterPublished) {
    std::vector<std::uint8_t> buf(hs_shm_bytes(64));
    ASSERT_TRUE(shmInit(buf, 64));
    hs_test_summary sum{};
    ASSERT_EQ(hs_test_summarise(buf.data(), buf.size(), &sum), 0);
    EXPECT_EQ(sum.count, 0u);
    const Store s = sample();
    ASSERT_TRUE(shmPublish(buf, s, ShmStatus{Role::Active, Readiness::Hot, 0, 1234}));
    ASSERT_EQ(hs_test_summarise(buf.data(), buf.size(), &sum), 0);
    EXPECT_EQ(sum.count, s.size());
    EXPECT_EQ(sum.generation, 1u);
    EXPECT_EQ(sum.epoch, 3u);
    EXPECT_EQ(sum.seq_ordered, s.lastSeq(Stream::Ordered));
    EXPECT_EQ(sum.seq_telemetry, s.lastSeq(Stream::Telemetry));
    EXPECT_EQ(sum.role, 2u);
    EXPECT_EQ(sum.readiness, 2u);
    EXPECT_EQ(sum.fan_mode, 2);
    EXPECT_EQ(sum.floor[1], 35);
    EXPECT_EQ(sum.floor[2], -1); // cleared
    EXPECT_EQ(sum.floor[0], -2); // no record
    EXPECT_EQ(sum.journal_rows, 1u);
    EXPECT_EQ(sum.last_journal_lag_ms, 17);
    EXPECT_DOUBLE_EQ(sum.sensor_sum, 42.0);
    EXPECT_STREQ(sum.bmc_error, "connection timed out");
    EXPECT_EQ(sum.truncated, 0u);
}

TEST(ReplShm, ReaderRefusesAnotherLayout) {
    std::vector<std::uint8_t> buf(hs_shm_bytes(4));
    hs_test_summary sum{};
    EXPECT_EQ(hs_test_summarise(buf.data(), buf.size(), &sum), HS_SHM_EMAGIC);
    ASSERT_TRUE(shmInit(buf, 4));
    auto* h = reinterpret_cast<hs_shm_header*>(buf.data());
    h->version = 2;
    EXPECT_EQ(hs_test_summarise(buf.data(), buf.size(), &sum), HS_SHM_EVERSION);
    h->version = HS_SHM_VERSION;
    h->record_size = 100;
    EXPECT_EQ(hs_test_summarise(buf.data(), buf.size(), &sum), HS_SHM_ELAYOUT);
    h->record_size = sizeof(hs_shm_record);
    EXPECT_EQ(hs_test_summarise(buf.data(), buf.size() - 1, &sum), HS_SHM_ETOOSMALL);
    EXPECT_FALSE(shmInit(std::span(buf).first(buf.size() - 1), 4));
}

TEST(ReplShm, CapacityTruncatesAndSaysSo) {
    std::vector<std::uint8_t> buf(hs_shm_bytes(3));
    ASSERT_TRUE(shmInit(buf, 3));
    ASSERT_TRUE(shmPublish(buf, sample(), ShmStatus{}));
    hs_test_summary sum{};
    ASSERT_EQ(hs_test_summarise(buf.data(), buf.size(), &sum), 0);
    EXPECT_EQ(sum.count, 3u);
    EXPECT_EQ(sum.truncated, 1u);
}

TEST(ReplShm, OddSeqlockMeansBusy) {
    std::vector<std::uint8_t> buf(hs_shm_bytes(4));
    ASSERT_TRUE(shmInit(buf, 4));
    auto* h = reinterpret_cast<hs_shm_header*>(buf.data());
    h->seqlock |= 1u; // a writer that stopped mid-write
    hs_test_summary sum{};
    EXPECT_EQ(hs_test_summarise(buf.data(), buf.size(), &sum), HS_SHM_EBUSY);
}

TEST(ReplShm, ReadsAreNeverTornWhileTheWriterWrites) {
    // The writer publishes stores whose 40 floors all hold one value per generation; every read
    // the C reader accepts must show one value throughout.
    std::vector<std::uint8_t> buf(hs_shm_bytes(64));
    ASSERT_TRUE(shmInit(buf, 64));
    std::atomic<bool> stop{false};
    Store a;
    Store b;
    a.beginTerm(1, 1);
    b.beginTerm(1, 1);
    for (std::uint32_t z = 0; z < 40; ++z) {
        a.put(z, FanFloorRecord{std::uint8_t{10}});
        b.put(z, FanFloorRecord{std::uint8_t{90}});
    }
    std::thread writer([&] {
        for (std::uint64_t g = 0; !stop.load(std::memory_order_relaxed); ++g)
            shmPublish(buf, g % 2 == 0 ? a : b, ShmStatus{});
    });
    for (int i = 0; i < 20000; ++i) {
        hs_test_summary sum{};
        const int rc = hs_test_summarise(buf.data(), buf.size(), &sum);
        if (rc == HS_SHM_EBUSY)
            continue; // the reader gave up this time: allowed, a torn copy is not
        ASSERT_EQ(rc, 0);
        ASSERT_EQ(sum.floors_equal, 1) << "torn read at generation " << sum.generation;
    }
    stop = true;
    writer.join();
    hs_test_summary last{};
    ASSERT_EQ(hs_test_summarise(buf.data(), buf.size(), &last), 0);
    EXPECT_EQ(last.floors_equal, 1);
    EXPECT_EQ(last.count, 40u);
}

TEST(ReplShm, NamedRegionIsReadableByAnotherMapping) {
    const std::string name = "/hs-repl-test-" + std::to_string(::getpid());
    std::string error;
    auto region = ShmRegion::create(name, 32, error);
    ASSERT_TRUE(region.valid()) << error;
    ASSERT_TRUE(
        shmPublish(region.bytes(), sample(), ShmStatus{Role::Standby, Readiness::Syncing, 5, 9}));
    hs_test_summary sum{};
    const int rc = hs_test_summarise_named(name.c_str(), &sum);
    ShmRegion::unlink(name);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(sum.role, 1u);
    EXPECT_EQ(sum.readiness, 1u);
    EXPECT_EQ(sum.floor[1], 35);
}

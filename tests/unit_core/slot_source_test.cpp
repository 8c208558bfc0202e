#include "daemon/slot_source.hpp"
#include "tests/unit_core/test_util.hpp"

#include <gtest/gtest.h>

namespace hs {
namespace {

TEST(SlotSource, FromFile) {
    test::TempDir dir;
    auto f = dir.path() / "value";
    test::writeFile(f, "1\n");
    EXPECT_EQ(readSlotFile(f.string()), 1U);
    test::writeFile(f, "0");
    EXPECT_EQ(readSlotFile(f.string()), 0U);
    NodeConfig n;
    n.slotFile = f.string();
    EXPECT_EQ(resolveSlot(n), 0U);
}

TEST(SlotSource, BadFileValues) {
    test::TempDir dir;
    auto f = dir.path() / "value";
    for (const char* bad : {"", "2\n", "x\n", "01x", "-1"}) {
        test::writeFile(f, bad);
        try {
            readSlotFile(f.string());
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const SlotError& e) {
            EXPECT_NE(std::string(e.what()).find(f.string()), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("expected 0 or 1"), std::string::npos);
        }
    }
}

TEST(SlotSource, MissingFileNamed) {
    try {
        readSlotFile("/nonexistent/hs/slot");
        FAIL();
    } catch (const SlotError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/hs/slot"), std::string::npos);
    }
}

TEST(SlotSource, ConfigValueWins) {
    NodeConfig n;
    n.slot = 1;
    EXPECT_EQ(resolveSlot(n), 1U);
    EXPECT_THROW(resolveSlot(NodeConfig{}), SlotError);
}

TEST(SlotSource, GpioErrorsAreClear) {
    try {
        readSlotGpio("no-such-chip-hs:3");
        FAIL();
    } catch (const SlotError& e) {
        EXPECT_NE(std::string(e.what()).find("no-such-chip-hs"), std::string::npos) << e.what();
    }
    EXPECT_THROW(readSlotGpio("gpiochip0"), SlotError);
    EXPECT_THROW(readSlotGpio("gpiochip0:x"), SlotError);
}

} // namespace
} // namespace hs

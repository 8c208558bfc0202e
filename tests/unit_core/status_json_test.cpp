#include "daemon/status_json.hpp"
#include "tests/unit_core/sample_snapshot.hpp"

#include <gtest/gtest.h>

namespace hs {
namespace {

TEST(StatusJson, SnakeCase) {
    EXPECT_EQ(snakeCase("adminDown"), "admin_down");
    EXPECT_EQ(snakeCase("ACTIVE"), "active");
    EXPECT_EQ(snakeCase("notRedundant"), "not_redundant");
    EXPECT_EQ(snakeCase("up"), "up");
}

TEST(StatusJson, StatusHasTheContractFields) {
    auto j = toJson(test::sampleSnapshot());
    EXPECT_EQ(j["role"], "active");
    EXPECT_EQ(j["epoch"], 7);
    EXPECT_EQ(j["unconfirmed"], false);
    EXPECT_EQ(j["state_dir_writable"], true);
    EXPECT_EQ(j["state_dir_error"], "");
    EXPECT_EQ(j["redundancy"], "degraded");
    EXPECT_EQ(j["switchover_count"], 2);
    EXPECT_EQ(j["peer"]["alive"], true);
    EXPECT_EQ(j["peer"]["role"], "standby");
    EXPECT_EQ(j["last_switchover"]["reason"], "peer_lost");
    ASSERT_EQ(j["paths"].size(), 2U);
    EXPECT_EQ(j["paths"][0]["name"], "net0");
    EXPECT_EQ(j["paths"][0]["state"], "up");
    EXPECT_EQ(j["paths"][0]["rx"], 1000);
    EXPECT_EQ(j["paths"][0]["tx"], 1001);
    EXPECT_EQ(j["paths"][0]["rtt_us"], 120);
    EXPECT_EQ(j["paths"][0]["counters"]["auth_failures"], 4);
    EXPECT_EQ(j["paths"][0]["foreign"], 5);
    EXPECT_EQ(j["paths"][0]["counters"]["foreign"], 5);
    EXPECT_EQ(j["counters"]["foreign"], 5);
    EXPECT_EQ(j["paths"][1]["state"], "admin_down");
    EXPECT_EQ(j["paths"][1]["diag"], "detect_time_expired");
    EXPECT_EQ(j["counters"]["missed"], 33);
}

TEST(StatusJson, ChassisViews) {
    auto s = test::sampleSnapshot();
    auto c = chassisStatusJson(s.chassis);
    EXPECT_EQ(c["power"], "on");
    EXPECT_EQ(c["requested"], "none");
    EXPECT_EQ(c["bmc_access"], "ok");
    auto sensors = sensorListJson(s.chassis)["sensors"];
    EXPECT_EQ(sensors[0]["value"], 45.0);
    EXPECT_TRUE(sensors[0]["lower_critical"].is_null());
    EXPECT_TRUE(sensors[1]["value"].is_null());
    auto fans = fanStatusJson(s.chassis);
    EXPECT_EQ(fans["mode"], "auto");
    EXPECT_TRUE(fans["fans"][1]["rpm"].is_null());
    EXPECT_EQ(journalJson(s)["records"][1]["reason"], "peer_lost");
    EXPECT_EQ(toJson(s.chassis)["sensors"].size(), 2U);
}

TEST(StatusJson, ControlResults) {
    auto ok = toResponse({ControlStatus::Ok, "done"});
    EXPECT_EQ(ok["ok"], true);
    EXPECT_EQ(ok["result"]["message"], "done");
    auto no = toResponse({ControlStatus::NotActive, "node 2 is active"});
    EXPECT_EQ(no["ok"], false);
    EXPECT_EQ(no["code"], "not_active");
    EXPECT_EQ(no["error"], "node 2 is active");
    EXPECT_EQ(toResponse({ControlStatus::BmcError, "x"})["code"], "bmc_error");
}

} // namespace
} // namespace hs

// Prints the configuration keys the parsers accept, "TABLE KEY" per line, from the parsers' own
// lists (core/config.hpp, chassis/chassis_config.hpp, subagent/snmp_config.hpp), for
// test_man_pages.py: the man page hotstandbyd.toml(5) must document exactly these.
#include "chassis/chassis_config.hpp"
#include "core/config.hpp"
#include "metrics/metrics_config.hpp"
#include "subagent/snmp_config.hpp"

#include <cstdio>
#include <span>
#include <string_view>

namespace {

void print(std::string_view table, std::span<const std::string_view> keys) {
    for (std::string_view k : keys) {
        std::printf("%.*s %.*s\n", static_cast<int>(table.size()), table.data(),
                    static_cast<int>(k.size()), k.data());
    }
}

} // namespace

int main() {
    print("tables", hs::config_keys::kTables);
    print("node", hs::config_keys::kNode);
    print("heartbeat", hs::config_keys::kHeartbeat);
    print("path", hs::config_keys::kPath);
    print("chassis", hs::chassis::config_keys::kChassis);
    print("chassis.bmc", hs::chassis::config_keys::kBmc);
    print("chassis.fencing", hs::chassis::config_keys::kFencing);
    print("chassis.zone", hs::chassis::config_keys::kZone);
    print("snmp", hs::subagent::config_keys::kSnmp);
    print("hooks", hs::config_keys::kHooks);
    print("address", hs::config_keys::kAddress);
    print("metrics", hs::metrics::config_keys::kMetrics);
    return 0;
}

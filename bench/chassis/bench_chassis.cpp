// Prints:
//   chassis op=status median_ms=... p99_ms=...     (Get Chassis Status over a reused session)
//   chassis op=sensors median_ms=... p99_ms=...    (all sensors of the fixture, libipmimonitoring)
//   takeover_to_first_command_ms=...               (setActive(true) -> first BMC acknowledgement)
// against a private ipmi_sim. Usage: bench_chassis [ITERATIONS]
#include "base/log.hpp"
#include "chassis/chassis_manager.hpp"
#include "chassis/ipmi_session.hpp"
#include "chassis/sensor_reader.hpp"
#include "ipmi_sim_harness.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fmt/core.h>
#include <freeipmi/freeipmi.h>
#include <vector>

using namespace hs;
using namespace hs::chassis;
using namespace std::chrono_literals;

namespace {

double msSince(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

void report(const char* op, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    double median = v[v.size() / 2];
    double p99 = v[std::min(v.size() - 1, (v.size() * 99) / 100)];
    fmt::print("chassis op={} median_ms={:.3f} p99_ms={:.3f}\n", op, median, p99);
}

} // namespace

int main(int argc, char** argv) {
    int iterations = 200;
    if (argc > 1) {
        std::from_chars(argv[1], argv[1] + std::strlen(argv[1]), iterations);
    }
    log::setLevel(log::Level::Warn);
    hs::testing::IpmiSim sim;
    BmcEndpoint ep;
    ep.interface = BmcInterface::Lanplus;
    ep.host = sim.host();
    ep.port = sim.port();
    ep.user = "admin";
    ep.password = "secret";
    ep.cipherSuite = 3;
    ep.privilege = Privilege::Admin; // ipmi_sim wants ADMINISTRATOR for the OEM fan commands
    ep.workaroundFlags = IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_OPEN_SESSION_PRIVILEGE;
    ep.sessionTimeout = 2000ms;
    ep.retransmissionTimeout = 500ms;

    {
        IpmiSession s(ep);
        RawResponse rs;
        std::vector<double> v;
        for (int i = 0; i < iterations + 5; ++i) {
            auto t0 = std::chrono::steady_clock::now();
            if (s.raw(0x00, 0x01, {}, rs) || rs.cc != 0) {
                fmt::print(stderr, "status failed: {}\n", s.lastErrorText());
                return 1;
            }
            if (i >= 5) {
                v.push_back(msSince(t0));
            }
        }
        report("status", v);
    }
    {
        SensorReader r(ep, sim.dir() + "/sdr-cache");
        std::vector<double> v;
        int n = std::max(20, iterations / 4);
        for (int i = 0; i < n + 2; ++i) {
            auto t0 = std::chrono::steady_clock::now();
            SensorReadResult res = r.read();
            if (res.ec || res.sensors.size() != 5) {
                fmt::print(stderr, "sensors failed: {} {}\n", res.ec.message(), res.errorText);
                return 1;
            }
            if (i >= 2) { // the first read fills the SDR cache
                v.push_back(msSince(t0));
            }
        }
        report("sensors", v);
    }
    {
        asio::io_context io;
        ChassisConfig c;
        c.bmc = ep;
        c.sdrCacheDir = sim.dir() + "/sdr-cache2";
        c.fanProfile = FanProfileKind::Supermicro;
        c.statusPoll = 1000ms;
        c.sensorPoll = 1000ms;
        ZoneConfig z;
        z.zone = 0;
        z.tempSensors = {"CPU Temp"};
        z.curve = {{30, 20}, {70, 100}};
        c.zones = {z};
        std::vector<double> v;
        ChassisManager m(io, c);
        m.start();
        for (int i = 0; i < 10; ++i) {
            // Standby with a warm session, then take over.
            auto until = std::chrono::steady_clock::now() + 1200ms;
            while (std::chrono::steady_clock::now() < until) {
                io.restart();
                io.run_for(10ms);
            }
            m.setActive(true);
            m.renewLease(std::chrono::steady_clock::now() +
                         1h); // the core's grant, held throughout
            auto deadline = std::chrono::steady_clock::now() + 5s;
            while (!m.stats().takeoverToFirstAckMs && std::chrono::steady_clock::now() < deadline) {
                io.restart();
                io.run_for(1ms);
            }
            if (auto ms = m.stats().takeoverToFirstAckMs) {
                v.push_back(*ms);
            }
            m.setActive(false);
        }
        m.stop();
        if (v.empty()) {
            fmt::print(stderr, "takeover: no acknowledgement\n");
            return 1;
        }
        std::sort(v.begin(), v.end());
        fmt::print("takeover_to_first_command_ms={:.3f}\n", v[v.size() / 2]);
    }
    return 0;
}

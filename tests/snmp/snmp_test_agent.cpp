// A stand-in for hotstandbyd around the real Subagent: publishes a synthetic snapshot (2 paths,
// 40 sensors, 8 fans, a journal), records control requests through a fake core thread, and takes
// commands on stdin so tests and the benchmark can drive it. One reply line per command on stdout;
// logs on stderr.
//
//   snmp_test_agent --socket PATH [--role active|standby] [--ping S] [--queue N]
// Commands: role active|standby | notify TYPE [INDEX] | measure N | stats |
//           wait_connected MS | wait_connects N MS | quit
#include "base/asio.hpp"
#include "base/log.hpp"
#include "subagent/set_check.hpp"
#include "subagent/subagent.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fmt/core.h>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

namespace {

using namespace hs;
using hs::subagent::Subagent;

std::int64_t kBaseMs = 1'764'000'000'000; // fixed wall-clock times: stable test output

std::shared_ptr<Snapshot> makeSnapshot(Role localRole, std::uint64_t generation) {
    auto s = std::make_shared<Snapshot>();
    s->generation = generation;
    s->local = {0, 1, localRole, true, true, kBaseMs + 1000};
    Role peerRole = localRole == Role::Active ? Role::Standby : Role::Active;
    s->peer = {1, 2, peerRole, true, true, kBaseMs + 2000};
    s->epoch = 7;
    s->peerAlive = true;
    s->redundancy = Redundancy::Redundant;
    s->replication.writer = localRole == Role::Active;
    s->replication.standbyHot = true;
    s->replication.storeEpoch = 7;
    s->replication.storeSeq = 5000000001ULL; // > 32 bits: clamped in the Unsigned32
    s->replication.records = 120;
    s->replication.standbyJoined = localRole == Role::Active;
    s->replication.snapshotsSent = 2;
    s->replication.lastSnapshotUnixMs = kBaseMs + 5000;
    s->addresses.push_back(
        {"192.0.2.100", false, 24, "eth0", localRole == Role::Active, "", 0, 3, kBaseMs + 6000});
    s->preemption = false;
    s->switchoverCount = 3;
    s->lastSwitchoverReason = SwitchoverReason::Manual;
    s->lastSwitchoverUnixMs = kBaseMs + 3000;
    for (std::uint32_t i = 1; i <= 2; ++i) {
        PathSnapshot p;
        p.index = i;
        p.name = i == 1 ? "net0" : "serial0";
        p.type = i == 1 ? PathType::Udp : PathType::Serial;
        p.endpoint = i == 1 ? "192.0.2.2:7400" : "/dev/ttyS1@115200";
        p.state = PathState::Up;
        p.intervalUs = 10000;
        p.missThreshold = 3;
        p.recoveryThreshold = 3;
        p.rttUs = 150 * i;
        p.counters.framesSent = 100000 * i + generation;
        p.counters.framesReceived = 99000 * i + generation;
        p.counters.missed = i;
        p.counters.authFailures = 5000000000ULL + i; // > 32 bits: Counter64 must carry it
        p.counters.malformed = 2;
        p.counters.replayed = 1;
        p.lastChangeUnixMs = kBaseMs + 500;
        s->paths.push_back(p);
    }
    for (std::uint32_t i = 1; i <= 3; ++i) {
        s->journal.push_back({i, kBaseMs + 1000 * i, SwitchoverReason::PeerLost, Role::Standby,
                              Role::Active, i + 4});
    }
    ChassisSnapshot& c = s->chassis;
    c.enabled = true;
    c.power = PowerState::On;
    c.access = BmcAccess::Ok;
    c.lastError = "session timeout";
    c.lastErrorUnixMs = kBaseMs + 4000;
    c.fanProfile = "supermicro";
    for (std::uint32_t i = 1; i <= 40; ++i) {
        SensorSnapshot x;
        x.index = i;
        int kind = static_cast<int>(i % 3);
        x.name = fmt::format("{}{}", kind == 0 ? "Temp" : kind == 1 ? "Volt" : "FanSpeed", i);
        x.type = kind == 0 ? "Temperature" : kind == 1 ? "Voltage" : "Fan";
        x.unit = kind == 0 ? "degrees C" : kind == 1 ? "V" : "RPM";
        x.value = kind == 0 ? 40.5 : kind == 1 ? 12.06 : 4500;
        x.valueValid = true;
        x.upperCritical = x.value * 2;
        x.upperNonCritical = x.value * 1.5;
        x.lowerNonCritical = x.value * 0.5;
        x.lowerCritical = x.value * 0.25;
        x.state = SensorState::Nominal;
        c.sensors.push_back(x);
    }
    for (std::uint32_t z = 0; z < 8; ++z) {
        FanSnapshot f;
        f.zone = z;
        f.name = fmt::format("FAN{}", z + 1);
        f.dutyPct = 40;
        f.rpm = 4500;
        f.mode = FanMode::Auto;
        c.fans.push_back(f);
    }
    return s;
}

const std::map<std::string, EventType>& eventTypes() {
    static const std::map<std::string, EventType> m{
        {"pathDown", EventType::PathDown},
        {"pathUp", EventType::PathUp},
        {"peerLost", EventType::PeerLost},
        {"peerRecovered", EventType::PeerRecovered},
        {"switchover", EventType::Switchover},
        {"splitBrainResolved", EventType::SplitBrainResolved},
        {"redundancyDegraded", EventType::RedundancyDegraded},
        {"redundancyRestored", EventType::RedundancyRestored},
        {"chassisPowerChanged", EventType::ChassisPowerChanged},
        {"bmcUnreachable", EventType::BmcUnreachable},
        {"bmcRecovered", EventType::BmcRecovered},
        {"sensorThreshold", EventType::SensorThreshold},
        {"fanFailure", EventType::FanFailure},
        {"authAlarm", EventType::AuthAlarm},
        {"stateDirUnwritable", EventType::StateDirUnwritable},
        {"stateDirRecovered", EventType::StateDirRecovered},
        {"replicationDegraded", EventType::ReplicationDegraded},
        {"replicationRestored", EventType::ReplicationRestored},
        {"replicationRecordsDropped", EventType::ReplicationRecordsDropped},
        {"addressAcquired", EventType::AddressAcquired},
        {"addressReleased", EventType::AddressReleased},
        {"addressFailed", EventType::AddressFailed},
        {"switchoverHoldDown", EventType::SwitchoverHoldDown},
        {"replicationHot", EventType::ReplicationHot},
    };
    return m;
}

Event makeEvent(EventType t, std::uint32_t index) {
    Event e;
    e.type = t;
    e.unixMs = kBaseMs;
    e.pathIndex = index == 0 ? 1 : index;
    e.pathState = t == EventType::PathUp ? PathState::Up : PathState::Down;
    e.pathDiag = t == EventType::PathUp ? PathDiag::NoDiag : PathDiag::DetectTimeExpired;
    e.role = Role::Active;
    e.fromRole = Role::Standby;
    e.reason = SwitchoverReason::PeerLost;
    e.epoch = 8;
    e.redundancy =
        t == EventType::RedundancyRestored ? Redundancy::Redundant : Redundancy::Degraded;
    e.power = PowerState::Off;
    e.objectIndex = index;
    e.value = 95.5;
    e.text = "bmc timeout";
    e.count = 4;
    return e;
}

std::uint32_t toU32(const std::string& s, std::uint32_t dflt) {
    std::uint32_t v = dflt;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

void say(const std::string& line) {
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

// The fake core: its own thread and io_context, like hotstandbyd's core.
class FakeCore {
  public:
    FakeCore() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
    ~FakeCore() {
        work_.reset();
        io_.stop();
        thread_.join();
    }
    void handle(ControlRequest req, std::function<void(ControlResult)> done) {
        asio::post(io_, [req = std::move(req), done = std::move(done)] {
            say(fmt::format("REQUEST op={} zone={} value={} origin={}", subagent::toString(req.op),
                            req.zone, req.value, req.origin));
            done({ControlStatus::Ok, "done by the fake core"});
        });
    }

  private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
    ::setenv("MIBS", "", 1); // as hotstandbyd's main(): before the first thread, no MIB files
    subagent::SnmpConfig cfg;
    Role role = Role::Active;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        std::string v = argv[i + 1];
        if (k == "--socket") {
            cfg.agentxSocket = v;
        } else if (k == "--role") {
            role = v == "standby" ? Role::Standby : Role::Active;
        } else if (k == "--ping") {
            cfg.pingInterval = std::chrono::seconds(toU32(v, 1));
        } else if (k == "--queue") {
            cfg.notifyQueue = toU32(v, 256);
        } else if (k == "--log") {
            log::Level l{};
            if (log::parseLevel(v, l)) {
                log::setLevel(l);
            }
        }
    }
    FakeCore core;
    Subagent agent(cfg, [&core](ControlRequest r, std::function<void(ControlResult)> done) {
        core.handle(std::move(r), std::move(done));
    });
    std::uint64_t generation = 1;
    agent.publish(makeSnapshot(role, generation));
    agent.start();
    say("READY");

    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        if (cmd == "role") {
            std::string r;
            in >> r;
            role = r == "standby" ? Role::Standby : Role::Active;
            agent.publish(makeSnapshot(role, ++generation));
            say("OK");
        } else if (cmd == "notify") {
            std::string type;
            std::uint32_t index = 0;
            in >> type >> index;
            auto it = eventTypes().find(type);
            if (it == eventTypes().end()) {
                say("ERROR unknown event type");
                continue;
            }
            say(fmt::format("SEQ {}", agent.notify(makeEvent(it->second, index))));
        } else if (cmd == "measure") {
            std::uint32_t n = 0;
            in >> n;
            using C = std::chrono::steady_clock;
            C::duration maxPublish{}, maxNotify{};
            for (std::uint32_t i = 0; i < n; ++i) {
                auto snap = makeSnapshot(role, ++generation);
                auto t0 = C::now();
                agent.publish(std::move(snap));
                auto t1 = C::now();
                agent.notify(makeEvent(EventType::PathDown, 1));
                auto t2 = C::now();
                maxPublish = std::max(maxPublish, t1 - t0);
                maxNotify = std::max(maxNotify, t2 - t1);
            }
            auto us = [](C::duration d) {
                return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
            };
            say(fmt::format("MEASURE n={} max_publish_us={} max_notify_us={}", n, us(maxPublish),
                            us(maxNotify)));
        } else if (cmd == "stats") {
            auto st = agent.stats();
            say(fmt::format("STATS connected={} connects={} sent={} dropped={} queued={} seq={} "
                            "requests={}",
                            st.connected ? 1 : 0, st.connects, st.notificationsSent,
                            st.notificationsDropped, st.notificationsQueued, st.lastSeq,
                            st.requests));
        } else if (cmd == "wait_connects") {
            std::uint32_t want = 1, ms = 5000;
            in >> want >> ms;
            auto t0 = std::chrono::steady_clock::now();
            auto deadline = t0 + std::chrono::milliseconds(ms);
            while (!(agent.stats().connected && agent.stats().connects >= want) &&
                   std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            auto el = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
            say(agent.stats().connects >= want && agent.stats().connected
                    ? fmt::format("CONNECTED ms={}", el)
                    : fmt::format("TIMEOUT ms={}", el));
        } else if (cmd == "quit") {
            break;
        } else if (!cmd.empty()) {
            say("ERROR unknown command");
        }
    }
    auto t0 = std::chrono::steady_clock::now();
    agent.stop();
    say(fmt::format("BYE stop_ms={}", std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - t0)
                                          .count()));
    return 0;
}

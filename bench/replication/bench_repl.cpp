// bench_repl: the replication bench's store file and its in-process snapshot measurement
// (bench/replication/run.py).
//
//   bench_repl store FILE [--zones Z]
//       Writes a replicated store as the daemon keeps it in its state directory (`replica`), built
//       with repl/'s own Store and encoder: the largest ordered stream the store holds (fan mode
//       auto, a floor per zone, kLogCapacity journal rows and kLogCapacity chassis events), term
//       (epoch 1, writer node 1). Prints `store records=N bytes=B`.
//   bench_repl snapshot [--records N] [--interval-ms I]
//       Two hs::Replication objects (the daemon's glue: Sender, Receiver, pathBudget on a UDP
//       path), every message and watermark through its encoding, ticked in real time every
//       interval. The writer's store holds N records: the ordered stream above, the rest sensor
//       telemetry (the only kind not capped: logs keep kLogCapacity entries, intent keys are
//       few). Prints the time from the first tick (the standby sees the active's watermark and
//       joins) until the standby is hot, and until it holds every record of both streams.
#include "daemon/replication.hpp"
#include "repl/store.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace hs;

namespace {

std::int64_t wallMs() {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The ordered stream at its largest: fan mode, floors, kLogCapacity journal rows and events.
void fillOrdered(repl::Store& s, std::uint32_t zones) {
    const std::int64_t t = wallMs() - 86'400'000;
    s.put(0, repl::FanModeRecord{FanMode::Auto});
    for (std::uint32_t z = 0; z < zones; ++z) {
        s.put(z, repl::FanFloorRecord{std::uint8_t{30}});
    }
    for (std::size_t i = 0; i < repl::kLogCapacity; ++i) {
        repl::JournalRecord j;
        j.unixMs = t + static_cast<std::int64_t>(i) * 1000;
        j.reason = SwitchoverReason::PeerLost;
        j.from = Role::Standby;
        j.to = Role::Active;
        j.epoch = 1;
        s.append(j);
        repl::ChassisEventRecord e;
        e.unixMs = j.unixMs + 1;
        e.type = EventType::SensorThreshold;
        e.objectIndex = static_cast<std::uint32_t>(i % 8);
        e.value = 71.0;
        e.text = "CPU Temp above upper non-critical (bench history)";
        s.append(e);
    }
}

bool number(std::string_view s, std::size_t& out) {
    const auto* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, out);
    return ec == std::errc{} && p == end;
}

int writeStore(const std::string& file, std::uint32_t zones) {
    repl::Store s;
    s.beginTerm(1, 1);
    fillOrdered(s, zones);
    const auto bytes = repl::encodeSnapshot(s);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        std::fprintf(stderr, "bench_repl: cannot write %s\n", file.c_str());
        return 1;
    }
    std::printf("store records=%zu bytes=%zu\n", s.size(), bytes.size());
    return 0;
}

struct Side {
    Replication r;
    Role role = Role::Standby;
    std::vector<std::vector<std::uint8_t>> out;
    std::size_t bytes = 0;
    Side(std::uint32_t id, Duration interval)
        : r(id, id, {{PathType::Udp, interval, 0}},
            [this](std::size_t, std::vector<std::uint8_t> m) {
                bytes += m.size();
                out.push_back(std::move(m));
            }) {}
};

void deliver(Side& from, Side& to, TimePoint now) {
    to.r.onPeerPayload(now, {0, hb::FrameType::Heartbeat, from.role, 1, from.r.watermark()});
    for (auto& m : std::exchange(from.out, {})) {
        to.r.onPeerPayload(now, {0, hb::FrameType::Replication, from.role, 1, std::move(m)});
    }
}

int snapshot(std::size_t records, std::size_t intervalMs) {
    const Duration interval = milliseconds(static_cast<std::int64_t>(intervalMs));
    Side a(1, interval);
    Side b(2, interval);
    repl::Store s;
    s.beginTerm(1, 1);
    fillOrdered(s, 2);
    const std::size_t ordered = s.size();
    const std::int64_t t = wallMs();
    for (std::uint32_t i = 0; s.size() < records; ++i) {
        s.put(i, repl::SensorRecord{20.0 + (i % 50), true, SensorState::Nominal, t});
    }
    a.r.load(std::move(s));
    a.role = Role::Active;
    (void)a.r.takeOver(Clock::now(), 1);
    const std::vector<bool> up{true};
    const TimePoint start = Clock::now();
    TimePoint next = start;
    std::optional<Duration> hot;
    std::optional<Duration> full;
    std::size_t ticks = 0;
    while (!full && Clock::now() - start < std::chrono::seconds(30)) {
        std::this_thread::sleep_until(next);
        next += interval;
        const TimePoint now = Clock::now();
        ++ticks;
        a.r.tick(now, true, up);
        b.r.tick(now, true, up);
        deliver(a, b, now);
        deliver(b, a, now);
        const TimePoint after = Clock::now();
        if (!hot && b.r.readiness() == repl::Readiness::Hot) {
            hot = after - start;
        }
        if (b.r.store().lastSeqs() == a.r.store().lastSeqs() &&
            b.r.store().size() == a.r.store().size()) {
            full = after - start;
        }
    }
    auto ms = [](const std::optional<Duration>& d) {
        return d ? std::chrono::duration<double, std::milli>(*d).count() : -1.0;
    };
    const bool equal = b.r.store() == a.r.store();
    std::printf(
        "snapshot records=%zu ordered=%zu telemetry=%zu interval_ms=%zu hot_ms=%.1f "
        "snapshot_ms=%.1f ticks=%zu bytes=%zu budget_bytes=%zu bulk_budget_bytes=%zu equal=%d\n",
        a.r.store().size(), ordered, a.r.store().size() - ordered, intervalMs, ms(hot), ms(full),
        ticks, a.bytes, pathBudget({PathType::Udp, interval, 0}, a.r.watermark().size()).bytes,
        pathBudget({PathType::Udp, interval, 0}, a.r.watermark().size(), true).bytes,
        equal ? 1 : 0);
    return full && equal ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    const bool store = args.size() >= 2 && args[0] == "store";
    const bool snap = !args.empty() && args[0] == "snapshot";
    std::size_t records = 10'000;
    std::size_t intervalMs = 10;
    std::size_t zones = 2;
    for (std::size_t i = store ? 2 : 1; i < args.size(); i += 2) {
        std::size_t* v = args[i] == "--records"       ? &records
                         : args[i] == "--interval-ms" ? &intervalMs
                         : args[i] == "--zones"       ? &zones
                                                      : nullptr;
        if (v == nullptr || i + 1 >= args.size() || !number(args[i + 1], *v) || *v == 0) {
            std::fprintf(stderr, "bench_repl: bad argument %s\n", std::string(args[i]).c_str());
            return 2;
        }
    }
    if (store) {
        return writeStore(std::string(args[1]),
                          static_cast<std::uint32_t>(std::min<std::size_t>(zones, 64)));
    }
    if (snap) {
        return snapshot(records, intervalMs);
    }
    std::fprintf(stderr, "usage: bench_repl store FILE [--zones Z] | bench_repl snapshot "
                         "[--records N] [--interval-ms I]\n");
    return 2;
}

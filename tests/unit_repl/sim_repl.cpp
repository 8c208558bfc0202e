// Two stores under random fault schedules: message loss, reordering, duplication, partitions with
// writes on both sides, restarts with and without an empty store, and low-bandwidth phases where
// telemetry must wait. Each node runs the real Store, Sender and Receiver; every message and
// watermark goes through its encoding. Invariants checked:
//   1. no acknowledged intent record is ever lost: at every takeover the new active holds every
//      key whose write was decided Acked, at that write or a newer one (unless the schedule wiped
//      the new active's store and it had not become hot again: the double fault);
//   2. after every heal both stores are equal (records, stamps, sequence numbers, history), the
//      standby is hot, the loser's conflicting records were reported and are gone, and every
//      record it did not report is in the winner's store (nothing dropped silently);
//   3. no interval's messages (its tick's, and those sent at once before the next tick: Deltas of
//      a record just written, Acks of a Delta just taken) exceed the tick's byte budget (so
//      replication never delays a heartbeat);
//   4. no digest divergence is ever seen (go-back-N keeps the standby an exact prefix).
// Usage: repl_sim [schedules [seed [first]]]; HS_SIM_SCHEDULES sets the default count (10,000). A
// failure prints the command that replays it alone.
#include "repl/message.hpp"
#include "repl/protocol.hpp"
#include "repl/store.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace hs;
using namespace hs::repl;

namespace {

constexpr auto kTick = milliseconds(10);
constexpr std::size_t kNetBudget = 4000;
constexpr std::size_t kSerialBudget = 150;
constexpr std::size_t kNetImmediate = 4; // messages at once between ticks (none on serial)

struct Failure {
    std::string what;
};

[[noreturn]] void fail(const std::string& what) {
    throw Failure{what};
}

struct Packet {
    std::int64_t at = 0;
    std::uint64_t order = 0;
    bool watermark = false;
    Bytes bytes;
};

struct Node {
    std::uint32_t id = 0;
    std::uint32_t incarnation = 1;
    Store store;
    std::unique_ptr<Sender> sender;
    std::unique_ptr<Receiver> receiver;
    bool up = true;
    bool active = false;
    bool wipedSinceHot = false;
    std::vector<Notice> conflicts;

    void fresh() {
        sender = std::make_unique<Sender>(store, SenderConfig{milliseconds(150), milliseconds(40)});
        receiver = std::make_unique<Receiver>(store,
                                              ReceiverConfig{milliseconds(30), milliseconds(50), 64,
                                                             milliseconds(50), milliseconds(300)},
                                              incarnation);
    }
};

class Sim {
  public:
    Sim(std::uint64_t seed) : rng_(seed) {
        for (std::uint32_t i = 0; i < 2; ++i) {
            nodes_[i].id = 10 + i;
            nodes_[i].fresh();
        }
        takeOver(0, 1);
    }

    void run() {
        const int phases = pick(3, 5);
        for (int p = 0; p < phases; ++p)
            phase();
        if (stats.maxBudgetUse > 0 && lost_ > 0)
            ++stats.doubleFaultLosses;
    }

    struct Stats {
        std::uint64_t ackedWrites = 0, heals = 0, conflictsReported = 0, takeovers = 0,
                      snapshots = 0, catchUps = 0, doubleFaultLosses = 0, maxBudgetUse = 0,
                      serialPhases = 0, atOnce = 0;
    } stats;

  private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
    TimePoint now() const { return TimePoint{} + kTick * tick_; }

    void takeOver(std::size_t i, std::uint64_t epoch) {
        Node& n = nodes_[i];
        checkAckedHeldBy(n);
        n.receiver->stop();
        n.sender->reset();
        n.store.beginTerm(epoch, n.id);
        n.active = true;
        epoch_ = std::max(epoch_, epoch);
        ++stats.takeovers;
    }

    void stepDown(std::size_t i) {
        nodes_[i].sender->reset();
        nodes_[i].active = false;
    }

    // Invariant 1.
    void checkAckedHeldBy(Node& n) {
        for (auto it = acked_.begin(); it != acked_.end();) {
            const Record* r = n.store.find(it->first);
            const bool held = r != nullptr && r->stamp.seq >= it->second;
            if (!held) {
                if (!n.wipedSinceHot)
                    fail("acknowledged record lost at takeover: kind=" +
                         std::string(toString(it->first.kind)) + " index=" +
                         std::to_string(it->first.index) + " seq=" + std::to_string(it->second));
                ++lost_;
                it = acked_.erase(it);
                continue;
            }
            ++it;
        }
    }

    void write(Node& n) {
        const auto t = pick(0, 9);
        if (t < 4) {
            RecordKey key;
            RecordValue v;
            switch (pick(0, 4)) {
            case 0:
                key = {RecordKind::FanMode, 0};
                v = FanModeRecord{static_cast<FanMode>(pick(1, 3))};
                break;
            case 1:
                key = {RecordKind::FanFloor, static_cast<std::uint32_t>(pick(0, 3))};
                v = FanFloorRecord{static_cast<std::uint8_t>(pick(0, 100))};
                break;
            case 2:
                key = {RecordKind::Preemption, 0};
                v = PreemptionRecord{chance(0.5)};
                break;
            case 3:
                key = {RecordKind::Setting, static_cast<std::uint32_t>(pick(1, 2))};
                v = SettingRecord{pick(-5, 500)};
                break;
            default:
                key = {RecordKind::PowerRequest, 0};
                v = PowerRequestRecord{++token_,    PowerControl::PowerCycle, tick_,
                                       tick_ + 500, PowerOutcome::Pending,    0};
                break;
            }
            const auto& r = n.store.put(key.index, std::move(v));
            const auto token = ++token_;
            pending_[token] = {key, r.stamp.seq, &n};
            n.sender->await(key, token, now());
        } else if (t < 5) {
            if (chance(0.5))
                n.store.append(JournalRecord{tick_, SwitchoverReason::Manual, Role::Active,
                                             Role::Standby, n.store.epoch(), 0, 0});
            else
                n.store.append(ChassisEventRecord{tick_, EventType::FanFailure, 1, 2.5, "fan"});
        } else {
            switch (pick(0, 3)) {
            case 0:
                n.store.put(static_cast<std::uint32_t>(pick(1, 6)),
                            SensorRecord{pick(20, 90) * 1.0, true, SensorState::Nominal, tick_});
                break;
            case 1:
                n.store.put(0, PowerRecord{PowerState::On, tick_});
                break;
            case 2:
                n.store.put(static_cast<std::uint32_t>(pick(0, 3)),
                            FanRecord{static_cast<std::uint8_t>(pick(20, 100)), 4000.0 + pick(0, 9),
                                      FanMode::Manual, false});
                break;
            default:
                n.store.put(0, BmcRecord{BmcAccess::Ok, ""});
                break;
            }
        }
    }

    void send(std::size_t from, bool watermark, Bytes bytes) {
        const std::size_t to = 1 - from;
        if (partitioned_ || !nodes_[to].up || chance(loss_))
            return;
        const int copies = chance(dup_) ? 2 : 1;
        for (int c = 0; c < copies; ++c)
            wire_[to].push_back(Packet{tick_ + pick(1, maxDelay_), ++order_, watermark, bytes});
    }

    void deliver() {
        for (std::size_t to = 0; to < 2; ++to) {
            auto& q = wire_[to];
            std::vector<Packet> due;
            for (auto it = q.begin(); it != q.end();) {
                if (it->at <= tick_) {
                    due.push_back(std::move(*it));
                    it = q.erase(it);
                } else {
                    ++it;
                }
            }
            std::sort(due.begin(), due.end(), [](const Packet& a, const Packet& b) {
                return a.at != b.at ? a.at < b.at : a.order < b.order;
            });
            Node& n = nodes_[to];
            if (!n.up)
                continue;
            for (const auto& p : due) {
                if (p.watermark) {
                    Watermark wm;
                    if (!decodeWatermark(p.bytes, wm))
                        fail("watermark did not decode");
                    // Only an active's watermark leads a standby; an active hears the standby's.
                    if (n.active && !nodes_[1 - to].active)
                        n.sender->onPeerWatermark(wm, now());
                    else if (!n.active && nodes_[1 - to].active &&
                             wm.epoch == nodes_[1 - to].store.epoch())
                        n.receiver->onPeerWatermark(wm, now());
                    continue;
                }
                Message m;
                if (!decodeMessage(p.bytes, m))
                    fail("message did not decode");
                if (n.active) {
                    n.sender->onMessage(m, now());
                } else {
                    n.receiver->onMessage(m, now());
                    sendAtOnce(to, n.receiver->ackNow(now()));
                }
            }
        }
    }

    void step(bool writes) {
        ++tick_;
        deliver();
        for (std::size_t i = 0; i < 2; ++i) {
            Node& n = nodes_[i];
            if (!n.up)
                continue;
            if (n.active && writes) {
                // Mostly one write now and then; sometimes a burst that outruns a slow path, so
                // keys are overwritten before their older values were sent (coalescing).
                const int k = chance(0.1) ? pick(2, 8) : (chance(0.5) ? 1 : 0);
                for (int w = 0; w < k; ++w) {
                    write(n);
                    sendAtOnce(i, n.sender->sendNow(now()));
                }
            }
            const Budget budget{serial_ ? kSerialBudget : kNetBudget, !serial_, kFrameOverhead,
                                serial_ ? 0 : kNetImmediate};
            auto out = n.active ? n.sender->tick(now(), budget) : n.receiver->tick(now(), budget);
            intervalBudget_[i] = budget.bytes;
            intervalUsed_[i] = 0;
            spend(i, out);
            for (auto& m : out)
                send(i, false, std::move(m));
            Bytes wm;
            encodeWatermark(n.active ? n.sender->watermark() : n.receiver->watermark(), wm);
            send(i, true, std::move(wm));
            if (n.active)
                collectDecisions(n);
            else
                collectNotices(n);
            if (!n.active && n.receiver->readiness() == Readiness::Hot)
                n.wipedSinceHot = false;
        }
    }

    // Invariant 3: what node I sent since its last tick, within that tick's budget.
    void spend(std::size_t i, const std::vector<Bytes>& out) {
        for (const auto& m : out)
            intervalUsed_[i] += m.size() + kFrameOverhead;
        if (intervalUsed_[i] > intervalBudget_[i])
            fail("budget exceeded: " + std::to_string(intervalUsed_[i]) + " > " +
                 std::to_string(intervalBudget_[i]));
        stats.maxBudgetUse = std::max<std::uint64_t>(stats.maxBudgetUse, intervalUsed_[i]);
    }

    void sendAtOnce(std::size_t i, std::vector<Bytes> out) {
        spend(i, out);
        stats.atOnce += out.size();
        for (auto& m : out)
            send(i, false, std::move(m));
    }

    void collectDecisions(Node& n) {
        for (const auto& d : n.sender->takeDecisions()) {
            auto it = pending_.find(d.token);
            if (it == pending_.end())
                fail("decision for an unknown token");
            if (d.outcome == WaitOutcome::Acked) {
                auto& seq = acked_[it->second.key];
                seq = std::max(seq, it->second.seq);
                ++stats.ackedWrites;
            }
            pending_.erase(it);
        }
        for (const auto& notice : n.sender->takeNotices())
            if (notice.type == NoticeType::Divergence)
                fail("digest divergence seen by the active");
    }

    void collectNotices(Node& n) {
        for (auto& notice : n.receiver->takeNotices())
            if (notice.type == NoticeType::Conflict)
                n.conflicts.push_back(std::move(notice));
            else if (notice.type == NoticeType::Divergence)
                fail("digest divergence seen");
    }

    void crash(std::size_t i, bool wipe) {
        Node& n = nodes_[i];
        collectDecisions(n); // decisions already made stand
        n.up = false;
        n.active = false;
        for (auto it = pending_.begin(); it != pending_.end();)
            it = it->second.node == &n ? pending_.erase(it) : std::next(it);
        wire_[i].clear();
        if (wipe) {
            n.store.clear();
            n.wipedSinceHot = true;
        } else {
            n.store.clearStream(Stream::Telemetry); // telemetry is not kept across a restart
        }
        ++n.incarnation;
        n.fresh();
    }

    void phase() {
        loss_ = chance(0.3) ? 0.0 : pick(0, 30) / 100.0;
        dup_ = pick(0, 10) / 100.0;
        maxDelay_ = pick(1, 4);
        serial_ = chance(0.25);
        stats.serialPhases += serial_ ? 1 : 0;
        const int len = pick(25, 60);
        const int faultAt = pick(0, len / 2);
        const int fault = pick(0, 5); // 0 none, 1-2 partition, 3 crash standby, 4-5 crash active
        const int detect = pick(3, 8);
        const bool wipe = chance(0.4);
        const bool takeover = chance(0.8);
        std::size_t act = nodes_[0].active ? 0 : 1;
        std::size_t sby = 1 - act;
        SeqPair boundary{};
        for (int t = 0; t < len; ++t) {
            if (t == faultAt && fault >= 1 && fault <= 2)
                partitioned_ = true;
            if (t == faultAt + detect && partitioned_) {
                nodes_[act].sender->peerLost();
                // The standby lost the active too (or, half the time, its detector has not fired
                // yet and it must find out that its session is gone by itself).
                if (!takeover && chance(0.5))
                    nodes_[sby].receiver->stop();
                if (takeover) {
                    boundary = nodes_[sby].store.lastSeqs();
                    takeOver(sby, epoch_ + 1);
                }
            }
            if (t == faultAt && fault == 3)
                crash(sby, wipe);
            if (t == faultAt + detect && fault == 3)
                nodes_[act].sender->peerLost();
            if (t == faultAt && fault >= 4)
                crash(act, wipe);
            if (t == faultAt + detect && fault >= 4)
                takeOver(sby, epoch_ + 1);
            step(true);
        }
        // Heal: links back, crashed nodes restarted as standby, the lower epoch steps down.
        partitioned_ = false;
        for (auto& n : nodes_)
            n.up = true;
        std::optional<std::size_t> loser;
        std::map<RecordKey, Record> loserStore;
        if (nodes_[0].active && nodes_[1].active) {
            loser = nodes_[0].store.epoch() < nodes_[1].store.epoch() ? 0 : 1;
            loserStore = nodes_[*loser].store.records();
            nodes_[*loser].conflicts.clear();
            stepDown(*loser);
            ++stats.heals;
        }
        quiet();
        if (loser)
            checkHeal(*loser, loserStore, boundary);
    }

    // Invariant 2: no faults, no writes, full bandwidth until both stores agree.
    void quiet() {
        loss_ = 0;
        dup_ = 0;
        serial_ = false;
        for (int t = 0; t < 400; ++t) {
            step(false);
            const Node& a = nodes_[0].active ? nodes_[0] : nodes_[1];
            const Node& s = nodes_[0].active ? nodes_[1] : nodes_[0];
            if (a.store == s.store && s.receiver->readiness() == Readiness::Hot &&
                a.sender->lagRecords(Stream::Ordered) == 0)
                return;
        }
        const Node& a = nodes_[0].active ? nodes_[0] : nodes_[1];
        const Node& s = nodes_[0].active ? nodes_[1] : nodes_[0];
        fail("stores not equal after heal: active " + std::to_string(a.store.size()) + " records " +
             std::to_string(a.store.lastSeq(Stream::Ordered)) + "/" +
             std::to_string(a.store.lastSeq(Stream::Telemetry)) + ", standby " +
             std::to_string(s.store.size()) + " records " +
             std::to_string(s.store.lastSeq(Stream::Ordered)) + "/" +
             std::to_string(s.store.lastSeq(Stream::Telemetry)) + " " +
             std::string(toString(s.receiver->readiness())));
    }

    void checkHeal(std::size_t loser, const std::map<RecordKey, Record>& before,
                   const SeqPair& boundary) {
        const Node& l = nodes_[loser];
        const Node& w = nodes_[1 - loser];
        std::map<RecordKey, Record> reported;
        for (const auto& n : l.conflicts) {
            if (n.count != n.records.size())
                fail("conflict count does not match the records named");
            for (const auto& r : n.records)
                reported.emplace(r.key(), r);
        }
        stats.conflictsReported += reported.size();
        for (const auto& [k, r] : before) {
            const auto s = static_cast<std::size_t>(streamOf(k.kind));
            const Record* now = w.store.find(k);
            if (reported.count(k) != 0) {
                if (r.stamp.seq <= boundary[s])
                    fail("a record the winner held was reported as a conflict");
                if (now != nullptr && now->stamp == r.stamp)
                    fail("a reported record survived");
                continue;
            }
            if (r.stamp.seq > boundary[s])
                fail("a record written after the split was dropped without a report");
            const bool pruned = isLog(k.kind) && now == nullptr;
            if (!pruned && (now == nullptr || now->stamp.seq < r.stamp.seq))
                fail("a record was dropped silently at the heal");
        }
    }

    struct Pending {
        RecordKey key;
        std::uint64_t seq = 0;
        Node* node = nullptr;
    };

    std::mt19937_64 rng_;
    Node nodes_[2];
    std::vector<Packet> wire_[2];
    std::int64_t tick_ = 0;
    std::uint64_t order_ = 0;
    std::uint64_t token_ = 0;
    std::uint64_t epoch_ = 0;
    std::uint64_t lost_ = 0;
    double loss_ = 0, dup_ = 0;
    int maxDelay_ = 1;
    bool serial_ = false;
    std::array<std::size_t, 2> intervalBudget_{};
    std::array<std::size_t, 2> intervalUsed_{};
    bool partitioned_ = false;
    std::map<std::uint64_t, Pending> pending_;
    std::map<RecordKey, std::uint64_t> acked_;
};

} // namespace

int main(int argc, char** argv) {
    auto parse = [](const char* text, std::uint64_t& v) {
        std::from_chars(text, text + std::char_traits<char>::length(text), v);
    };
    std::uint64_t schedules = 10000;
    std::uint64_t seed = 1;
    std::uint64_t first = 0;
    if (const char* env = std::getenv("HS_SIM_SCHEDULES"))
        parse(env, schedules);
    if (argc > 1)
        parse(argv[1], schedules);
    if (argc > 2)
        parse(argv[2], seed);
    if (argc > 3)
        parse(argv[3], first);
    Sim::Stats total;
    for (std::uint64_t i = first; i < first + schedules; ++i) {
        Sim sim(seed * 1000003u + i);
        try {
            sim.run();
        } catch (const Failure& f) {
            std::fprintf(stderr, "schedule %llu (seed %llu): %s\nreplay: repl_sim 1 %llu %llu\n",
                         static_cast<unsigned long long>(i), static_cast<unsigned long long>(seed),
                         f.what.c_str(), static_cast<unsigned long long>(seed),
                         static_cast<unsigned long long>(i));
            return 1;
        }
        total.ackedWrites += sim.stats.ackedWrites;
        total.heals += sim.stats.heals;
        total.conflictsReported += sim.stats.conflictsReported;
        total.takeovers += sim.stats.takeovers;
        total.serialPhases += sim.stats.serialPhases;
        total.atOnce += sim.stats.atOnce;
        total.maxBudgetUse = std::max(total.maxBudgetUse, sim.stats.maxBudgetUse);
    }
    std::printf(
        "repl_sim schedules=%llu acked_writes=%llu takeovers=%llu heals=%llu "
        "conflicts_reported=%llu serial_phases=%llu max_tick_bytes=%llu sent_at_once=%llu: ok\n",
        static_cast<unsigned long long>(schedules),
        static_cast<unsigned long long>(total.ackedWrites),
        static_cast<unsigned long long>(total.takeovers),
        static_cast<unsigned long long>(total.heals),
        static_cast<unsigned long long>(total.conflictsReported),
        static_cast<unsigned long long>(total.serialPhases),
        static_cast<unsigned long long>(total.maxBudgetUse),
        static_cast<unsigned long long>(total.atOnce));
    return 0;
}

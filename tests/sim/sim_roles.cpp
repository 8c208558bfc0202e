// Deterministic simulation of a pair: the real NodeCore (RoleFsm + PathMonitors) of two nodes
// under a virtual clock, driven through random fault schedules, with the safety and liveness
// invariants of the design checked at every step.
//
//   sim_roles [--schedules N] [--base FIRST_SEED] [--seed S] [--verbose]
// HS_SIM_SCHEDULES overrides the default count. A failure prints the seed; `--seed S` replays it.
#include "base/log.hpp"
#include "core/node_core.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

using namespace hs;
using namespace std::chrono_literals;

constexpr int kNodes = 2;

struct Violation {
    std::string what;
};

struct Params {
    Duration interval;
    std::uint32_t n, k;
    Duration latency;      // max one-way latency
    Duration persistDelay; // fsync
    std::size_t paths;
};

struct InFlight {
    TimePoint at;
    std::uint64_t order;
    int to;
    std::size_t path;
    hb::Frame frame;
    bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : order > o.order; }
};

// One direction of one path.
struct Wire {
    bool up = true;
    bool stalled = false; // bytes held (socat SIGSTOP) and released in a burst
    Duration extraDelay{0};
    TimePoint changedAt{}; // last time it was not fully working
    std::vector<hb::Frame> held;
};

struct SimNode {
    std::unique_ptr<NodeCore> core;
    bool alive = false;
    bool hung = false;
    TimePoint notOkSince{}; // last time it was dead or hung (for "continuously alive")
    std::uint64_t persisted = 0;
    std::uint32_t incarnation = 0;
    std::uint32_t peerIncarnation = 0; // the peer_incarnation file
    bool diskFails = false;            // epoch writes fail (ENOSPC, EIO, read-only remount)
    TimePoint diskChangedAt{};
    std::vector<std::pair<TimePoint, std::uint64_t>> persisting;
    std::vector<std::pair<std::size_t, hb::Frame>> inbox; // delivered while hung
    std::uint64_t lastEpoch = 0;
    bool drives = false;  // what the DriveChassis effects said last (the daemon's view)
    bool bmcDown = false; // the node cannot reach its BMC
    TimePoint bmcChangedAt{};
    std::unique_ptr<NodeCore> leaving; // stopped cleanly, its second stop frames still due
    bool acting = false;
    TimePoint actingSince{};
};

class World {
  public:
    World(std::uint64_t seed, bool verbose)
        : rng_(seed), bmcRng_(seed ^ 0x9e3779b97f4a7c15ULL), verbose_(verbose) {
        std::uniform_int_distribution<int> pick(0, 3);
        const Duration intervals[] = {5ms, 10ms, 20ms, 50ms};
        p_.interval = intervals[pick(rng_)];
        p_.n = std::uniform_int_distribution<std::uint32_t>(2, 5)(rng_);
        p_.k = std::uniform_int_distribution<std::uint32_t>(1, 3)(rng_);
        p_.latency = std::chrono::duration_cast<Duration>(
            p_.interval * std::uniform_real_distribution<double>(0.01, 0.3)(rng_));
        p_.persistDelay = std::chrono::duration_cast<Duration>(
            std::chrono::microseconds(std::uniform_int_distribution<int>(50, 3000)(rng_)));
        p_.paths = std::uniform_int_distribution<std::size_t>(1, 3)(rng_);
        wires_.assign(p_.paths, std::array<Wire, kNodes>{});
        for (int i = 0; i < kNodes; ++i) {
            nodes_[i].persisted = 0;
        }
    }

    const Params& params() const { return p_; }

    void run() {
        start(0, now_);
        start(1, now_ + std::chrono::duration_cast<Duration>(
                            p_.interval * std::uniform_real_distribution<double>(0, 20)(rng_)));
        Duration detection = p_.interval * p_.n;
        // Settle, then a random fault schedule, then heal everything and check the end state.
        advanceTo(now_ + 3s);
        expectOneActive("after start");
        int faults = std::uniform_int_distribution<int>(1, 10)(rng_);
        for (int i = 0; i < faults; ++i) {
            Duration gap = std::chrono::duration_cast<Duration>(
                detection * std::uniform_real_distribution<double>(0.05, 6.0)(rng_));
            advanceTo(now_ + gap);
            injectFault();
            maybeLoseBmc();
        }
        advanceTo(now_ + detection * 4);
        healAll();
        // A node whose epoch writes failed retries at most 5 s apart.
        // A BMC outage ends by itself, up to 6 s after it began.
        advanceTo(now_ + 3s + p_.interval * 40 + (diskFaults_ ? 5s : 0s) + (bmcFaults_ ? 6s : 0s));
        expectOneActive("after heal");
    }

  private:
    void log(const std::string& s) {
        if (verbose_) {
            std::printf("%9.3f ms  %s\n",
                        std::chrono::duration<double, std::milli>(now_ - t0_).count(), s.c_str());
        }
    }

    NodeCoreConfig config(int i) const {
        NodeCoreConfig c;
        c.nodeId = static_cast<std::uint32_t>(i + 1);
        c.slot = static_cast<std::uint8_t>(i);
        c.missThreshold = p_.n;
        c.recoveryThreshold = p_.k;
        c.initDead = 1s;
        for (std::size_t pi = 0; pi < p_.paths; ++pi) {
            c.paths.push_back({"p" + std::to_string(pi), PathType::Udp, "", p_.interval});
        }
        return c;
    }

    void start(int i, TimePoint at) {
        if (at > now_) {
            advanceTo(at);
        }
        SimNode& n = nodes_[i];
        n.incarnation++;
        n.drives = false;
        n.core =
            std::make_unique<NodeCore>(config(i), n.persisted, n.incarnation, n.peerIncarnation);
        n.alive = true;
        n.hung = false;
        n.notOkSince = now_;
        n.inbox.clear();
        n.persisting.clear();
        n.lastEpoch = n.persisted;
        log("start node " + std::to_string(i) + " epoch " + std::to_string(n.persisted));
        n.leaving.reset();
        n.core->start(now_);
        collect(i);
        reportBmc(i);
    }

    // The daemon reports the BMC every 200 ms; the sim reports it whenever the node could have
    // missed a change (a change, a start, a resume). The core debounces it.
    void reportBmc(int i) {
        SimNode& n = nodes_[i];
        if (n.alive && !n.hung && n.core) {
            n.core->setBmcReachable(now_, !n.bmcDown);
            collect(i);
        }
    }

    void setBmc(int i, bool down) {
        SimNode& n = nodes_[i];
        n.bmcDown = down;
        n.bmcChangedAt = now_;
        log(std::string("bmc ") + (down ? "unreachable" : "reachable") + " on node " +
            std::to_string(i));
        reportBmc(i);
    }

    // A cleanly stopped node sends its stop frames a second time, then falls silent.
    void stepLeaving(int i) {
        SimNode& n = nodes_[i];
        if (!n.leaving || n.leaving->nextWakeup() > now_) {
            return;
        }
        n.leaving->onTimer(now_);
        for (Effect& e : n.leaving->takeEffects()) {
            if (auto* f = std::get_if<effect::SendFrame>(&e)) {
                send(i, f->path, std::move(f->frame));
            } else {
                fail("a stopped node asked for more than its second stop frames");
            }
        }
        if (n.leaving->shutdownDone()) {
            n.leaving.reset();
        }
    }

    void kill(int i) {
        SimNode& n = nodes_[i];
        if (!n.alive) {
            return;
        }
        log("kill node " + std::to_string(i));
        bool wasActing = n.acting;
        n.alive = false;
        n.hung = false;
        n.notOkSince = now_;
        n.core.reset();
        n.drives = false;
        n.persisting.clear();
        n.inbox.clear();
        updateActing();
        int other = 1 - i;
        SimNode& o = nodes_[other];
        if (wasActing && o.alive && !o.hung && o.core->role() == Role::Standby && !o.diskFails) {
            Duration bound = p_.interval * (p_.n + 1) + 2 * p_.latency + p_.persistDelay + 1ms;
            // Frames the dead node sent before dying may still be on a delayed wire; the bound
            // runs from the last of them.
            TimePoint last = now_;
            for (std::size_t pi = 0; pi < p_.paths; ++pi) {
                last = std::max(last, lastArrival_[pi][i]);
            }
            obligation_ = {last + bound, other};
        }
    }

    void collect(int i) {
        SimNode& n = nodes_[i];
        if (!n.core) {
            return;
        }
        for (Effect& e : n.core->takeEffects()) {
            if (auto* f = std::get_if<effect::SendFrame>(&e)) {
                send(i, f->path, std::move(f->frame));
            } else if (auto* pe = std::get_if<effect::PersistEpoch>(&e)) {
                n.persisting.push_back({now_ + p_.persistDelay, pe->epoch});
            } else if (auto* pi = std::get_if<effect::PersistPeerIncarnation>(&e)) {
                n.peerIncarnation = pi->incarnation;
            } else if (auto* d = std::get_if<effect::DriveChassis>(&e)) {
                if (d->on == n.drives) {
                    fail("node " + std::to_string(i) + " was told to drive the chassis " +
                         (d->on ? "on" : "off") + " twice");
                }
                n.drives = d->on;
            } else if (auto* ev = std::get_if<effect::Notify>(&e)) {
                onEvent(i, ev->event);
            }
        }
        if (n.drives != n.core->drivesChassis()) {
            fail("node " + std::to_string(i) + ": the DriveChassis effects do not follow the role");
        }
        std::uint64_t ep = n.core->epoch();
        if (ep < n.lastEpoch) {
            fail("epoch went back on node " + std::to_string(i));
        }
        n.lastEpoch = ep;
        updateActing();
    }

    void send(int from, std::size_t path, hb::Frame f) {
        Wire& w = wires_[path][from];
        if (!w.up) {
            return;
        }
        if (w.stalled) {
            w.held.push_back(std::move(f));
            return;
        }
        Duration lat = std::chrono::duration_cast<Duration>(
            p_.latency * std::uniform_real_distribution<double>(0.2, 1.0)(rng_));
        // Per-wire FIFO: a frame never overtakes the one before it (streams, and UDP on a veth).
        TimePoint at = std::max(now_ + lat + w.extraDelay, lastArrival_[path][from]);
        lastArrival_[path][from] = at;
        inflight_.push({at, order_++, 1 - from, path, std::move(f)});
    }

    void onEvent(int i, const Event& e) {
        if (e.type == EventType::Switchover && e.role == Role::Active) {
            log("node " + std::to_string(i) + " ACTIVE reason " + std::string(toString(e.reason)) +
                " epoch " + std::to_string(e.epoch));
            if (e.reason == SwitchoverReason::PeerLost || e.reason == SwitchoverReason::PeerFault) {
                checkNoFalseSwitchover(i, e.reason);
            }
        } else if (e.type == EventType::Switchover) {
            log("node " + std::to_string(i) + " " + std::string(toString(e.role)) + " reason " +
                std::string(toString(e.reason)));
        }
    }

    // A takeover while some path has fully worked (both directions, both nodes up) for a whole
    // detection window is a false switchover.
    void checkNoFalseSwitchover(int i, SwitchoverReason reason) {
        int other = 1 - i;
        Duration window = p_.interval * (p_.n + 1) + 2 * p_.latency + p_.persistDelay;
        TimePoint since = now_ - window;
        const SimNode& o = nodes_[other];
        if (!o.alive || o.hung || o.notOkSince > since) {
            return;
        }
        if (o.diskFails || o.diskChangedAt > since || o.bmcDown || o.bmcChangedAt > since ||
            (reason == SwitchoverReason::PeerFault && o.core && o.core->role() == Role::Fault)) {
            return; // the peer was unfit (its next epoch not durable): handing over is right
        }
        if (nodes_[i].notOkSince > since) {
            return; // this node itself restarted/hung within the window
        }
        for (std::size_t pi = 0; pi < p_.paths; ++pi) {
            if (working(pi, since)) {
                fail("false switchover: node " + std::to_string(i) + " took over while path " +
                     std::to_string(pi) + " worked");
            }
        }
    }

    bool working(std::size_t pi, TimePoint since) const {
        for (int d = 0; d < kNodes; ++d) {
            const Wire& w = wires_[pi][d];
            if (!w.up || w.stalled || w.extraDelay > Duration{0} || w.changedAt > since) {
                return false;
            }
        }
        return true;
    }

    bool bothOk() const {
        return nodes_[0].alive && !nodes_[0].hung && nodes_[1].alive && !nodes_[1].hung;
    }

    void updateActing() {
        for (auto& n : nodes_) {
            bool acting = n.alive && !n.hung && n.core && n.drives;
            if (acting && !n.acting) {
                n.actingSince = now_;
            }
            n.acting = acting;
        }
    }

    void checkInvariants() {
        // Every transition the handlers make is in the FSM's from/to table.
        for (int i = 0; i < 2; ++i) {
            if (nodes_[i].core && nodes_[i].core->fsm().refusedTransitions() != 0) {
                fail("node " + std::to_string(i) + " tried a role transition outside the table");
            }
        }
        // Two actives only while every path is down; resolved within an interval plus a round
        // trip once a path works again.
        if (nodes_[0].acting && nodes_[1].acting) {
            TimePoint healed = TimePoint::max();
            for (std::size_t pi = 0; pi < p_.paths; ++pi) {
                if (working(pi, now_)) {
                    TimePoint from = std::max({wires_[pi][0].changedAt, wires_[pi][1].changedAt,
                                               nodes_[0].notOkSince, nodes_[1].notOkSince});
                    healed = std::min(healed, from);
                }
            }
            if (healed != TimePoint::max()) {
                TimePoint ref = std::max({healed, nodes_[0].actingSince, nodes_[1].actingSince});
                Duration bound = p_.interval + 2 * p_.latency + 1ms;
                if (now_ - ref > bound) {
                    fail("two actives " +
                         std::to_string(
                             std::chrono::duration<double, std::milli>(now_ - ref).count()) +
                         " ms after a path worked again");
                }
            }
        }
        if (obligation_) {
            auto [deadline, node] = *obligation_;
            const SimNode& n = nodes_[node];
            if (!n.alive || n.hung || n.diskFails) {
                obligation_.reset(); // (an unwritable epoch: it takes over once a retry works)
            } else if (n.acting) {
                obligation_.reset();
            } else if (now_ > deadline) {
                fail("the dead active was not replaced in time by node " + std::to_string(node));
            }
        }
    }

    void injectFault() {
        std::uniform_int_distribution<int> kind(0, 15);
        std::uniform_int_distribution<std::size_t> pathPick(0, p_.paths - 1);
        std::uniform_int_distribution<int> nodePick(0, 1);
        Duration detection = p_.interval * p_.n;
        auto randDur = [&](double lo, double hi) {
            return std::chrono::duration_cast<Duration>(
                detection * std::uniform_real_distribution<double>(lo, hi)(rng_));
        };
        int k = kind(rng_);
        std::size_t pi = pathPick(rng_);
        int node = nodePick(rng_);
        switch (k) {
        case 0: // cut a path both ways
            log("cut path " + std::to_string(pi));
            setWire(pi, 0, false);
            setWire(pi, 1, false);
            break;
        case 1: // cut one direction
            log("cut path " + std::to_string(pi) + " from node " + std::to_string(node));
            setWire(pi, node, false);
            break;
        case 2: // restore a path
            log("restore path " + std::to_string(pi));
            setWire(pi, 0, true);
            setWire(pi, 1, true);
            break;
        case 3: // cut every path
            log("cut all paths");
            for (std::size_t i = 0; i < p_.paths; ++i) {
                setWire(i, 0, false);
                setWire(i, 1, false);
            }
            break;
        case 4: // stall a line (bytes held, then a burst)
            log("stall path " + std::to_string(pi));
            for (int d = 0; d < kNodes; ++d) {
                wires_[pi][d].stalled = true;
                wires_[pi][d].changedAt = now_;
            }
            break;
        case 5: { // delay on a path
            Duration extra = randDur(0.1, 1.5);
            log("delay path " + std::to_string(pi));
            for (int d = 0; d < kNodes; ++d) {
                wires_[pi][d].extraDelay = extra;
                wires_[pi][d].changedAt = now_;
            }
            break;
        }
        case 6: // kill -9
            kill(node);
            break;
        case 7: // restart a dead (or live) node
            kill(node);
            start(node, now_ + randDur(0.0, 3.0));
            break;
        case 8: { // hang (SIGSTOP) then resume (SIGCONT)
            SimNode& n = nodes_[node];
            if (n.alive && !n.hung) {
                log("hang node " + std::to_string(node));
                n.hung = true;
                n.notOkSince = now_;
                if (obligation_ && obligation_->second == node) {
                    obligation_.reset(); // a hung standby owes nothing until it runs again
                }
                updateActing();
                pendingResume_.push_back({now_ + randDur(0.2, 5.0), node});
            }
            break;
        }
        case 9: { // garbage and frames with a wrong key thrown at a path
            SimNode& n = nodes_[node];
            if (n.alive && !n.hung) {
                int count = std::uniform_int_distribution<int>(1, 40)(rng_);
                for (int c = 0; c < count; ++c) {
                    n.core->onRejected(now_, pi,
                                       c % 3 ? hb::DecodeError::BadLength
                                             : hb::DecodeError::AuthFailure);
                }
                collect(node);
            }
            break;
        }
        case 10: { // manual switchover on whichever node is active
            for (int i = 0; i < kNodes; ++i) {
                if (nodes_[i].alive && !nodes_[i].hung && nodes_[i].core->drivesChassis()) {
                    log("manual switchover on node " + std::to_string(i));
                    nodes_[i].core->requestSwitchover(now_, false);
                    collect(i);
                    break;
                }
            }
            break;
        }
        case 11: { // clean shutdown, then restart
            SimNode& n = nodes_[node];
            if (n.alive && !n.hung) {
                log("shutdown node " + std::to_string(node));
                n.core->shutdown(now_);
                collect(node);
                n.alive = false;
                n.notOkSince = now_;
                n.leaving = std::move(n.core);
                n.persisting.clear();
                updateActing();
                pendingStart_.push_back({now_ + randDur(0.5, 4.0), node});
            }
            break;
        }
        case 12: { // the state directory stops taking writes, for a while
            SimNode& n = nodes_[node];
            if (!n.diskFails) {
                log("disk fails on node " + std::to_string(node));
                setDisk(node, true);
                pendingDisk_.push_back({now_ + randDur(0.5, 20.0), node});
            }
            break;
        }
        case 13: { // the module is replaced (state wiped): incarnation and epoch start again
            SimNode& n = nodes_[node];
            kill(node);
            log("wipe node " + std::to_string(node));
            n.incarnation = 0;
            n.persisted = 0;
            n.peerIncarnation = 0;
            start(node, now_ + randDur(1.0, 4.0));
            break;
        }
        default: // heal everything
            healAll();
            break;
        }
    }

    // Now and then a node loses its BMC for 0.5 to 6 s (unfit once it lasts 3 s).
    void maybeLoseBmc() {
        if (!std::bernoulli_distribution(0.1)(bmcRng_)) {
            return;
        }
        int node = std::uniform_int_distribution<int>(0, 1)(bmcRng_);
        Duration outage = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
            std::uniform_real_distribution<double>(0.5, 6.0)(bmcRng_)));
        if (!nodes_[node].bmcDown) {
            setBmc(node, true);
            bmcFaults_ = true;
            pendingBmc_.push_back({now_ + outage, node});
        }
    }

    void setDisk(int i, bool fails) {
        nodes_[i].diskFails = fails;
        nodes_[i].diskChangedAt = now_;
        if (fails) {
            diskFaults_ = true;
        } else {
            log("disk recovers on node " + std::to_string(i));
        }
    }

    void setWire(std::size_t pi, int d, bool up) {
        Wire& w = wires_[pi][d];
        w.up = up;
        w.changedAt = std::max(now_, lastArrival_[pi][d]);
        if (!up) {
            w.held.clear();
        }
    }

    void healAll() {
        log("heal all");
        for (std::size_t pi = 0; pi < p_.paths; ++pi) {
            for (int d = 0; d < kNodes; ++d) {
                Wire& w = wires_[pi][d];
                bool wasBroken = !w.up || w.stalled || w.extraDelay > Duration{0};
                w.up = true;
                w.extraDelay = Duration{0};
                if (w.stalled) {
                    w.stalled = false;
                    auto held = std::move(w.held);
                    w.held.clear();
                    for (auto& f : held) {
                        send(d, pi, std::move(f)); // the burst of stale bytes
                    }
                }
                if (wasBroken) {
                    // Frames still queued behind a delay keep the path from working until they
                    // have drained.
                    w.changedAt = std::max(now_, lastArrival_[pi][d]);
                }
            }
        }
        for (auto& [at, node] : pendingResume_) {
            at = std::min(at, now_);
        }
        for (auto& [at, node] : pendingDisk_) {
            at = std::min(at, now_);
        }
        for (int i = 0; i < kNodes; ++i) {
            if (!nodes_[i].alive && !isPendingStart(i)) {
                pendingStart_.push_back({now_, i});
            }
        }
    }

    bool isPendingStart(int i) const {
        return std::any_of(pendingStart_.begin(), pendingStart_.end(),
                           [i](const auto& p) { return p.second == i; });
    }

    void resume(int i) {
        SimNode& n = nodes_[i];
        if (!n.alive || !n.hung) {
            return;
        }
        log("resume node " + std::to_string(i));
        n.hung = false;
        n.notOkSince = now_;
        auto inbox = std::move(n.inbox);
        n.inbox.clear();
        bool timerFirst = std::bernoulli_distribution(0.5)(rng_);
        if (timerFirst) {
            n.core->onTimer(now_);
            collect(i);
        }
        for (auto& [path, f] : inbox) {
            if (!n.core) {
                break;
            }
            n.core->onFrame(now_, path, f);
            collect(i);
        }
        if (!timerFirst && n.core) {
            n.core->onTimer(now_);
            collect(i);
        }
        reportBmc(i);
    }

    // Advance the virtual clock, processing every due event in time order.
    void advanceTo(TimePoint until) {
        while (true) {
            TimePoint next = until;
            for (int i = 0; i < kNodes; ++i) {
                const SimNode& n = nodes_[i];
                if (n.alive && !n.hung && n.core) {
                    next = std::min(next, n.core->nextWakeup());
                }
                if (n.alive && !n.hung) {
                    for (const auto& pe : n.persisting) {
                        next = std::min(next, pe.first);
                    }
                }
            }
            if (!inflight_.empty()) {
                next = std::min(next, inflight_.top().at);
            }
            for (const auto& r : pendingResume_) {
                next = std::min(next, r.first);
            }
            for (const auto& s : pendingStart_) {
                next = std::min(next, s.first);
            }
            for (const auto& d : pendingDisk_) {
                next = std::min(next, d.first);
            }
            for (const auto& b : pendingBmc_) {
                next = std::min(next, b.first);
            }
            for (const auto& n : nodes_) {
                if (n.leaving) {
                    next = std::min(next, n.leaving->nextWakeup());
                }
            }
            if (next > until) {
                break;
            }
            now_ = std::max(now_, next);
            step();
            checkInvariants();
            if (failed_) {
                return;
            }
            if (next == until && nothingDue()) {
                break;
            }
        }
        now_ = std::max(now_, until);
    }

    bool nothingDue() const {
        for (const auto& n : nodes_) {
            if (n.leaving && n.leaving->nextWakeup() <= now_) {
                return false;
            }
            if (!n.alive || n.hung || !n.core) {
                continue;
            }
            if (n.core->nextWakeup() <= now_) {
                return false;
            }
            for (const auto& pe : n.persisting) {
                if (pe.first <= now_) {
                    return false;
                }
            }
        }
        return inflight_.empty() || inflight_.top().at > now_;
    }

    void step() {
        for (std::size_t r = 0; r < pendingResume_.size();) {
            if (pendingResume_[r].first <= now_) {
                int node = pendingResume_[r].second;
                pendingResume_.erase(pendingResume_.begin() + static_cast<long>(r));
                resume(node);
            } else {
                ++r;
            }
        }
        for (std::size_t d = 0; d < pendingDisk_.size();) {
            if (pendingDisk_[d].first <= now_) {
                int node = pendingDisk_[d].second;
                pendingDisk_.erase(pendingDisk_.begin() + static_cast<long>(d));
                setDisk(node, false);
            } else {
                ++d;
            }
        }
        for (std::size_t b = 0; b < pendingBmc_.size();) {
            if (pendingBmc_[b].first <= now_) {
                int node = pendingBmc_[b].second;
                pendingBmc_.erase(pendingBmc_.begin() + static_cast<long>(b));
                setBmc(node, false);
            } else {
                ++b;
            }
        }
        for (int i = 0; i < kNodes; ++i) {
            stepLeaving(i);
        }
        for (std::size_t s = 0; s < pendingStart_.size();) {
            if (pendingStart_[s].first <= now_) {
                int node = pendingStart_[s].second;
                pendingStart_.erase(pendingStart_.begin() + static_cast<long>(s));
                if (!nodes_[node].alive) {
                    start(node, now_);
                }
            } else {
                ++s;
            }
        }
        while (!inflight_.empty() && inflight_.top().at <= now_) {
            InFlight f = inflight_.top();
            inflight_.pop();
            SimNode& n = nodes_[f.to];
            if (!n.alive || !n.core) {
                continue;
            }
            if (n.hung) {
                n.inbox.emplace_back(f.path, std::move(f.frame));
                continue;
            }
            n.core->onFrame(now_, f.path, f.frame);
            collect(f.to);
        }
        for (int i = 0; i < kNodes; ++i) {
            SimNode& n = nodes_[i];
            if (!n.alive || n.hung || !n.core) {
                continue;
            }
            for (std::size_t pe = 0; pe < n.persisting.size();) {
                if (n.persisting[pe].first <= now_) {
                    std::uint64_t e = n.persisting[pe].second;
                    n.persisting.erase(n.persisting.begin() + static_cast<long>(pe));
                    if (n.diskFails) {
                        n.core->onEpochPersistFailed(now_, e, "Input/output error");
                        collect(i);
                        continue;
                    }
                    if (e < n.persisted) {
                        fail("persisted epoch went back");
                    }
                    n.persisted = std::max(n.persisted, e);
                    n.core->onEpochPersisted(now_, e);
                    collect(i);
                } else {
                    ++pe;
                }
            }
            if (n.core->nextWakeup() <= now_) {
                n.core->onTimer(now_);
                collect(i);
            }
        }
    }

    void expectOneActive(const char* when) {
        if (failed_) {
            return;
        }
        int active = 0, standby = 0;
        for (const auto& n : nodes_) {
            if (!n.alive || !n.core) {
                continue;
            }
            active += n.drives ? 1 : 0;
            standby += n.core->role() == Role::Standby ? 1 : 0;
        }
        if (active != 1 || standby != 1) {
            fail(std::string("expected one ACTIVE and one STANDBY ") + when + ", got " +
                 std::to_string(active) + " active and " + std::to_string(standby) + " standby");
            return;
        }
    }

    void fail(const std::string& what) {
        if (!failed_) {
            failed_ = Violation{
                what + " at " +
                std::to_string(std::chrono::duration<double, std::milli>(now_ - t0_).count()) +
                " ms"};
        }
    }

  public:
    const std::optional<Violation>& failure() const { return failed_; }

  private:
    std::mt19937_64 rng_;
    std::mt19937_64
        bmcRng_; // BMC outages: a stream of their own, the other faults stay as they were
    bool verbose_;
    Params p_{};
    const TimePoint t0_ = TimePoint{} + std::chrono::hours(1);
    TimePoint now_ = t0_;
    SimNode nodes_[kNodes];
    std::vector<std::array<Wire, kNodes>> wires_;
    std::map<std::size_t, std::map<int, TimePoint>> lastArrival_;
    std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> inflight_;
    std::uint64_t order_ = 0;
    std::vector<std::pair<TimePoint, int>> pendingResume_;
    std::vector<std::pair<TimePoint, int>> pendingStart_;
    std::vector<std::pair<TimePoint, int>> pendingDisk_;
    std::vector<std::pair<TimePoint, int>> pendingBmc_;
    bool diskFaults_ = false;
    bool bmcFaults_ = false;
    std::optional<std::pair<TimePoint, int>> obligation_;
    std::optional<Violation> failed_;
};

std::uint64_t parseU64(std::string_view s) {
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

} // namespace

int main(int argc, char** argv) {
    std::uint64_t schedules = 10000;
    if (const char* env = std::getenv("HS_SIM_SCHEDULES")) {
        schedules = parseU64(env);
    }
    std::optional<std::uint64_t> seed;
    bool verbose = false;
    std::uint64_t base = 0x5eed0000;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--schedules" && i + 1 < argc) {
            schedules = parseU64(argv[++i]);
        } else if (a == "--seed" && i + 1 < argc) {
            seed = parseU64(argv[++i]);
        } else if (a == "--base" && i + 1 < argc) {
            base = parseU64(argv[++i]);
        } else if (a == "--verbose") {
            verbose = true;
        } else {
            std::fprintf(stderr, "usage: sim_roles [--schedules N] [--seed S] [--verbose]\n");
            return 64;
        }
    }
    if (verbose) {
        std::setvbuf(stdout, nullptr, _IONBF, 0);
    }
    hs::log::setLevel(verbose ? hs::log::Level::Info : static_cast<hs::log::Level>(99));
    std::uint64_t first = seed ? *seed : base;
    std::uint64_t count = seed ? 1 : schedules;
    std::uint64_t failed = 0;
    for (std::uint64_t s = first; s < first + count; ++s) {
        World w(s, verbose);
        w.run();
        if (w.failure()) {
            ++failed;
            const auto& p = w.params();
            std::printf("FAIL seed=%llu interval_ms=%.1f n=%u k=%u paths=%zu: %s\n"
                        "     replay: sim_roles --seed %llu --verbose\n",
                        static_cast<unsigned long long>(s),
                        std::chrono::duration<double, std::milli>(p.interval).count(), p.n, p.k,
                        p.paths, w.failure()->what.c_str(), static_cast<unsigned long long>(s));
            if (failed >= 10) {
                break;
            }
        }
    }
    std::printf("sim_roles: %llu schedules, %llu failed\n", static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(failed));
    return failed == 0 ? 0 : 1;
}

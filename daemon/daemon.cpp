#include "daemon/daemon.hpp"

#include "base/asio.hpp"
#include "base/config_error.hpp"
#include "base/log.hpp"
#include "chassis/chassis_config.hpp"
#include "chassis/chassis_manager.hpp"
#include "core/control_api.hpp"
#include "core/node_core.hpp"
#include "daemon/control_server.hpp"
#include "daemon/float_addr.hpp"
#include "daemon/hooks.hpp"
#include "daemon/key_ring.hpp"
#include "daemon/reload.hpp"
#include "daemon/replica_files.hpp"
#include "daemon/replication.hpp"
#include "daemon/service_status.hpp"
#include "daemon/slot_source.hpp"
#include "daemon/state_files.hpp"
#include "daemon/status_json.hpp"
#include "daemon/systemd_notify.hpp"
#include "hb/frame.hpp"
#include "hb/link.hpp"
#include "hb/link_ether.hpp"
#include "metrics/metrics_server.hpp"
#include "subagent/snmp_config.hpp"
#include "subagent/subagent.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <sched.h>
#include <sys/mman.h>
#include <thread>
#include <variant>

namespace hs {
namespace {

constexpr auto kPublishEvery = milliseconds(500);
constexpr auto kFitCheckEvery = milliseconds(200);
// After the last stop frame, before the links close (the frames leave the socket buffers).
constexpr auto kLingerAfterStop = milliseconds(20);

std::int64_t unixNowMs() {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

NodeCoreConfig nodeCoreConfig(const Config& cfg, std::uint32_t slot) {
    NodeCoreConfig c;
    c.nodeId = cfg.node.id;
    c.slot = static_cast<std::uint8_t>(slot);
    c.missThreshold = cfg.heartbeat.missThreshold;
    c.recoveryThreshold = cfg.heartbeat.recoveryThreshold;
    c.initDead = cfg.heartbeat.initDead;
    c.preempt = cfg.heartbeat.preempt;
    c.preemptDelay = cfg.heartbeat.preemptDelay;
    c.switchoverGuard = {.limit = cfg.heartbeat.switchoverLimit,
                         .window = cfg.heartbeat.switchoverWindow,
                         .holdDown = cfg.heartbeat.switchoverHoldDown};
    for (const auto& p : cfg.paths) {
        NodePathConfig np;
        np.name = p.link.name;
        np.type = p.link.type;
        np.interval = p.interval;
        if (p.link.type == PathType::Serial) {
            np.endpoint = p.link.device + "@" + std::to_string(p.link.baud);
        } else if (p.link.type == PathType::Ether) {
            np.endpoint = p.link.interfaceName + "/" + hb::formatMac(p.link.peerMac);
        } else {
            np.endpoint = p.link.peerAddress + ":" + std::to_string(p.link.peerPort);
        }
        c.paths.push_back(std::move(np));
    }
    return c;
}

// What the link needs beyond the path's own keys: an inbound TCP connection that delivers no
// authentic frame for four detection times (at least one second, so a short stall of either node
// does not cost the connection) is closed.
hb::LinkConfig linkConfig(const Config& cfg, const PathConfig& p) {
    hb::LinkConfig l = p.link;
    const auto detection = p.interval * cfg.heartbeat.missThreshold;
    l.idleTimeout = std::max<std::chrono::milliseconds>(4 * detection, seconds(1));
    if (p.link.type != PathType::Serial) {
        // A tick's replication frames leave right after its heartbeat (daemon/replication.hpp).
        l.maxQueuedFrames = std::max(l.maxQueuedFrames, kNetworkQueuedFrames);
    }
    return l;
}

NodeCoreConfig withFencing(NodeCoreConfig c, bool fencing) {
    c.fencing = fencing;
    c.wallClockMs = unixNowMs;
    return c;
}

} // namespace

std::string enterRealtime(int priority) {
    sched_param sp{};
    sp.sched_priority = priority;
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
        return std::string("sched_setscheduler(SCHED_FIFO): ") + std::strerror(errno);
    }
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
        return std::string("mlockall: ") + std::strerror(errno);
    }
    return {};
}

struct Daemon::Impl {
    explicit Impl(ValidatedConfig v);
    ~Impl() {
        if (reloadThread.joinable()) {
            reloadThread.join(); // it only posts to io, which is still there
        }
    }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    int run();
    void startLinks();
    bool onRx(std::size_t path, std::span<const std::uint8_t> bytes, TimePoint rxTime);
    void pump();
    bool quiet() const;
    void setWakeOnReceive();
    void apply(const effect::SendFrame& e);
    void apply(const effect::PersistEpoch& e);
    void apply(const effect::PersistPeerIncarnation& e);
    void apply(const effect::FencePeer& e);
    void apply(const effect::CancelFence& e);
    void apply(const effect::DriveChassis& e);
    void apply(const effect::Notify& e);
    void armTimer();
    void armLead();
    void afterTimer(const boost::system::error_code& ec);
    void afterPersist(std::uint64_t epoch, std::error_code ec);
    void afterPeerIncarnationPersist(std::uint32_t incarnation, std::error_code ec);
    void handleEvent(Event e);
    void publish();
    void afterPublishTimer(const boost::system::error_code& ec);
    void checkFit();
    void updateServiceStatus();
    void runRoleHooks();
    void runPathHook(const Event& e);
    void runChassisHook(const Event& e);
    void startReload();
    void finishReload(const std::shared_ptr<ValidatedConfig>& next,
                      const std::shared_ptr<toml::table>& doc, std::string error);
    Snapshot snapshot();
    void registerHandlers();
    void control(ControlRequest req, std::function<void(ControlResult)> done);
    control::RoleView roleView() const;
    void onSignal(const boost::system::error_code& ec, int sig);
    void shutdown();
    void finish();

    Config cfg;
    asio::io_context io;
    // From validate(): everything that can be wrong in the configuration was checked before the
    // state files are touched (loading them raises the incarnation).
    KeyRing keys; // the heartbeat key, two of them during a rotation (key_ring.hpp)
    std::uint32_t slot = 0;
    chassis::ChassisConfig chassisCfg;
    subagent::SnmpConfig snmpCfg;
    StateFiles state;
    NodeCore core;
    std::unique_ptr<EpochPersister> persister;
    std::vector<std::unique_ptr<hb::Link>> links;
    asio::steady_timer timer{io};
    bool timerArmed = false;
    TimePoint timerExpiry{};
    // Waits of nothing, one tick ahead of `timer` in steady state (armLead).
    std::array<asio::steady_timer, 2> leads{asio::steady_timer(io), asio::steady_timer(io)};
    std::array<std::optional<TimePoint>, 2> leadAt;
    asio::steady_timer publishTimer{io};
    asio::signal_set signals{io, SIGTERM, SIGINT, SIGHUP};
    std::unique_ptr<ControlServer> controlServer;
    std::unique_ptr<chassis::ChassisManager> chassisMgr;
    std::unique_ptr<subagent::Subagent> snmp;
    std::unique_ptr<Replication> replication;   // the replicated store (daemon/replication.hpp)
    std::unique_ptr<ReplicaFiles> replicaFiles; // its file in state_dir and shared memory
    void startReplication();
    void replicationNotices();
    std::unique_ptr<FloatAddresses> addrs; // [[address]]: held exactly while driving
    std::vector<FloatAddrStatus> addrSeen; // their status at the last change (addressEvents)
    std::vector<Event> addrEvents;         // made by a change, handled after it (posted)
    void addressChanged();
    metrics::MetricsConfig metricsCfg;
    std::unique_ptr<metrics::MetricsServer> metricsServer; // [metrics]: off the core thread
    std::vector<std::uint8_t> txBuf;
    bool drives = false;
    // The command lease: renewed after every core tick while this node drives the chassis, up
    // to leaseLength past that tick (chassis/command_lease.hpp derives it).
    Duration leaseLength{};
    Duration detection{};
    std::optional<TimePoint> lastTick; // `now` of the last NodeCore::onTimer (heartbeats sent)
    bool draining = false;             // the links are handing up what waited for this tick
    bool mirrorHot = false;            // the last readiness told: this node's mirror was hot
    bool wakeOnRx = true;              // the links wake this thread for each frame (not steady)
    bool dirty = true;
    int publishTicks = 0; // counters are republished every kPublishEvery even when nothing changed
    bool stopping = false;
    bool finishing = false;
    std::uint64_t generation = 0;
    ServiceStatus serviceStatus; // systemd's STATUS= line
    HooksConfig hooksCfg;
    Role stopRole = Role::Init; // the role when the clean stop began (on_stop's HS_LAST_ROLE)
    std::unique_ptr<HookRunner> hooks;
    Role hookRole = Role::Init; // the role the hooks were last told about
    toml::table runningDoc;     // the running configuration file's document (reload compares)
    std::thread reloadThread;   // reads and validates a new file off the core thread
    bool reloading = false;
};

namespace {

StateFiles loadState(const std::filesystem::path& dir) {
    StateFiles s(dir);
    s.load();
    s.loadPeerIncarnation();
    return s;
}

// The state directory is created (when missing) only now, after validate() and never by --check;
// loading the state files raises the incarnation.
StateFiles prepareAndLoadState(const Config& cfg) {
    prepareStateDir(cfg);
    return loadState(cfg.node.stateDir);
}

} // namespace

Daemon::Impl::Impl(ValidatedConfig v)
    : cfg(std::move(v.cfg)), keys(std::move(v.key)), slot(v.slot), chassisCfg(std::move(v.chassis)),
      snmpCfg(std::move(v.snmp)), state(prepareAndLoadState(cfg)),
      core(withFencing(nodeCoreConfig(cfg, slot), chassisCfg.fencing.enabled), state.epoch(),
           state.incarnation(), state.peerIncarnation()),
      metricsCfg(std::move(v.metrics)), hooksCfg(std::move(v.hooks)) {}

void Daemon::Impl::startLinks() {
    for (std::size_t i = 0; i < cfg.paths.size(); ++i) {
        links.push_back(hb::makeLink(io, linkConfig(cfg, cfg.paths[i])));
        links.back()->start([this, i](std::span<const std::uint8_t> bytes,
                                      TimePoint rxTime) { return onRx(i, bytes, rxTime); },
                            [this, i](const std::error_code& ec, const std::string& what) {
                                HS_WARN("event=path_io_error path={} error=\"{}\" detail=\"{}\"",
                                        cfg.paths[i].link.name, ec.message(), what);
                                core.onLinkError(Clock::now(), i);
                                dirty = true;
                            });
    }
}

// Returns whether the frame was authentic (the link keeps a new TCP connection only then).
bool Daemon::Impl::onRx(std::size_t path, std::span<const std::uint8_t> bytes, TimePoint rxTime) {
    if (stopping) {
        return false;
    }
    // rxTime is the arrival; a frame drained at the tick is read later than that.
    const TimePoint now = std::max(rxTime, Clock::now());
    hb::Frame f;
    hb::DecodeError err = keys.decode(bytes, f, rxTime);
    if (err == hb::DecodeError::Ok) {
        core.onFrame(now, path, f, rxTime);
        for (const auto& p : core.takePeerPayloads()) {
            replication->onPeerPayload(now, p);
        }
    } else {
        HS_DEBUG("event=frame_rejected path={} error={}", cfg.paths[path].link.name,
                 hb::toString(err));
        core.onRejected(now, path, err);
    }
    pump();
    return err == hb::DecodeError::Ok;
}

// Carries out what the node logic asked for, in its order, then re-arms the timer.
void Daemon::Impl::pump() {
    for (const Effect& e : core.takeEffects()) {
        std::visit([this](const auto& x) { apply(x); }, e);
    }
    // Renewed only while the core, right now, drives the chassis (confirmed ACTIVE, not stalled),
    // and only as far as the last tick allows: every heartbeat due by then has been sent.
    if (drives && chassisMgr && lastTick) {
        chassisMgr->renewLease(*lastTick + leaseLength);
    }
    runRoleHooks();
    if (stopping && core.shutdownDone()) {
        if (!finishing) {
            finishing = true;
            timer.expires_after(kLingerAfterStop);
            timer.async_wait([this](const boost::system::error_code&) { finish(); });
        }
        return;
    }
    setWakeOnReceive();
    if (!finishing && !draining) {
        armTimer(); // (a drain at the tick arms it once, after the tick)
    }
}

// Steady: both nodes settled in their roles (one ACTIVE, one STANDBY, both confirmed), the peer
// heard, no handover or takeover under way. Then the core thread wakes only for its timer (send
// ticks, detection deadlines) and the links keep what arrives until the next tick drains them
// (docs/design.md, "Reading at the tick"); otherwise every frame wakes it at once, so the answers
// of an exchange (a handover, a takeover, a split brain) go out without waiting.
bool Daemon::Impl::quiet() const {
    if (stopping || !core.peerAlive() || core.unconfirmed() || core.fsm().handingOver() ||
        core.fsm().takingOver()) {
        return false;
    }
    const Role r = core.role();
    // The replicated store travels at once (docs/replication.md, "At once"): the standby reads
    // every frame as it comes, so a Delta is acknowledged without waiting for its tick (as a
    // VRRP backup reads every advert), and the active reads at once while an operator's answer
    // waits for that acknowledgement.
    if (r == Role::Standby || (replication && replication->awaitingAck())) {
        return false;
    }
    const auto& peer = core.peer();
    const auto settled = [](Role x) { return x == Role::Active || x == Role::Standby; };
    return settled(r) && peer && settled(peer->role) && peer->role != r && !peer->unconfirmed &&
           !peer->takingOver;
}

void Daemon::Impl::setWakeOnReceive() {
    const bool on = !quiet();
    if (on == wakeOnRx) {
        return;
    }
    wakeOnRx = on;
    HS_DEBUG("event=wake_on_receive on={}", on);
    for (auto& l : links) {
        l->setWakeOnReceive(on);
    }
}

void Daemon::Impl::apply(const effect::SendFrame& e) {
    txBuf.clear();
    hb::encode(e.frame, keys.sendKey(Clock::now()), txBuf);
    links[e.path]->send(txBuf);
}

void Daemon::Impl::apply(const effect::PersistEpoch& e) {
    persister->persist(
        e.epoch, [this](std::uint64_t epoch, std::error_code ec) { afterPersist(epoch, ec); });
}

void Daemon::Impl::apply(const effect::PersistPeerIncarnation& e) {
    persister->persistPeerIncarnation(e.incarnation, [this](std::uint32_t i, std::error_code ec) {
        afterPeerIncarnationPersist(i, ec);
    });
}

void Daemon::Impl::apply(const effect::FencePeer&) {
    if (!chassisMgr) {
        return;
    }
    chassisMgr->fencePeer(slot, [this](bool ok, std::string msg) {
        HS_LOG(ok ? log::Level::Info : log::Level::Error, "event=fence_result ok={} detail=\"{}\"",
               ok, msg);
        core.onFenceResult(Clock::now(), ok);
        pump();
    });
}

void Daemon::Impl::apply(const effect::CancelFence&) {
    if (chassisMgr) {
        chassisMgr->cancelFence();
    }
}

// Off comes before the frames that may let the peer take over; off also revokes the command
// lease at once.
void Daemon::Impl::apply(const effect::DriveChassis& e) {
    drives = e.on;
    if (addrs) {
        addrs->hold(drives); // a release reaches the kernel before the frames that follow
    }
    HS_INFO("event=chassis_control state={} role={} epoch={}", drives ? "driving" : "idle",
            toString(core.role()), core.epoch());
    chassis::ReplicatedIntent inherited;
    if (drives) {
        inherited = replication->takeOver(Clock::now(), core.epoch());
    } else {
        replication->stepDown();
    }
    if (chassisMgr) {
        chassisMgr->setActive(drives, inherited);
    }
    dirty = true;
}

void Daemon::Impl::apply(const effect::Notify& e) {
    handleEvent(e.event);
}

void Daemon::Impl::afterPersist(std::uint64_t epoch, std::error_code ec) {
    if (ec) {
        // Never act on an epoch that is not durable: the core marks itself unfit and retries.
        core.onEpochPersistFailed(Clock::now(), epoch,
                                  state.epochFile().string() + ": " + ec.message());
    } else {
        core.onEpochPersisted(Clock::now(), epoch);
    }
    pump();
}

// Only a safeguard across restarts (a new incarnation must prove itself anyway): a failed write
// is logged and written again with the next change.
void Daemon::Impl::afterPeerIncarnationPersist(std::uint32_t incarnation, std::error_code ec) {
    if (ec) {
        HS_WARN("event=peer_incarnation_persist_failed incarnation={} file={} error=\"{}\"",
                incarnation, state.peerIncarnationFile().string(), ec.message());
    }
}

void Daemon::Impl::armTimer() {
    TimePoint next = core.nextWakeup();
    if (next == TimePoint::max()) {
        next = Clock::now() + seconds(1);
    }
    if (!timerArmed || next != timerExpiry) { // (already armed for that instant: no re-arm)
        timerArmed = true;
        timerExpiry = next;
        timer.expires_at(next);
        timer.async_wait([this](const boost::system::error_code& ec) { afterTimer(ec); });
    }
    armLead();
}

// When the timer fires, Asio sets its timerfd for the earliest wait left; arming the next tick
// then sets it a second time. In steady state a lead wait is kept pending at the tick after the
// armed one (the tick grid: send times advance by the interval), so that the timerfd is already
// set for the next tick when the timer fires, and arming that tick (not earlier than a wait
// already queued) leaves it alone: one timerfd_settime per tick instead of two. A lead fires
// with the tick it predicted, in the same wake-up.
void Daemon::Impl::armLead() {
    if (wakeOnRx || !timerArmed || finishing) {
        return;
    }
    Duration step = Duration::max();
    for (const auto& p : core.config().paths) {
        step = std::min(step, p.interval);
    }
    if (step == Duration::max() || step <= Duration::zero()) {
        return;
    }
    const TimePoint at = timerExpiry + step;
    std::size_t idle = leadAt.size();
    for (std::size_t i = 0; i < leadAt.size(); ++i) {
        if (leadAt[i] == at) {
            return; // already there
        }
        if (!leadAt[i]) {
            idle = i;
        }
    }
    if (idle == leadAt.size()) {
        return; // both pending at other instants (the grid moved): they fire once and lapse
    }
    leadAt[idle] = at;
    leads[idle].expires_at(at);
    leads[idle].async_wait([this, idle](const boost::system::error_code& ec) {
        if (ec != asio::error::operation_aborted) {
            leadAt[idle].reset();
        }
    });
}

void Daemon::Impl::afterTimer(const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) {
        return; // re-armed for another instant; that wait owns the timer now
    }
    timerArmed = false;
    if (ec || finishing) {
        return;
    }
    // What arrived since the last tick first, with its arrival times: a frame that came before a
    // detection deadline counts, as if it had been read at once.
    draining = true;
    for (auto& l : links) {
        l->drain();
    }
    draining = false;
    TimePoint now = Clock::now();
    core.setHeartbeatPayload(replication->watermark());
    core.onTimer(now); // notices a stall of this node first, then sends what is due
    if (!stopping) {
        lastTick = now;
    }
    pump();
    if (!stopping) {
        replication->tick(now, core); // after the heartbeats, within the path's spare bytes
        replicationNotices();
    }
}

// The replicated store (docs/replication.md); messages leave as replication frames with the
// path's next sequence number.
void Daemon::Impl::startReplication() {
    std::vector<ReplicationPath> paths;
    for (const PathConfig& p : cfg.paths) {
        paths.push_back({p.link.type, p.interval, p.link.baud});
    }
    repl::SenderConfig sc;
    sc.ackWait = std::max<Duration>(3 * detection, milliseconds(150));
    replication = std::make_unique<Replication>(
        cfg.node.id, state.incarnation(), std::move(paths),
        [this](std::size_t path, std::vector<std::uint8_t> m) {
            if (auto f = core.replicationFrame(Clock::now(), path, std::move(m))) {
                txBuf.clear();
                hb::encode(*f, keys.sendKey(Clock::now()), txBuf);
                links[path]->send(txBuf);
            }
        },
        sc);
    const auto file = cfg.node.stateDir / "replica";
    std::string err;
    replication->load(loadReplica(file, err));
    if (!err.empty()) {
        HS_ERROR("event=replication_load_failed file={} error=\"{}\": starting with an empty "
                 "store (the standby fetches the active's)",
                 file.string(), err);
    } else {
        HS_INFO("event=replication_loaded file={} records={} epoch={}", file.string(),
                replication->store().size(), replication->store().epoch());
    }
    replicaFiles = std::make_unique<ReplicaFiles>(io, file, cfg.node.shmName);
}

void Daemon::Impl::replicationNotices() {
    for (const repl::Notice& n : replication->takeNotices()) {
        logNotice(n);
        dirty = true;
        if (n.type == repl::NoticeType::Readiness) {
            // Told only when the mirror turns hot or stops being hot as a mirror (cold <->
            // syncing is the way there; a mirror that becomes the writer is not a lost mirror).
            const bool hot = n.readiness == repl::Readiness::Hot;
            const bool tell = hot != mirrorHot && (hot || !replication->writer());
            mirrorHot = hot;
            if (!tell) {
                continue;
            }
        }
        if (auto e = noticeEvent(n)) {
            handleEvent(std::move(*e)); // hsReplicationDegraded, ...Restored, ...RecordsDropped,
                                        // ...HotChange
        }
    }
}

// A change of the floating addresses (from inside FloatAddresses::hold or its answers): the
// events it makes are handled once the change is done, not in the middle of an effect.
void Daemon::Impl::addressChanged() {
    dirty = true;
    std::vector<FloatAddrStatus> now = addrs->status();
    std::vector<Event> evs = addressEvents(addrSeen, now);
    addrSeen = std::move(now);
    if (evs.empty()) {
        return;
    }
    const bool posted = !addrEvents.empty();
    addrEvents.insert(addrEvents.end(), evs.begin(), evs.end());
    if (!posted) {
        asio::post(io, [this] {
            std::vector<Event> todo;
            todo.swap(addrEvents);
            for (Event& e : todo) {
                handleEvent(std::move(e));
            }
        });
    }
}

void Daemon::Impl::handleEvent(Event e) {
    e.unixMs = unixNowMs();
    replication->onEvent(e, Clock::now());
    dirty = true;
    updateServiceStatus();
    runPathHook(e);
    runChassisHook(e);
    if (snmp || metricsServer) {
        // The notification's other varbinds (names, counters, hsSwitchoverCount) come from this
        // snapshot, made with the event, not from whatever is latest when the queue drains.
        auto snap = std::make_shared<const Snapshot>(snapshot());
        if (metricsServer) {
            metricsServer->publish(snap);
        }
        dirty = false;
        if (snmp) {
            snmp->publish(snap);
            snmp->notify(e, std::move(snap));
        }
    }
}

Snapshot Daemon::Impl::snapshot() {
    Snapshot s = core.snapshot();
    s.generation = ++generation;
    if (replication) {
        replication->fillView(s.replication, Clock::now());
    }
    if (addrs) {
        s.addresses = addressViews(addrs->status());
    }
    // What only the links see: stream resynchronisation, CRC errors, full send queues.
    for (std::size_t i = 0; i < s.paths.size() && i < links.size(); ++i) {
        hb::LinkStats ls = links[i]->stats();
        PathCounters& c = s.paths[i].counters;
        c.malformed += ls.streamCrcErrors;
        c.garbageBytes = ls.streamGarbage;
        c.sendErrors += ls.sendErrors + ls.dropped;
        c.ioErrors = std::max(c.ioErrors, ls.ioErrors);
        c.foreign = ls.foreign;
        s.paths[i].endpoint = links[i]->endpoint();
    }
    if (chassisMgr) {
        s.chassis = chassisMgr->snapshot();
    }
    return s;
}

void Daemon::Impl::publish() {
    if (snmp || metricsServer) {
        // One immutable snapshot for both readers, at most once per kFitCheckEvery tick.
        auto snap = std::make_shared<const Snapshot>(snapshot());
        if (metricsServer) {
            metricsServer->publish(snap);
        }
        if (snmp) {
            snmp->publish(std::move(snap));
        }
    }
    dirty = false;
}

void Daemon::Impl::afterPublishTimer(const boost::system::error_code& ec) {
    if (ec || stopping) {
        return;
    }
    // The watchdog is fed from the core thread itself: a stalled core is restarted by systemd.
    notifySystemd("WATCHDOG=1");
    checkFit();
    updateServiceStatus();
    if (chassisMgr) {
        replication->onTelemetry(chassisMgr->snapshot(), Clock::now()); // coalesced
    }
    replicaFiles->update(*replication, core.role(), Clock::now());
    publishTicks = (publishTicks + 1) % static_cast<int>(kPublishEvery / kFitCheckEvery);
    if (dirty || publishTicks == 0) {
        publish();
    }
    publishTimer.expires_after(kFitCheckEvery);
    publishTimer.async_wait([this](const boost::system::error_code& e) { afterPublishTimer(e); });
}

// systemd's STATUS= line (`systemctl status`): sent when role, epoch, redundancy or the peer's role
// change.
void Daemon::Impl::updateServiceStatus() {
    std::optional<Role> peerRole;
    if (core.peerAlive() && core.peer()) {
        peerRole = core.peer()->role;
    }
    serviceStatus.update(hs::serviceStatus(core.role(), core.unconfirmed(), core.epoch(),
                                           core.redundancy(), peerRole));
}

// A node that cannot reach its BMC is unfit to be active (its peer may still reach its own); the
// core debounces it.
void Daemon::Impl::checkFit() {
    if (!chassisMgr) {
        return;
    }
    core.setBmcReachable(Clock::now(), chassisMgr->bmcReachable());
    pump();
}

// What the control API's role checks look at, from the node logic itself.
control::RoleView Daemon::Impl::roleView() const {
    control::RoleView v;
    v.role = core.role();
    v.slot = slot;
    v.unconfirmed = core.unconfirmed();
    v.drivesChassis = core.drivesChassis();
    v.peerAlive = core.peerAlive();
    if (const auto& p = core.peer()) {
        v.peerRole = p->role;
        v.peerNodeId = p->nodeId;
        v.peerSlot = p->slot;
    }
    return v;
}

// The one entry point for operator requests (control socket and SNMP alike).
void Daemon::Impl::control(ControlRequest req, std::function<void(ControlResult)> done) {
    HS_INFO("event=control_request op={} origin=\"{}\"", toString(req.op), req.origin);
    TimePoint now = Clock::now();
    switch (req.op) {
    case ControlOp::Switchover:
    case ControlOp::ForceTakeover: {
        if (req.op == ControlOp::Switchover && core.peerAlive()) {
            if (auto why = replication->switchoverRefusal()) {
                done({ControlStatus::Busy, std::move(*why)});
                return;
            }
        }
        ControlResult r = core.requestSwitchover(now, req.op == ControlOp::ForceTakeover);
        if (r.status == ControlStatus::NotActive) {
            r.message = control::notActiveText(roleView());
        }
        pump();
        done(std::move(r));
        return;
    }
    case ControlOp::SetPreemption: {
        core.setPreempt(req.value != 0);
        dirty = true;
        std::string text = req.value ? "preemption on" : "preemption off";
        replication->write(0, repl::PreemptionRecord{req.value != 0}, now,
                           [done = std::move(done), text](repl::WaitOutcome o) {
                               done({ControlStatus::Ok, replicationAnswer(text, o)});
                           });
        setWakeOnReceive(); // the acknowledgement is read as it comes
        return;
    }
    default:
        break;
    }
    if (!chassisMgr) {
        done({ControlStatus::Unavailable, "no BMC is configured on this node ([chassis] table)"});
        return;
    }
    if (auto refused = control::checkDrivesChassis(roleView())) {
        done(std::move(*refused));
        return;
    }
    // The store keys a zone's floor by its index in [chassis] zones (FanFloorChanged::zone), the
    // request names the OEM zone number.
    std::uint32_t zoneIdx = req.zone;
    const auto& zones = chassisMgr->config().zones;
    for (std::size_t i = 0; i < zones.size(); ++i) {
        if (zones[i].zone == req.zone) {
            zoneIdx = static_cast<std::uint32_t>(i);
        }
    }
    chassisMgr->submit(req, [this, op = req.op, zoneIdx, done = std::move(done)](ControlResult r) {
        dirty = true;
        replication->answerIntent(op, zoneIdx, std::move(r), Clock::now(), done);
        setWakeOnReceive(); // the acknowledgement is read as it comes
    });
}

void Daemon::Impl::registerHandlers() {
    using control::Command;
    using nlohmann::json;
    auto& cs = *controlServer;
    auto reply = [](const ControlServer::Reply& rep, json result = json::object()) {
        rep(controlOk(std::move(result)));
    };
    auto needChassis = [this](ControlServer::Reply& rep) {
        if (!chassisMgr) {
            rep(controlError(protocol::code::kUnavailable,
                             "no BMC is configured on this node ([chassis] table)"));
            return false;
        }
        return true;
    };
    // The read-only commands answer from a snapshot.
    auto addRead = [&cs](Command c, std::function<void(ControlServer::Reply)> answer) {
        cs.addHandler(
            std::string(control::commandName(c)),
            [answer = std::move(answer)](const json&, ControlServer::Reply rep) {
                answer(std::move(rep));
            },
            ControlAccess::Read);
    };
    addRead(Command::Status, [this, reply](const ControlServer::Reply& rep) {
        auto j = toJson(snapshot());
        j["replication"] = replication->statusJson(Clock::now());
        j["switchover_guard"] = switchoverGuardJson(core.fsm().guard().state(Clock::now()));
        j["addresses"] = addressesJson(addrs ? addrs->status() : std::vector<FloatAddrStatus>{});
        reply(rep, std::move(j));
    });
    addRead(Command::Journal, [this, reply](const ControlServer::Reply& rep) {
        reply(rep, journalJson(snapshot()));
    });
    addRead(Command::ChassisStatus, [this, reply, needChassis](ControlServer::Reply rep) {
        if (needChassis(rep)) {
            reply(rep, chassisStatusJson(chassisMgr->snapshot()));
        }
    });
    addRead(Command::SensorList, [this, reply, needChassis](ControlServer::Reply rep) {
        if (needChassis(rep)) {
            reply(rep, sensorListJson(chassisMgr->snapshot()));
        }
    });
    addRead(Command::FanStatus, [this, reply, needChassis](ControlServer::Reply rep) {
        if (needChassis(rep)) {
            reply(rep, fanStatusJson(chassisMgr->snapshot()));
        }
    });
    // The changing commands: the control API decodes and range-checks the request; a command
    // that changes only for some arguments (chassis.power) is registered as a read and checks the
    // change tier once it knows. The order of the answers: denied, unavailable, invalid.
    auto addChange = [this, &cs, needChassis](Command c) {
        const bool always = control::alwaysChanges(c);
        cs.addHandler(
            std::string(control::commandName(c)),
            [this, c, needChassis](const json& req, ControlServer::Reply rep) {
                control::Decoded d = control::decode(c, req);
                if (d.changes && !rep.requireChange(d.what)) {
                    return;
                }
                if (c == Command::ChassisPower && !needChassis(rep)) {
                    return;
                }
                if (!d.error.empty()) {
                    rep(controlError(protocol::code::kInvalid, d.error));
                    return;
                }
                if (!d.request) { // chassis.power status
                    chassisMgr->refresh(
                        [rep](const ChassisSnapshot& s) { rep(controlOk(powerStatusJson(s))); });
                    return;
                }
                d.request->origin = rep.origin();
                control(std::move(*d.request),
                        [rep](const ControlResult& r) { rep(toResponse(r)); });
            },
            always ? ControlAccess::Change : ControlAccess::Read);
    };
    for (Command c :
         {Command::Switchover, Command::ChassisPower, Command::FanMode, Command::FanDuty}) {
        addChange(c);
    }
}

void Daemon::Impl::onSignal(const boost::system::error_code& ec, int sig) {
    if (ec) {
        return;
    }
    if (sig == SIGHUP) {
        startReload();
        signals.async_wait([this](const boost::system::error_code& e, int s) { onSignal(e, s); });
        return;
    }
    HS_INFO("event=shutdown signal={} role={}", sig, toString(core.role()));
    shutdown();
}

// The hooks hear of every change of this node's role (INIT -> ACTIVE at start, ... -> STOPPED at a
// clean stop); they run on the hook runner's threads.
void Daemon::Impl::runRoleHooks() {
    const Role r = core.role();
    if (r == hookRole || !hooks) {
        hookRole = r;
        return;
    }
    HookEnv env{{"HS_EVENT", "role_change"},
                {"HS_ROLE", std::string(toString(r))},
                {"HS_OLD_ROLE", std::string(toString(hookRole))},
                {"HS_EPOCH", std::to_string(core.epoch())},
                {"HS_REASON", std::string(toString(core.snapshot().lastSwitchoverReason))},
                {"HS_NODE_ID", std::to_string(cfg.node.id)},
                {"HS_SLOT", std::to_string(slot)}};
    hookRole = r;
    hooks->run("on_role_change", env);
    if (r == Role::Active) {
        hooks->run("on_active", env);
    } else if (r == Role::Standby) {
        hooks->run("on_standby", env);
    } else if (r == Role::Fault) {
        hooks->run("on_fault", env);
    }
}

void Daemon::Impl::runPathHook(const Event& e) {
    if (!hooks || (e.type != EventType::PathUp && e.type != EventType::PathDown) ||
        e.pathIndex == 0 || e.pathIndex > cfg.paths.size()) {
        return;
    }
    hooks->run("on_path_change",
               {{"HS_EVENT", e.type == EventType::PathUp ? "path_up" : "path_down"},
                {"HS_PATH", cfg.paths[e.pathIndex - 1].link.name},
                {"HS_PATH_STATE", std::string(toString(e.pathState))},
                {"HS_PATH_DIAG", std::string(toString(e.pathDiag))},
                {"HS_ROLE", std::string(toString(core.role()))},
                {"HS_EPOCH", std::to_string(core.epoch())},
                {"HS_NODE_ID", std::to_string(cfg.node.id)},
                {"HS_SLOT", std::to_string(slot)}});
}

// on_chassis_event: the chassis events (power, BMC access, sensor thresholds, fan failures).
void Daemon::Impl::runChassisHook(const Event& e) {
    if (!hooks || chassisHookEnv(e, nullptr).empty()) {
        return; // not a chassis event: no snapshot taken
    }
    std::optional<ChassisSnapshot> c;
    if (chassisMgr) {
        c = chassisMgr->snapshot();
    }
    HookEnv env = chassisHookEnv(e, c ? &*c : nullptr);
    if (env.empty()) {
        return;
    }
    env.insert(env.end(), {{"HS_ROLE", std::string(toString(core.role()))},
                           {"HS_EPOCH", std::to_string(core.epoch())},
                           {"HS_NODE_ID", std::to_string(cfg.node.id)},
                           {"HS_SLOT", std::to_string(slot)}});
    hooks->run("on_chassis_event", std::move(env));
}

// SIGHUP: the file is read and validated on a thread of its own (validate() reads the key file and
// the slot source); the result comes back to the core thread, which applies it or refuses it.
void Daemon::Impl::startReload() {
    if (reloading) {
        HS_WARN("event=reload_busy: a reload is still being read; send SIGHUP again after it");
        return;
    }
    if (reloadThread.joinable()) {
        reloadThread.join(); // finished: it posted its result already
    }
    reloading = true;
    notifySystemd(fmt::format("RELOADING=1\nMONOTONIC_USEC={}",
                              std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now().time_since_epoch())
                                  .count()));
    HS_INFO("event=reload_start file={}", cfg.file);
    reloadThread = std::thread([this, file = cfg.file] {
        auto doc = std::make_shared<toml::table>();
        std::shared_ptr<ValidatedConfig> next;
        std::string error;
        try {
            *doc = toml::parse_file(file);
            next = std::make_shared<ValidatedConfig>(validate(readConfig(file)));
        } catch (const toml::parse_error& e) {
            error = configWhere(e.source(), "syntax error") + ": " + std::string(e.description());
        } catch (const std::exception& e) {
            error = e.what();
        }
        asio::post(io, [this, next = std::move(next), doc = std::move(doc),
                        error = std::move(error)]() mutable {
            finishReload(next, doc, std::move(error));
        });
    });
}

void Daemon::Impl::finishReload(const std::shared_ptr<ValidatedConfig>& next,
                                const std::shared_ptr<toml::table>& doc, std::string error) {
    reloading = false;
    auto done = [this] {
        updateServiceStatus();
        notifySystemd("READY=1");
    };
    if (!error.empty() || !next) {
        HS_ERROR("event=reload_refused error=\"{}\": the running configuration stays", error);
        done();
        return;
    }
    ReloadDiff d = diffConfig(runningDoc, *doc);
    auto listed = [&d](const char* k) {
        return std::find(d.restartOnly.begin(), d.restartOnly.end(), k) != d.restartOnly.end();
    };
    // A new key (file or content) is a rotation; a new cluster id stays restart-only.
    const bool newKey = next->key.fingerprint() != keys.current().fingerprint();
    if (next->slot != slot && !listed("node.slot")) {
        d.restartOnly.push_back("node.slot (from the slot source)");
    }
    if (!d.restartOnly.empty()) {
        HS_ERROR("event=reload_refused restart_only=\"{}\": needs restart: these keys take "
                 "effect only at a restart (a clean stop hands over to the peer at once); nothing "
                 "was applied, the running configuration stays",
                 joinKeys(d.restartOnly));
        done();
        return;
    }
    if (newKey) {
        keys.rotate(std::move(next->key), Clock::now(), next->cfg.node.keyGrace);
        if (std::find(d.live.begin(), d.live.end(), "node.key_file") == d.live.end()) {
            d.live.emplace_back("node.key_file (the key's content)");
        }
    }
    cfg.node.keyFile = next->cfg.node.keyFile;
    cfg.node.keyGrace = next->cfg.node.keyGrace;
    for (const std::string& k : d.live) {
        if (k == "node.log_level") {
            log::setLevel(next->cfg.node.logLevel);
            cfg.node.logLevel = next->cfg.node.logLevel;
        } else if (k == "heartbeat.preempt") {
            core.setPreempt(next->cfg.heartbeat.preempt);
            cfg.heartbeat.preempt = next->cfg.heartbeat.preempt;
        }
    }
    auto changed = [&d](const char* prefix) {
        return std::any_of(d.live.begin(), d.live.end(),
                           [prefix](const std::string& k) { return k.rfind(prefix, 0) == 0; });
    };
    if (changed("chassis.")) {
        // One immutable snapshot per reload; each chassis thread takes it between two steps.
        chassisCfg = next->chassis;
        if (chassisMgr) {
            chassisMgr->reconfigure(std::move(next->chassis));
        }
    }
    if (changed("snmp.")) {
        snmpCfg = next->snmp;
        if (snmp) {
            snmp->reconfigure(next->snmp); // on the SNMP thread, never waited for
        }
    }
    if (std::any_of(d.live.begin(), d.live.end(),
                    [](const std::string& k) { return k.rfind("hooks", 0) == 0; })) {
        hooksCfg = next->hooks;
        if (hooks) {
            hooks->setConfig(hooksCfg);
        }
    }
    runningDoc = std::move(*doc);
    dirty = true;
    HS_INFO("event=reload_done changed=\"{}\" log_level={} preempt={} hooks={} key_fingerprint={}",
            joinKeys(d.live), log::toString(log::level()), cfg.heartbeat.preempt,
            hooksCfg.commands.size(), keys.current().fingerprint());
    done();
}

// A clean stop hands the active role over at once instead of letting the peer wait out the
// detection time: the core lets the chassis go and sends the stop frames on every path (twice, a
// few ms apart); once both copies are out, everything closes.
void Daemon::Impl::shutdown() {
    if (stopping) {
        return;
    }
    notifySystemd("STOPPING=1");
    stopRole = core.role();
    stopping = true;
    publishTimer.cancel();
    signals.cancel();
    core.shutdown(Clock::now());
    pump();
}

void Daemon::Impl::finish() {
    if (addrs) {
        addrs->hold(false); // a clean stop leaves no address behind
        addrs->stop();
    }
    if (controlServer) {
        controlServer->stop();
    }
    for (auto& l : links) {
        l->stop();
    }
    io.stop();
}

int Daemon::Impl::run() {
    Duration shortest = Duration::max();
    Duration longest{0};
    for (const NodePathConfig& p : core.config().paths) {
        shortest = std::min(shortest, p.interval);
        longest = std::max(longest, p.interval);
    }
    if (shortest == Duration::max()) {
        shortest = longest = milliseconds(10);
    }
    std::uint32_t n = core.config().missThreshold;
    leaseLength = chassis::commandLeaseLength(n, shortest);
    detection = longest * n;
    if (chassisCfg.enabled()) {
        HS_INFO("event=chassis_lease lease_ms={:.1f} renewal_wait_ms={:.1f} miss_threshold={} "
                "shortest_interval_ms={:.1f}",
                std::chrono::duration<double, std::milli>(leaseLength).count(),
                std::chrono::duration<double, std::milli>(detection).count(), n,
                std::chrono::duration<double, std::milli>(shortest).count());
        if (n < 2) {
            HS_WARN("event=chassis_lease_unsafe miss_threshold={}: with one missed interval the "
                    "peer may take over before this node can notice a stall; use 3 or more",
                    n);
        }
    }
    HS_INFO("event=start node={} slot={} epoch={} incarnation={} paths={} key_fingerprint={}",
            cfg.node.id, slot, state.epoch(), state.incarnation(), cfg.paths.size(),
            keys.current().fingerprint());
    persister = std::make_unique<EpochPersister>(io, state);
    hooks = std::make_unique<HookRunner>(hooksCfg);
    try {
        runningDoc = toml::parse_file(cfg.file);
    } catch (const toml::parse_error& e) {
        HS_WARN("event=reload_baseline_unreadable error=\"{}\": a reload will list every key",
                e.description());
    }
    startReplication();
    if (chassisCfg.enabled()) {
        chassisMgr = std::make_unique<chassis::ChassisManager>(io, chassisCfg);
        chassisMgr->setLeaseWait(detection);
        chassisMgr->onEvent([this](const Event& e) { handleEvent(e); });
        chassisMgr->onIntent(
            [this](const chassis::IntentUpdate& u) { replication->onIntent(u, Clock::now()); });
        chassisMgr->start();
    }
    if (snmpCfg.enabled) {
        snmp = std::make_unique<subagent::Subagent>(
            snmpCfg, [this](ControlRequest req, std::function<void(ControlResult)> done) {
                asio::post(io, [this, req = std::move(req), done = std::move(done)]() mutable {
                    if (req.origin.empty()) {
                        req.origin = "snmp";
                    }
                    control(std::move(req), std::move(done));
                });
            });
        snmp->publish(std::make_shared<const Snapshot>(snapshot())); // before the first resync
        snmp->start();
    }
    if (metricsCfg.enabled) {
        // Started before real-time scheduling: its thread stays SCHED_OTHER.
        metricsServer = std::make_unique<metrics::MetricsServer>(metricsCfg);
        metricsServer->publish(std::make_shared<const Snapshot>(snapshot()));
        try {
            metricsServer->start();
        } catch (const std::runtime_error& e) {
            // The pair keeps running without its Prometheus endpoint.
            HS_ERROR("event=metrics_unavailable error=\"{}\"", e.what());
            metricsServer.reset();
        }
    }
    ControlServer::Options opts;
    opts.socketPath = cfg.node.controlSocket;
    opts.controlGroup = cfg.node.controlGroup;
    opts.readGroup = cfg.node.controlReadGroup;
    controlServer = std::make_unique<ControlServer>(io, opts);
    registerHandlers();
    controlServer->start();
    if (cfg.node.realtime) {
        std::string err = enterRealtime(cfg.node.rtPriority);
        if (!err.empty()) {
            HS_WARN("event=realtime_failed error=\"{}\": running without real-time scheduling",
                    err);
        } else {
            HS_INFO("event=realtime policy=SCHED_FIFO priority={} mlockall=yes",
                    cfg.node.rtPriority);
        }
    }
    signals.async_wait([this](const boost::system::error_code& e, int s) { onSignal(e, s); });
    if (!cfg.addresses.empty()) {
        addrs = std::make_unique<FloatAddresses>(io, cfg.addresses);
        addrs->onChange([this] { addressChanged(); });
        addrs->hold(false); // one left behind by a crash: this node starts without it
    }
    startLinks();
    TimePoint t0 = Clock::now();
    core.start(t0); // sends the first heartbeats
    lastTick = t0;
    pump();
    publishTimer.expires_after(kFitCheckEvery);
    publishTimer.async_wait([this](const boost::system::error_code& e) { afterPublishTimer(e); });
    updateServiceStatus();
    notifySystemd("READY=1");
    io.run();
    if (metricsServer) {
        metricsServer->stop();
    }
    if (snmp) {
        snmp->stop();
    }
    if (chassisMgr) {
        chassisMgr->stop();
    }
    persister.reset();
    replicaFiles->flush(*replication);
    replicaFiles.reset();
    if (reloadThread.joinable()) {
        reloadThread.join();
    }
    // A clean stop (SIGTERM, SIGINT): on_stop runs after the peer was told and the links closed.
    hooks->run("on_stop", {{"HS_EVENT", "stop"},
                           {"HS_ROLE", std::string(toString(core.role()))},
                           {"HS_LAST_ROLE", std::string(toString(stopRole))},
                           {"HS_EPOCH", std::to_string(core.epoch())},
                           {"HS_NODE_ID", std::to_string(cfg.node.id)},
                           {"HS_SLOT", std::to_string(slot)}});
    hooks->stop(); // the last role change (STOPPED) and on_stop run, each within the hook timeout
    HS_INFO("event=stopped");
    return 0;
}

Daemon::Daemon(ValidatedConfig cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {}
Daemon::~Daemon() = default;
int Daemon::run() {
    return impl_->run();
}

} // namespace hs

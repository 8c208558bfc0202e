#include "chassis/chassis_manager.hpp"

#include "base/log.hpp"
#include "chassis/ipmi_error.hpp"

#include <chrono>
#include <fmt/core.h>
#include <freeipmi/freeipmi.h>

namespace hs::chassis {
namespace {

std::int64_t unixMsNow() {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double msSince(TimePoint t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string_view accessName(BmcAccess a) {
    switch (a) {
    case BmcAccess::Unknown:
        return "unknown";
    case BmcAccess::Ok:
        return "ok";
    case BmcAccess::Unreachable:
        return "unreachable";
    case BmcAccess::AuthFailed:
        return "auth_failed";
    case BmcAccess::Busy:
        return "busy";
    case BmcAccess::Error:
        return "error";
    case BmcAccess::Disabled:
        return "disabled";
    }
    return "?";
}

std::optional<PowerControl> powerControlOf(ControlOp op) {
    switch (op) {
    case ControlOp::PowerOn:
        return PowerControl::PowerUp;
    case ControlOp::PowerOff:
        return PowerControl::PowerDown;
    case ControlOp::PowerCycle:
        return PowerControl::PowerCycle;
    case ControlOp::HardReset:
        return PowerControl::HardReset;
    case ControlOp::SoftShutdown:
        return PowerControl::SoftShutdown;
    default:
        return std::nullopt;
    }
}

// What ipmitool prints for the same action.
std::string_view ipmitoolWords(PowerControl pc) {
    switch (pc) {
    case PowerControl::PowerUp:
        return "Chassis Power Control: Up/On";
    case PowerControl::PowerDown:
        return "Chassis Power Control: Down/Off";
    case PowerControl::PowerCycle:
        return "Chassis Power Control: Cycle";
    case PowerControl::HardReset:
        return "Chassis Power Control: Reset";
    case PowerControl::SoftShutdown:
        return "Chassis Power Control: Soft";
    default:
        return "Chassis Power Control";
    }
}

constexpr int kMaxPendingControls = 32;

} // namespace

void ChassisManager::Worker::start() {
    guard.emplace(io.get_executor());
    thread = std::thread([this] { io.run(); });
}

void ChassisManager::Worker::join() {
    guard.reset();
    if (thread.joinable()) {
        thread.join();
    }
}

ChassisManager::ChassisManager(asio::io_context& core, ChassisConfig cfg)
    : m_core(core), m_cfg(std::move(cfg)), m_statusTimer(m_ctl.io), m_sensorTimer(m_sens.io) {
    m_snap.enabled = m_cfg.enabled();
    m_snap.access = m_cfg.enabled() ? BmcAccess::Unknown : BmcAccess::Disabled;
    m_access = m_snap.access;
    m_snap.fanProfile = std::string(toString(m_cfg.fanProfile));
    for (const ZoneConfig& z : m_cfg.zones) {
        FanSnapshot f;
        f.zone = z.zone;
        f.name = z.name;
        m_snap.fans.push_back(f);
        m_policies.emplace_back(z.curve, z.hysteresisC);
    }
    m_commanded.resize(m_cfg.zones.size());
    m_floor.resize(m_cfg.zones.size());
}

ChassisManager::~ChassisManager() {
    stop();
}

void ChassisManager::onEvent(EventHandler handler) {
    m_onEvent = std::move(handler);
}

void ChassisManager::start() {
    if (m_started.exchange(true)) {
        return;
    }
    if (m_cfg.fencing.enabled) {
        m_fence = std::make_unique<Worker>();
        m_fenceTimer = std::make_unique<asio::steady_timer>(m_fence->io);
        m_fence->start();
    }
    if (!m_cfg.enabled()) {
        HS_INFO("chassis event=disabled reason=\"interface none\"");
        return;
    }
    HS_INFO("chassis event=start bmc=\"{}\" fan_profile={} zones={} sdr_cache_dir={}",
            m_cfg.bmc.describe(), toString(m_cfg.fanProfile), m_cfg.zones.size(),
            m_cfg.sdrCacheDir);
    m_session = std::make_unique<IpmiSession>(m_cfg.bmc);
    m_reader = std::make_unique<SensorReader>(m_cfg.bmc, m_cfg.sdrCacheDir);
    m_ctl.start();
    m_sens.start();
    asio::post(m_ctl.io, [this] { scheduleStatus(milliseconds(0)); });
    asio::post(m_sens.io, [this] { scheduleSensors(milliseconds(0)); });
}

void ChassisManager::stop() {
    if (!m_started.load() || m_stopping.exchange(true)) {
        return;
    }
    m_active = false;
    {
        std::lock_guard lk(m_leaseMu);
        m_lease.revoke();
    }
    m_leaseCv.notify_all();
    if (m_fence) {
        asio::post(m_fence->io, [this] { m_fenceTimer->cancel(); });
        m_fence->join();
    }
    if (m_cfg.enabled()) {
        asio::post(m_sens.io, [this] {
            m_sensorTimer.cancel();
            m_reader.reset();
        });
        asio::post(m_ctl.io, [this] {
            m_statusTimer.cancel();
            if (m_session) {
                m_session->close(); // frees the BMC's session slot at once
            }
        });
        m_sens.join();
        m_ctl.join();
        HS_INFO("chassis event=stopped sessions_opened={}", m_session ? m_session->opens() : 0);
    }
}

// ---------------------------------------------------------------- role changes (core thread)

void ChassisManager::setActive(bool active) {
    bool was = m_active.exchange(active);
    if (!active) {
        // From this moment no command leaves, even one already waiting on ipmi-ctl.
        {
            std::lock_guard lk(m_leaseMu);
            m_lease.revoke();
        }
        m_leaseCv.notify_all();
    }
    if (was == active || !m_cfg.enabled() || m_stopping.load()) {
        return;
    }
    std::uint64_t gen = ++m_activeGen;
    if (active) {
        TimePoint at = Clock::now();
        HS_INFO("chassis event=takeover gen={}", gen);
        asio::post(m_ctl.io, [this, gen, at] {
            m_takeoverAt = at;
            onBecameActive(gen);
        });
        pollSensorsNow();
    } else {
        HS_INFO("chassis event=standby gen={}", gen);
        asio::post(m_ctl.io, [this] { onBecameStandby(); });
    }
}

void ChassisManager::onBecameActive(std::uint64_t gen) {
    if (gen != m_activeGen.load() || !m_active.load()) {
        return; // superseded by a later role change
    }
    m_ctlGen = gen;
    m_waitFirstAck = true;
    m_policyArmed = false;
    m_haveSensors = false;
    m_operatorAuto = false;
    m_manualModeSet = false;
    for (auto& p : m_policies) {
        p.reset();
    }
    std::fill(m_commanded.begin(), m_commanded.end(), std::nullopt);
    std::fill(m_floor.begin(), m_floor.end(), std::nullopt);
    // 1. Fans to the fail-safe duty until this node has readings of its own.
    enterFailSafe("takeover");
    // 2. Reconcile: adopt what the chassis says; a transition requested on the old active is not
    //    re-issued (it could toggle power by accident).
    {
        std::lock_guard lk(m_mu);
        if (m_snap.requested != PowerControl::None) {
            HS_WARN("chassis event=reconcile dropped_requested={} reason=\"takeover\"",
                    static_cast<int>(m_snap.requested));
        }
        m_snap.requested = PowerControl::None;
    }
    pollStatus();
    ChassisSnapshot s = snapshot();
    HS_INFO("chassis event=reconciled power={} access={} fail_safe={}", static_cast<int>(s.power),
            accessName(s.access), s.failSafe);
}

void ChassisManager::onBecameStandby() {
    m_policyArmed = false;
    m_haveSensors = false;
    m_waitFirstAck = false;
    std::lock_guard lk(m_mu);
    m_snap.failSafe = false;
    m_snap.requested = PowerControl::None;
    for (FanSnapshot& f : m_snap.fans) {
        f.mode = FanMode::Unknown; // the active node drives them now
    }
}

// ---------------------------------------------------------------- the command lease

void ChassisManager::renewLease(TimePoint deadline) {
    {
        std::lock_guard lk(m_leaseMu);
        m_lease.renew(deadline);
    }
    m_leaseCv.notify_all();
}

bool ChassisManager::leaseHeld() const {
    std::lock_guard lk(m_leaseMu);
    return m_lease.held(Clock::now());
}

// ipmi-ctl, immediately before a control command is handed to FreeIPMI (after any session
// reopen). Blocking here is fine: this is the chassis worker, never the core thread.
bool ChassisManager::leaseAllowsSend(const RawRequest& rq) {
    std::unique_lock lk(m_leaseMu);
    TimePoint now = Clock::now();
    if (m_lease.held(now) && m_active.load()) {
        return true;
    }
    // Expired while the node still believes it is active: the core may only be a few ms late
    // on a loaded host. Give it up to m_leaseWait to renew; a stalled or demoted core will not.
    Duration expired = m_lease.expiredFor(now);
    auto stillWaiting = [this] {
        return !m_lease.held(Clock::now()) && m_active.load() && !m_stopping.load();
    };
    if (stillWaiting() && m_leaseWait.count() > 0) {
        m_leaseCv.wait_until(lk, now + m_leaseWait, [&] { return !stillWaiting(); });
    }
    bool ok = m_lease.held(Clock::now()) && m_active.load() && !m_stopping.load();
    lk.unlock();
    if (ok) {
        std::lock_guard sl(m_mu);
        ++m_stats.leaseWaits;
        return true;
    }
    m_leaseRefused = true;
    if (!m_active.load() || m_stopping.load()) {
        m_leaseRefusal = "not active: this node does not send chassis control commands";
        HS_INFO("chassis event=command_refused reason=not_active what=\"{}\"", rq.what);
        return false; // demoted while the command waited
    }
    m_leaseRefusal = fmt::format(
        "this node's right to command the chassis (its lease) expired {:.1f} ms before and was "
        "not renewed within {} ms; nothing was sent",
        std::chrono::duration<double, std::milli>(expired).count(),
        std::chrono::duration_cast<milliseconds>(m_leaseWait).count());
    HS_WARN("chassis event=command_refused reason=lease_expired what=\"{}\" expired_ms={:.1f}",
            rq.what, std::chrono::duration<double, std::milli>(expired).count());
    return false;
}

// ---------------------------------------------------------------- the BMC exchange (ipmi-ctl)

std::error_code ChassisManager::transact(const RawRequest& rq, RawResponse& rs, std::string& text,
                                         const IpmiSession::SendCheck& mayLeave) {
    if (!m_session->isOpen() && Clock::now() < m_nextRetry) {
        text = m_lastText.empty() ? "backing off after an error" : m_lastText;
        return m_lastEc ? m_lastEc : freeipmiError(IPMI_ERR_SESSION_TIMEOUT);
    }
    m_leaseRefused = false;
    std::error_code ec = m_session->raw(rq.netfn, rq.cmd, rq.data, rs, mayLeave);
    if (m_session->opens() != m_sessionOpensSeen) {
        m_sessionOpensSeen = m_session->opens();
        m_manualModeSet = false; // a new session: re-assert the fan mode before any duty
        std::fill(m_commanded.begin(), m_commanded.end(), std::nullopt);
        std::lock_guard lk(m_mu);
        m_stats.sessionOpens = m_sessionOpensSeen;
    }
    if (m_leaseRefused) {
        text = m_leaseRefusal; // nothing was sent: not a BMC error, no backoff, access unchanged
        return ec;
    }
    if (ec) {
        text = m_session->lastErrorText();
        m_lastEc = ec;
        m_lastText = text;
        m_backoff =
            m_backoff.count() == 0 ? m_cfg.retryMin : std::min(m_backoff * 2, m_cfg.retryMax);
        m_nextRetry = Clock::now() + m_backoff;
        // The error text first: whoever sees the new access state must also see why.
        noteError(rq.what, ec, text);
        setAccess(classifyAccess(ec, text), fmt::format("{}: {}", ec.message(), text));
        return ec;
    }
    m_backoff = milliseconds(0);
    m_lastEc = {};
    m_lastText.clear();
    if (m_waitFirstAck && m_active.load()) {
        m_waitFirstAck = false;
        double ms = msSince(m_takeoverAt);
        std::lock_guard lk(m_mu);
        m_stats.takeoverToFirstAckMs = ms;
    }
    if (rs.cc != 0) {
        std::error_code cc = completionCode(rs.cc);
        text = cc.message();
        noteError(rq.what, cc, text);
        setAccess(classifyAccess(cc), {});
        return cc;
    }
    setAccess(BmcAccess::Ok, {});
    return {};
}

// THE control gate. Every command that changes the local chassis passes here and only here.
ChassisManager::GateResult ChassisManager::sendControl(const RawRequest& rq) {
    GateResult r;
    if (!m_active.load() || m_stopping.load()) {
        r.gate = Gate::NotActive;
        r.text = "not active: this node does not send chassis control commands";
        std::lock_guard lk(m_mu);
        ++m_stats.commandsRefused;
        return r;
    }
    RawResponse rs;
    r.ec = transact(rq, rs, r.text, [this, &rq] { return leaseAllowsSend(rq); });
    std::lock_guard lk(m_mu);
    if (m_leaseRefused) {
        if (!m_active.load() || m_stopping.load()) {
            r.gate = Gate::NotActive; // demoted while the command waited
            r.text = "not active: this node does not send chassis control commands";
            ++m_stats.commandsRefused;
            return r;
        }
        r.gate = Gate::LeaseExpired;
        ++m_stats.commandsRefusedLease;
        return r;
    }
    if (r.ec) {
        r.gate = Gate::Failed;
        ++m_stats.commandErrors;
        return r;
    }
    r.gate = Gate::Sent;
    ++m_stats.commandsSent;
    HS_DEBUG("chassis event=command what=\"{}\" ok=true", rq.what);
    return r;
}

void ChassisManager::setAccess(BmcAccess a, const std::string& text) {
    BmcAccess old = m_access.exchange(a);
    if (old == a) {
        return;
    }
    std::int64_t now = unixMsNow();
    {
        std::lock_guard lk(m_mu);
        m_snap.access = a;
    }
    Event ev;
    ev.unixMs = now;
    if (a == BmcAccess::Ok) {
        HS_INFO("chassis event=bmc_recovered from={}", accessName(old));
        if (old != BmcAccess::Unknown) {
            ev.type = EventType::BmcRecovered;
            ev.text = fmt::format("BMC {} reachable again", m_cfg.bmc.target());
            emit(ev);
        }
        return;
    }
    HS_WARN("chassis event=bmc_access state={} from={} error=\"{}\"", accessName(a),
            accessName(old), text);
    if (old == BmcAccess::Ok || old == BmcAccess::Unknown) {
        ev.type = EventType::BmcUnreachable;
        ev.text = fmt::format("BMC {}: {}", accessName(a), text);
        emit(ev);
    }
}

// Rate-limited error log: the first occurrence of a message at once, repeats at most once per
// error_log_interval_ms with the count of what was suppressed.
void ChassisManager::noteError(const std::string& what, std::error_code ec,
                               const std::string& text) {
    std::string msg = fmt::format("{}: {}", ec.message(), text);
    {
        std::lock_guard lk(m_mu);
        m_snap.lastError = fmt::format("{}: {}", what, msg);
        m_snap.lastErrorUnixMs = unixMsNow();
    }
    std::string key = what + "|" + msg;
    TimePoint now = Clock::now();
    auto it = m_errorLogged.find(key);
    if (it != m_errorLogged.end() && now - it->second < m_cfg.errorLogInterval) {
        ++m_errorSuppressed[key];
        return;
    }
    std::uint64_t suppressed = m_errorSuppressed[key];
    m_errorSuppressed[key] = 0;
    m_errorLogged[key] = now;
    HS_ERROR("chassis event=bmc_error bmc=\"{}\" op=\"{}\" category={} code={} error=\"{}\" "
             "detail=\"{}\" repeated={}",
             m_cfg.bmc.target(), what, ec.category().name(), ec.value(), ec.message(), text,
             suppressed);
}

// ---------------------------------------------------------------- chassis status (ipmi-ctl)

void ChassisManager::scheduleStatus(milliseconds delay) {
    m_statusTimer.expires_after(delay);
    m_statusTimer.async_wait(std::bind_front(&ChassisManager::afterStatusTimer, this));
}

void ChassisManager::afterStatusTimer(std::error_code ec) {
    if (ec || m_stopping.load()) {
        return;
    }
    pollStatus();
    milliseconds next = m_cfg.statusPoll;
    bool pending = false;
    {
        std::lock_guard lk(m_mu);
        pending = m_snap.requested != PowerControl::None;
    }
    if (pending) {
        next = std::min(next, milliseconds(200)); // confirm transitions quickly
    }
    if (!m_session->isOpen() && m_nextRetry > Clock::now()) {
        auto wait = std::chrono::duration_cast<milliseconds>(m_nextRetry - Clock::now());
        next = std::max(next, wait);
    }
    scheduleStatus(next);
}

void ChassisManager::pollStatus() {
    RawRequest rq{kNetfnChassis, kCmdGetChassisStatus, {}, "get chassis status"};
    RawResponse rs;
    std::string text;
    std::error_code ec = transact(rq, rs, text);
    if (ec || rs.data.empty()) {
        std::lock_guard lk(m_mu);
        ++m_stats.statusErrors;
        return;
    }
    {
        std::lock_guard lk(m_mu);
        ++m_stats.statusPolls;
    }
    powerObserved((rs.data[0] & 0x01) != 0);
}

void ChassisManager::powerObserved(bool on) {
    PowerState now = on ? PowerState::On : PowerState::Off;
    std::optional<Event> changed;
    {
        std::lock_guard lk(m_mu);
        if (m_snap.power != now) {
            HS_INFO("chassis event=power_changed power={} was={}", on ? "on" : "off",
                    static_cast<int>(m_snap.power));
            Event ev;
            ev.type = EventType::ChassisPowerChanged;
            ev.unixMs = unixMsNow();
            ev.power = now;
            ev.text = on ? "Chassis Power is on" : "Chassis Power is off";
            changed = ev;
            m_snap.power = now;
        }
        PowerControl req = m_snap.requested;
        bool confirmed = false;
        switch (req) {
        case PowerControl::PowerUp:
            confirmed = on;
            break;
        case PowerControl::PowerDown:
        case PowerControl::SoftShutdown:
            confirmed = !on;
            break;
        case PowerControl::PowerCycle:
            if (!on) {
                m_sawOff = true;
            }
            confirmed = on && m_sawOff;
            break;
        case PowerControl::HardReset:
            confirmed = on;
            break;
        default:
            break;
        }
        if (req != PowerControl::None) {
            if (confirmed) {
                m_snap.requested = PowerControl::None;
                HS_INFO("chassis event=power_confirmed control={} after_ms={:.0f}",
                        static_cast<int>(req), msSince(m_requestedAt));
            } else if (Clock::now() - m_requestedAt > m_cfg.powerConfirmTimeout) {
                m_snap.requested = PowerControl::None;
                m_snap.lastError =
                    fmt::format("power control {} not confirmed within {} ms",
                                static_cast<int>(req), m_cfg.powerConfirmTimeout.count());
                m_snap.lastErrorUnixMs = unixMsNow();
                HS_WARN("chassis event=power_unconfirmed control={} timeout_ms={}",
                        static_cast<int>(req), m_cfg.powerConfirmTimeout.count());
            }
        }
    }
    if (changed) {
        emit(*changed);
    }
}

// ---------------------------------------------------------------- requests (core -> ipmi-ctl)

void ChassisManager::submit(const ControlRequest& req, ControlDone done) {
    auto reply = [this, &done](ControlStatus st, std::string msg) {
        postCore([done = std::move(done), r = ControlResult{st, std::move(msg)}] { done(r); });
    };
    bool isPower = powerControlOf(req.op).has_value();
    bool isFan = req.op == ControlOp::FanModeAuto || req.op == ControlOp::FanModeManual ||
                 req.op == ControlOp::FanDuty;
    if (!isPower && !isFan) {
        return reply(ControlStatus::InvalidArgument, "not a chassis operation");
    }
    if (!m_cfg.enabled() || !m_started.load() || m_stopping.load()) {
        return reply(ControlStatus::Unavailable, "no BMC configured");
    }
    if (isFan && m_cfg.fanProfile == FanProfileKind::None) {
        return reply(ControlStatus::Unavailable, "no fan profile configured (fan_profile)");
    }
    if (req.op == ControlOp::FanDuty) {
        bool known = false;
        for (const ZoneConfig& z : m_cfg.zones) {
            known = known || z.zone == req.zone;
        }
        if (!known) {
            return reply(ControlStatus::InvalidArgument, fmt::format("no fan zone {}", req.zone));
        }
        if (req.value < 0 || req.value > 100) {
            return reply(ControlStatus::InvalidArgument,
                         fmt::format("duty {} is out of range 0..100", req.value));
        }
    }
    if (m_pendingControls.fetch_add(1) >= kMaxPendingControls) {
        --m_pendingControls;
        return reply(ControlStatus::Busy, "too many chassis commands queued");
    }
    HS_INFO("chassis event=request op={} zone={} value={} origin=\"{}\"", static_cast<int>(req.op),
            req.zone, req.value, req.origin);
    asio::post(m_ctl.io, [this, req, done = std::move(done)]() mutable {
        runControl(std::move(req), std::move(done));
    });
}

void ChassisManager::runControl(ControlRequest req, ControlDone done) {
    --m_pendingControls;
    ControlResult res = powerControlOf(req.op) ? runPower(req) : runFan(req);
    postCore([done = std::move(done), res = std::move(res)] { done(res); });
}

ControlResult ChassisManager::runPower(const ControlRequest& req) {
    PowerControl pc = *powerControlOf(req.op);
    RawRequest rq{
        kNetfnChassis, kCmdChassisControl, {static_cast<std::uint8_t>(pc)}, "chassis control"};
    GateResult g = sendControl(rq);
    if (g.gate == Gate::NotActive || g.gate == Gate::LeaseExpired) {
        return {ControlStatus::NotActive, g.text};
    }
    if (g.gate == Gate::Failed) {
        BmcAccess a = classifyAccess(g.ec, g.text);
        return {a == BmcAccess::Busy ? ControlStatus::Busy : ControlStatus::BmcError,
                fmt::format("{}: {}", g.ec.message(), g.text)};
    }
    {
        std::lock_guard lk(m_mu);
        m_snap.requested = pc;
    }
    m_requestedAt = Clock::now();
    m_sawOff = false;
    // Confirm soon: the current state changes only when chassis status says so.
    scheduleStatus(milliseconds(50));
    return {ControlStatus::Ok, std::string(ipmitoolWords(pc))};
}

void ChassisManager::refresh(std::function<void(ChassisSnapshot)> done) {
    if (!m_cfg.enabled() || !m_started.load() || m_stopping.load()) {
        postCore([done = std::move(done), s = snapshot()] { done(s); });
        return;
    }
    asio::post(m_ctl.io, [this, done = std::move(done)]() mutable {
        pollStatus();
        postCore([done = std::move(done), s = snapshot()] { done(s); });
    });
}

ChassisSnapshot ChassisManager::snapshot() const {
    std::lock_guard lk(m_mu);
    return m_snap;
}

ChassisStats ChassisManager::stats() const {
    std::lock_guard lk(m_mu);
    return m_stats;
}

bool ChassisManager::bmcReachable() const {
    BmcAccess a = m_access.load();
    return a == BmcAccess::Ok || a == BmcAccess::Disabled;
}

void ChassisManager::emit(Event ev) {
    if (!m_onEvent) {
        return;
    }
    postCore([h = m_onEvent, ev = std::move(ev)] { h(ev); });
}

} // namespace hs::chassis

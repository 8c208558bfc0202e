// ChassisControl: the ipmi-ctl worker. It owns the BMC transport and the ChassisLogic, feeds the
// logic (role changes, requests, status polls, sensor readings) and carries its commands to the
// BMC through the single gate: control() checks the role and the command lease at the moment the
// command leaves, immediately before the transport sends it (after any session reopen).
#include "base/log.hpp"
#include "chassis/chassis_workers.hpp"

#include <fmt/core.h>

namespace hs::chassis {
namespace {

constexpr int kMaxPendingControls = 32;
constexpr const char* kNotActiveText =
    "not active: this node does not send chassis control commands";

} // namespace

void WorkerThread::start() {
    guard.emplace(io.get_executor());
    thread = std::thread([this] { io.run(); });
}

void WorkerThread::join() {
    guard.reset();
    if (thread.joinable()) {
        thread.join();
    }
}

ChassisControl::ChassisControl(asio::io_context& core, const ChassisConfig& cfg,
                               const RoleFlags& role, EventSink events,
                               std::unique_ptr<BmcTransport> transport)
    : m_core(core), m_cfg(cfg), m_role(role), m_events(std::move(events)),
      m_transport(std::move(transport)), m_logic(cfg, *this), m_statusTimer(m_thread.io) {
    publish();
}

void ChassisControl::start() {
    m_thread.start();
    asio::post(m_thread.io, [this] { scheduleStatus(Duration::zero()); });
}

void ChassisControl::stop() {
    revokeLease();
    asio::post(m_thread.io, [this] {
        m_statusTimer.cancel();
        m_transport->close(); // frees the BMC's session slot at once
    });
    m_thread.join();
}

// ---------------------------------------------------------------- posted work

void ChassisControl::becomeActive(std::uint64_t gen, TimePoint at) {
    asio::post(m_thread.io, [this, gen, at] {
        m_logic.becomeActive(gen, at, Clock::now());
        publish();
    });
}

void ChassisControl::becomeStandby() {
    asio::post(m_thread.io, [this] {
        m_logic.becomeStandby();
        publish();
    });
}

void ChassisControl::control(ControlRequest req, ControlDone done) {
    if (m_pending.fetch_add(1) >= kMaxPendingControls) {
        --m_pending;
        asio::post(m_core, [done = std::move(done)] {
            done({ControlStatus::Busy, "too many chassis commands queued"});
        });
        return;
    }
    asio::post(m_thread.io, [this, req = std::move(req), done = std::move(done)]() mutable {
        --m_pending;
        ControlResult res = m_logic.control(req, Clock::now());
        if (m_logic.takeConfirmSoon()) {
            scheduleStatus(std::chrono::milliseconds(50)); // confirm the transition soon
        }
        publish();
        asio::post(m_core, [done = std::move(done), res = std::move(res)] { done(res); });
    });
}

void ChassisControl::refresh(std::function<void(ChassisSnapshot)> done) {
    asio::post(m_thread.io, [this, done = std::move(done)]() mutable {
        m_logic.pollStatus(Clock::now());
        publish();
        asio::post(m_core, [done = std::move(done), s = snapshot()] { done(s); });
    });
}

void ChassisControl::sensors(SensorReadResult res, std::uint64_t startedGen, double tookMs) {
    asio::post(m_thread.io, [this, res = std::move(res), startedGen, tookMs]() mutable {
        if (m_role.stopping.load()) {
            return;
        }
        m_logic.onSensors(std::move(res), startedGen, tookMs, Clock::now());
        publish();
    });
}

void ChassisControl::scheduleStatus(Duration delay) {
    m_statusTimer.expires_after(delay);
    m_statusTimer.async_wait(std::bind_front(&ChassisControl::afterStatusTimer, this));
}

void ChassisControl::afterStatusTimer(std::error_code ec) {
    if (ec || m_role.stopping.load()) {
        return;
    }
    m_logic.pollStatus(Clock::now());
    publish();
    scheduleStatus(m_logic.nextStatusDelay(Clock::now()));
}

// The logic's state as the other threads see it: the snapshot first, then the access state
// (whoever sees the new access state must also see why), then the events.
void ChassisControl::publish() {
    ChassisStats st = m_logic.stats();
    st.leaseWaits = m_leaseWaits;
    {
        std::lock_guard lk(m_pubMu);
        m_pubSnap = m_logic.snapshot();
        m_pubStats = st;
    }
    m_access = m_logic.access();
    m_sessionOpens = m_transport->opens();
    for (Event& ev : m_logic.takeEvents()) {
        m_events(std::move(ev));
    }
}

ChassisSnapshot ChassisControl::snapshot() const {
    std::lock_guard lk(m_pubMu);
    return m_pubSnap;
}

ChassisStats ChassisControl::stats() const {
    std::lock_guard lk(m_pubMu);
    return m_pubStats;
}

// ---------------------------------------------------------------- the gate (ipmi-ctl)

bool ChassisControl::roleActive() const {
    return m_role.active.load() && !m_role.stopping.load();
}

BmcReply ChassisControl::read(const RawRequest& rq) {
    BmcReply r;
    r.ec = m_transport->raw(rq, r.rs);
    r.at = Clock::now();
    r.outcome = r.ec ? GateOutcome::Failed : GateOutcome::Sent;
    if (r.ec) {
        r.text = m_transport->lastErrorText();
    }
    r.sessionOpens = m_transport->opens();
    return r;
}

// THE control gate. Every command that changes the local chassis leaves here and only here; the
// lease is checked by the transport after the session is open, immediately before sending.
BmcReply ChassisControl::control(const RawRequest& rq) {
    BmcReply r;
    bool refused = false;
    r.ec = m_transport->raw(rq, r.rs, [this, &rq, &r, &refused] {
        refused = !leaseAllowsSend(rq, r);
        return !refused;
    });
    r.sessionOpens = m_transport->opens();
    r.at = Clock::now();
    if (refused) {
        return r; // outcome and text set by leaseAllowsSend: nothing was sent
    }
    r.outcome = r.ec ? GateOutcome::Failed : GateOutcome::Sent;
    if (r.ec) {
        r.text = m_transport->lastErrorText();
    }
    return r;
}

// ipmi-ctl, immediately before a control command leaves (after any session reopen). Blocking
// here is fine: this is the chassis worker, never the core thread.
bool ChassisControl::leaseAllowsSend(const RawRequest& rq, BmcReply& refusal) {
    std::unique_lock lk(m_leaseMu);
    TimePoint now = Clock::now();
    if (m_lease.held(now) && roleActive()) {
        return true;
    }
    // Expired while the node still believes it is active: the core may only be a few ms late
    // on a loaded host. Give it up to m_leaseWait to renew; a stalled or demoted core will not.
    Duration expired = m_lease.expiredFor(now);
    auto stillWaiting = [this] { return !m_lease.held(Clock::now()) && roleActive(); };
    if (stillWaiting() && m_leaseWait.count() > 0) {
        m_leaseCv.wait_until(lk, now + m_leaseWait, [&] { return !stillWaiting(); });
    }
    bool ok = m_lease.held(Clock::now()) && roleActive();
    lk.unlock();
    if (ok) {
        ++m_leaseWaits;
        return true;
    }
    if (!roleActive()) {
        refusal.outcome = GateOutcome::NotActive;
        refusal.text = kNotActiveText;
        HS_INFO("chassis event=command_refused reason=not_active what=\"{}\"", rq.what);
        return false; // demoted while the command waited
    }
    refusal.outcome = GateOutcome::LeaseExpired;
    refusal.text = fmt::format(
        "this node's right to command the chassis (its lease) expired {:.1f} ms before and was "
        "not renewed within {} ms; nothing was sent",
        std::chrono::duration<double, std::milli>(expired).count(),
        std::chrono::duration_cast<std::chrono::milliseconds>(m_leaseWait).count());
    HS_WARN("chassis event=command_refused reason=lease_expired what=\"{}\" expired_ms={:.1f}",
            rq.what, std::chrono::duration<double, std::milli>(expired).count());
    return false;
}

void ChassisControl::renewLease(TimePoint deadline) {
    {
        std::lock_guard lk(m_leaseMu);
        m_lease.renew(deadline);
    }
    m_leaseCv.notify_all();
}

void ChassisControl::revokeLease() {
    {
        std::lock_guard lk(m_leaseMu);
        m_lease.revoke();
    }
    m_leaseCv.notify_all();
}

bool ChassisControl::leaseHeld() const {
    std::lock_guard lk(m_leaseMu);
    return m_lease.held(Clock::now());
}

} // namespace hs::chassis

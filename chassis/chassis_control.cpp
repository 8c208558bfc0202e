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

ChassisControl::ChassisControl(asio::io_context& core, std::shared_ptr<const ChassisConfig> cfg,
                               const RoleFlags& role, EventSink events,
                               std::unique_ptr<BmcTransport> transport)
    : core_(core), role_(role), events_(std::move(events)), transport_(std::move(transport)),
      logic_(std::move(cfg), *this), statusTimer_(thread_.io) {
    publish();
}

void ChassisControl::start() {
    thread_.start();
    asio::post(thread_.io, [this] { scheduleStatus(Duration::zero()); });
}

void ChassisControl::stop() {
    revokeLease();
    asio::post(thread_.io, [this] {
        statusTimer_.cancel();
        transport_->close(); // frees the BMC's session slot at once
    });
    thread_.join();
}

// ---------------------------------------------------------------- posted work

void ChassisControl::becomeActive(std::uint64_t gen, TimePoint at, ReplicatedIntent inherited) {
    asio::post(thread_.io, [this, gen, at, inherited = std::move(inherited)] {
        logic_.becomeActive(gen, at, Clock::now(), inherited);
        if (logic_.takeConfirmSoon()) {
            scheduleStatus(std::chrono::milliseconds(50)); // an inherited pending power request
        }
        publish();
    });
}

void ChassisControl::becomeStandby() {
    asio::post(thread_.io, [this] {
        logic_.becomeStandby();
        publish();
    });
}

void ChassisControl::control(ControlRequest req, ControlDone done) {
    if (pending_.fetch_add(1) >= kMaxPendingControls) {
        --pending_;
        asio::post(core_, [done = std::move(done)] {
            done({ControlStatus::Busy, "too many chassis commands queued"});
        });
        return;
    }
    asio::post(thread_.io, [this, req = std::move(req), done = std::move(done)]() mutable {
        --pending_;
        ControlResult res = logic_.control(req, Clock::now());
        if (logic_.takeConfirmSoon()) {
            scheduleStatus(std::chrono::milliseconds(50)); // confirm the transition soon
        }
        publish();
        asio::post(core_, [done = std::move(done), res = std::move(res)] { done(res); });
    });
}

void ChassisControl::refresh(std::function<void(ChassisSnapshot)> done) {
    asio::post(thread_.io, [this, done = std::move(done)]() mutable {
        logic_.pollStatus(Clock::now());
        publish();
        asio::post(core_, [done = std::move(done), s = snapshot()] { done(s); });
    });
}

void ChassisControl::sensors(SensorReadResult res, std::uint64_t startedGen, double tookMs) {
    asio::post(thread_.io, [this, res = std::move(res), startedGen, tookMs]() mutable {
        if (role_.stopping.load()) {
            return;
        }
        logic_.onSensors(std::move(res), startedGen, tookMs, Clock::now());
        publish();
    });
}

void ChassisControl::reconfigure(std::shared_ptr<const ChassisConfig> next) {
    asio::post(thread_.io, [this, next = std::move(next)]() mutable {
        if (role_.stopping.load() || !logic_.reconfigure(std::move(next))) {
            return;
        }
        publish();
        // A shorter status_poll_ms replaces the wait armed with the old one; a longer one (or a
        // confirmation read due soon) takes effect after the read already due.
        Duration delay = logic_.nextStatusDelay(Clock::now());
        if (Clock::now() + delay < statusTimer_.expiry()) {
            scheduleStatus(delay);
        }
    });
}

void ChassisControl::scheduleStatus(Duration delay) {
    statusTimer_.expires_after(delay);
    statusTimer_.async_wait(std::bind_front(&ChassisControl::afterStatusTimer, this));
}

void ChassisControl::afterStatusTimer(std::error_code ec) {
    if (ec || role_.stopping.load()) {
        return;
    }
    logic_.pollStatus(Clock::now());
    publish();
    scheduleStatus(logic_.nextStatusDelay(Clock::now()));
}

// The logic's state as the other threads see it: the snapshot first, then the access state
// (whoever sees the new access state must also see why), then the events.
void ChassisControl::publish() {
    ChassisStats st = logic_.stats();
    st.leaseWaits = leaseWaits_;
    {
        std::lock_guard lk(pubMu_);
        pubSnap_ = logic_.snapshot();
        pubStats_ = st;
    }
    access_ = logic_.access();
    sessionOpens_ = transport_->opens();
    for (Event& ev : logic_.takeEvents()) {
        events_(std::move(ev));
    }
    for (const IntentUpdate& u : logic_.takeIntents()) {
        if (intents_) {
            intents_(u);
        }
    }
}

ChassisSnapshot ChassisControl::snapshot() const {
    std::lock_guard lk(pubMu_);
    return pubSnap_;
}

ChassisStats ChassisControl::stats() const {
    std::lock_guard lk(pubMu_);
    return pubStats_;
}

// ---------------------------------------------------------------- the gate (ipmi-ctl)

bool ChassisControl::roleActive() const {
    return role_.active.load() && !role_.stopping.load();
}

BmcReply ChassisControl::read(const RawRequest& rq) {
    BmcReply r;
    r.ec = transport_->raw(rq, r.rs);
    r.at = Clock::now();
    r.outcome = r.ec ? GateOutcome::Failed : GateOutcome::Sent;
    if (r.ec) {
        r.text = transport_->lastErrorText();
    }
    r.sessionOpens = transport_->opens();
    return r;
}

// THE control gate. Every command that changes the local chassis leaves here and only here; the
// lease is checked by the transport after the session is open, immediately before sending.
BmcReply ChassisControl::control(const RawRequest& rq) {
    BmcReply r;
    bool refused = false;
    r.ec = transport_->raw(rq, r.rs, [this, &rq, &r, &refused] {
        refused = !leaseAllowsSend(rq, r);
        return !refused;
    });
    r.sessionOpens = transport_->opens();
    r.at = Clock::now();
    if (refused) {
        return r; // outcome and text set by leaseAllowsSend: nothing was sent
    }
    r.outcome = r.ec ? GateOutcome::Failed : GateOutcome::Sent;
    if (r.ec) {
        r.text = transport_->lastErrorText();
    }
    return r;
}

// ipmi-ctl, immediately before a control command leaves (after any session reopen). Blocking
// here is fine: this is the chassis worker, never the core thread.
bool ChassisControl::leaseAllowsSend(const RawRequest& rq, BmcReply& refusal) {
    std::unique_lock lk(leaseMu_);
    TimePoint now = Clock::now();
    if (lease_.held(now) && roleActive()) {
        return true;
    }
    // Expired while the node still believes it is active: the core may only be a few ms late
    // on a loaded host. Give it up to leaseWait_ to renew; a stalled or demoted core will not.
    Duration expired = lease_.expiredFor(now);
    auto stillWaiting = [this] { return !lease_.held(Clock::now()) && roleActive(); };
    if (stillWaiting() && leaseWait_.count() > 0) {
        leaseCv_.wait_until(lk, now + leaseWait_, [&] { return !stillWaiting(); });
    }
    bool ok = lease_.held(Clock::now()) && roleActive();
    lk.unlock();
    if (ok) {
        ++leaseWaits_;
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
        std::chrono::duration_cast<std::chrono::milliseconds>(leaseWait_).count());
    HS_WARN("chassis event=command_refused reason=lease_expired what=\"{}\" expired_ms={:.1f}",
            rq.what, std::chrono::duration<double, std::milli>(expired).count());
    return false;
}

void ChassisControl::renewLease(TimePoint deadline) {
    {
        std::lock_guard lk(leaseMu_);
        lease_.renew(deadline);
    }
    leaseCv_.notify_all();
}

void ChassisControl::revokeLease() {
    {
        std::lock_guard lk(leaseMu_);
        lease_.revoke();
    }
    leaseCv_.notify_all();
}

bool ChassisControl::leaseHeld() const {
    std::lock_guard lk(leaseMu_);
    return lease_.held(Clock::now());
}

} // namespace hs::chassis

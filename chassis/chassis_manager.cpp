#include "chassis/chassis_manager.hpp"

#include "base/log.hpp"
#include "chassis/ipmi_session.hpp"

#include <fmt/core.h>

namespace hs::chassis {
namespace {

bool isPowerOp(ControlOp op) {
    return op == ControlOp::PowerOn || op == ControlOp::PowerOff || op == ControlOp::PowerCycle ||
           op == ControlOp::HardReset || op == ControlOp::SoftShutdown;
}

bool isFanOp(ControlOp op) {
    return op == ControlOp::FanModeAuto || op == ControlOp::FanModeManual ||
           op == ControlOp::FanDuty;
}

} // namespace

ChassisManager::ChassisManager(asio::io_context& core, ChassisConfig cfg)
    : core_(core), cfg_(std::make_shared<const ChassisConfig>(std::move(cfg))) {
    control_ = std::make_unique<ChassisControl>(
        core_, cfg_, role_, [this](Event ev) { emit(std::move(ev)); },
        std::make_unique<IpmiSession>(cfg_->bmc));
    // Posted from ipmi-ctl alone, so the core sees the updates in the order they happened.
    control_->setIntentSink([this](const IntentUpdate& u) {
        if (onIntent_) {
            asio::post(core_, [h = onIntent_, u] { h(u); });
        }
    });
}

ChassisManager::~ChassisManager() {
    stop();
}

void ChassisManager::onEvent(EventHandler handler) {
    onEvent_ = std::move(handler);
}

void ChassisManager::start() {
    if (started_.exchange(true)) {
        return;
    }
    if (cfg_->fencing.enabled) {
        fencer_ = std::make_unique<Fencer>(core_, cfg_->fencing, role_);
        fencer_->start();
    }
    if (!cfg_->enabled()) {
        HS_INFO("chassis event=disabled reason=\"interface none\"");
        return;
    }
    HS_INFO("chassis event=start bmc=\"{}\" fan_profile={} zones={} sdr_cache_dir={}",
            cfg_->bmc.describe(), toString(cfg_->fanProfile), cfg_->zones.size(),
            cfg_->sdrCacheDir);
    sensors_ = std::make_unique<SensorPoller>(
        cfg_, role_, [this](SensorReadResult res, std::uint64_t gen, double ms) {
            control_->sensors(std::move(res), gen, ms);
        });
    control_->start();
    sensors_->start();
}

void ChassisManager::stop() {
    if (!started_.load() || role_.stopping.exchange(true)) {
        return;
    }
    role_.active = false;
    control_->revokeLease();
    if (fencer_) {
        fencer_->stop();
    }
    if (cfg_->enabled()) {
        sensors_->stop();
        control_->stop();
        HS_INFO("chassis event=stopped sessions_opened={}", control_->sessionOpens());
    }
}

void ChassisManager::reconfigure(ChassisConfig next) {
    cfg_ = std::make_shared<const ChassisConfig>(std::move(next));
    if (!started_.load() || !cfg_->enabled() || role_.stopping.load()) {
        return;
    }
    control_->reconfigure(cfg_);
    sensors_->reconfigure(cfg_);
}

// ---------------------------------------------------------------- role changes (core thread)

void ChassisManager::setActive(bool active, const ReplicatedIntent& inherited) {
    bool was = role_.active.exchange(active);
    if (!active) {
        // From this moment no command leaves, even one already waiting on ipmi-ctl.
        control_->revokeLease();
    }
    if (was == active || !cfg_->enabled() || role_.stopping.load()) {
        return;
    }
    std::uint64_t gen = ++role_.gen;
    if (active) {
        HS_INFO("chassis event=takeover gen={} inherited_hot={} inherited_floors={} "
                "inherited_power={}",
                gen, inherited.hot, inherited.floors.size(),
                inherited.power ? toString(inherited.power->outcome) : "none");
        control_->becomeActive(gen, Clock::now(), inherited);
        pollSensorsNow();
    } else {
        HS_INFO("chassis event=standby gen={}", gen);
        control_->becomeStandby();
    }
}

void ChassisManager::renewLease(TimePoint deadline) {
    control_->renewLease(deadline);
}

bool ChassisManager::leaseHeld() const {
    return control_->leaseHeld();
}

// ---------------------------------------------------------------- requests (core -> ipmi-ctl)

void ChassisManager::submit(const ControlRequest& req, ControlDone done) {
    auto reply = [this, &done](ControlStatus st, std::string msg) {
        asio::post(core_,
                   [done = std::move(done), r = ControlResult{st, std::move(msg)}] { done(r); });
    };
    bool isPower = isPowerOp(req.op);
    bool isFan = isFanOp(req.op);
    if (!isPower && !isFan) {
        return reply(ControlStatus::InvalidArgument, "not a chassis operation");
    }
    if (!cfg_->enabled() || !started_.load() || role_.stopping.load()) {
        return reply(ControlStatus::Unavailable, "no BMC configured");
    }
    if (isFan && cfg_->fanProfile == FanProfileKind::None) {
        return reply(ControlStatus::Unavailable, "no fan profile configured (fan_profile)");
    }
    if (req.op == ControlOp::FanDuty) {
        bool known = false;
        for (const ZoneConfig& z : cfg_->zones) {
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
    HS_INFO("chassis event=request op={} zone={} value={} origin=\"{}\"", toString(req.op),
            req.zone, req.value, req.origin);
    control_->control(req, std::move(done));
}

void ChassisManager::refresh(std::function<void(ChassisSnapshot)> done) {
    if (!cfg_->enabled() || !started_.load() || role_.stopping.load()) {
        asio::post(core_, [done = std::move(done), s = snapshot()] { done(s); });
        return;
    }
    control_->refresh(std::move(done));
}

void ChassisManager::pollSensorsNow() {
    if (!cfg_->enabled() || !started_.load() || role_.stopping.load()) {
        return;
    }
    sensors_->pollNow();
}

ChassisSnapshot ChassisManager::snapshot() const {
    return control_->snapshot();
}

ChassisStats ChassisManager::stats() const {
    return control_->stats();
}

bool ChassisManager::bmcReachable() const {
    BmcAccess a = control_->access();
    return a == BmcAccess::Ok || a == BmcAccess::Disabled;
}

// ---------------------------------------------------------------- fencing (core -> ipmi-fence)

void ChassisManager::fencePeer(std::uint32_t localSlot, FenceDone done) {
    if (!cfg_->fencing.enabled || !fencer_ || role_.stopping.load()) {
        asio::post(core_, [done = std::move(done)] { done(false, "fencing disabled"); });
        return;
    }
    fencer_->fence(localSlot, std::move(done));
}

void ChassisManager::cancelFence() {
    if (fencer_) {
        fencer_->cancel();
    }
}

void ChassisManager::emit(Event ev) {
    if (!onEvent_) {
        return;
    }
    asio::post(core_, [h = onEvent_, ev = std::move(ev)] { h(ev); });
}

} // namespace hs::chassis

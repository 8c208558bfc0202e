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
    : m_core(core), m_cfg(std::move(cfg)) {
    m_control = std::make_unique<ChassisControl>(
        m_core, m_cfg, m_role, [this](Event ev) { emit(std::move(ev)); },
        std::make_unique<IpmiSession>(m_cfg.bmc));
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
        m_fencer = std::make_unique<Fencer>(m_core, m_cfg.fencing, m_role);
        m_fencer->start();
    }
    if (!m_cfg.enabled()) {
        HS_INFO("chassis event=disabled reason=\"interface none\"");
        return;
    }
    HS_INFO("chassis event=start bmc=\"{}\" fan_profile={} zones={} sdr_cache_dir={}",
            m_cfg.bmc.describe(), toString(m_cfg.fanProfile), m_cfg.zones.size(),
            m_cfg.sdrCacheDir);
    m_sensors = std::make_unique<SensorPoller>(
        m_cfg, m_role, [this](SensorReadResult res, std::uint64_t gen, double ms) {
            m_control->sensors(std::move(res), gen, ms);
        });
    m_control->start();
    m_sensors->start();
}

void ChassisManager::stop() {
    if (!m_started.load() || m_role.stopping.exchange(true)) {
        return;
    }
    m_role.active = false;
    m_control->revokeLease();
    if (m_fencer) {
        m_fencer->stop();
    }
    if (m_cfg.enabled()) {
        m_sensors->stop();
        m_control->stop();
        HS_INFO("chassis event=stopped sessions_opened={}", m_control->sessionOpens());
    }
}

// ---------------------------------------------------------------- role changes (core thread)

void ChassisManager::setActive(bool active) {
    bool was = m_role.active.exchange(active);
    if (!active) {
        // From this moment no command leaves, even one already waiting on ipmi-ctl.
        m_control->revokeLease();
    }
    if (was == active || !m_cfg.enabled() || m_role.stopping.load()) {
        return;
    }
    std::uint64_t gen = ++m_role.gen;
    if (active) {
        HS_INFO("chassis event=takeover gen={}", gen);
        m_control->becomeActive(gen, Clock::now());
        pollSensorsNow();
    } else {
        HS_INFO("chassis event=standby gen={}", gen);
        m_control->becomeStandby();
    }
}

void ChassisManager::renewLease(TimePoint deadline) {
    m_control->renewLease(deadline);
}

bool ChassisManager::leaseHeld() const {
    return m_control->leaseHeld();
}

// ---------------------------------------------------------------- requests (core -> ipmi-ctl)

void ChassisManager::submit(const ControlRequest& req, ControlDone done) {
    auto reply = [this, &done](ControlStatus st, std::string msg) {
        asio::post(m_core,
                   [done = std::move(done), r = ControlResult{st, std::move(msg)}] { done(r); });
    };
    bool isPower = isPowerOp(req.op);
    bool isFan = isFanOp(req.op);
    if (!isPower && !isFan) {
        return reply(ControlStatus::InvalidArgument, "not a chassis operation");
    }
    if (!m_cfg.enabled() || !m_started.load() || m_role.stopping.load()) {
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
    HS_INFO("chassis event=request op={} zone={} value={} origin=\"{}\"", static_cast<int>(req.op),
            req.zone, req.value, req.origin);
    m_control->control(req, std::move(done));
}

void ChassisManager::refresh(std::function<void(ChassisSnapshot)> done) {
    if (!m_cfg.enabled() || !m_started.load() || m_role.stopping.load()) {
        asio::post(m_core, [done = std::move(done), s = snapshot()] { done(s); });
        return;
    }
    m_control->refresh(std::move(done));
}

void ChassisManager::pollSensorsNow() {
    if (!m_cfg.enabled() || !m_started.load() || m_role.stopping.load()) {
        return;
    }
    m_sensors->pollNow();
}

ChassisSnapshot ChassisManager::snapshot() const {
    return m_control->snapshot();
}

ChassisStats ChassisManager::stats() const {
    return m_control->stats();
}

bool ChassisManager::bmcReachable() const {
    BmcAccess a = m_control->access();
    return a == BmcAccess::Ok || a == BmcAccess::Disabled;
}

// ---------------------------------------------------------------- fencing (core -> ipmi-fence)

void ChassisManager::fencePeer(std::uint32_t localSlot, FenceDone done) {
    if (!m_cfg.fencing.enabled || !m_fencer || m_role.stopping.load()) {
        asio::post(m_core, [done = std::move(done)] { done(false, "fencing disabled"); });
        return;
    }
    m_fencer->fence(localSlot, std::move(done));
}

void ChassisManager::cancelFence() {
    if (m_fencer) {
        m_fencer->cancel();
    }
}

void ChassisManager::emit(Event ev) {
    if (!m_onEvent) {
        return;
    }
    asio::post(m_core, [h = m_onEvent, ev = std::move(ev)] { h(ev); });
}

} // namespace hs::chassis

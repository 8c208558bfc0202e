// ChassisManager: sensor polling, fan readings, the thermal policy and the fail-safe.
#include "base/log.hpp"
#include "chassis/chassis_manager.hpp"
#include "chassis/ipmi_error.hpp"

#include <algorithm>
#include <fmt/core.h>

namespace hs::chassis {
namespace {

std::int64_t unixMsNow() {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string_view stateName(SensorState s) {
    switch (s) {
    case SensorState::Unknown:
        return "unknown";
    case SensorState::Nominal:
        return "nominal";
    case SensorState::Warning:
        return "warning";
    case SensorState::Critical:
        return "critical";
    case SensorState::Unavailable:
        return "unavailable";
    }
    return "?";
}

const SensorSnapshot* findSensor(const std::vector<SensorSnapshot>& v, const std::string& name) {
    for (const SensorSnapshot& s : v) {
        if (s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

} // namespace

// ---------------------------------------------------------------- ipmi-sens thread

void ChassisManager::pollSensorsNow() {
    if (!m_cfg.enabled() || !m_started.load() || m_stopping.load()) {
        return;
    }
    asio::post(m_sens.io, [this] { scheduleSensors(milliseconds(0)); });
}

void ChassisManager::scheduleSensors(milliseconds delay) {
    m_sensorTimer.expires_after(delay);
    m_sensorTimer.async_wait(std::bind_front(&ChassisManager::afterSensorTimer, this));
}

void ChassisManager::afterSensorTimer(std::error_code ec) {
    if (ec || m_stopping.load()) {
        return;
    }
    pollSensors();
    scheduleSensors(m_cfg.sensorPoll);
}

void ChassisManager::pollSensors() {
    // Readings count as fresh for the activation that was current when the read began.
    std::uint64_t gen = m_activeGen.load();
    TimePoint t0 = Clock::now();
    SensorReadResult res = m_reader->read();
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    asio::post(m_ctl.io, [this, res = std::move(res), gen, ms]() mutable {
        onSensors(std::move(res), gen, ms);
    });
}

// ---------------------------------------------------------------- ipmi-ctl thread

void ChassisManager::onSensors(SensorReadResult res, std::uint64_t gen, double tookMs) {
    if (m_stopping.load()) {
        return;
    }
    if (res.ec) {
        {
            std::lock_guard lk(m_mu);
            ++m_stats.sensorErrors;
            for (SensorSnapshot& s : m_snap.sensors) {
                s.valueValid = false;
                s.state = SensorState::Unavailable;
            }
        }
        noteError("sensor readings", res.ec, res.errorText);
        m_haveSensors = false;
        if (m_active.load() && m_policyArmed) {
            enterFailSafe("sensor readings lost");
        }
        return;
    }
    std::vector<Event> events;
    for (const SensorSnapshot& s : res.sensors) {
        SensorState old = SensorState::Unknown;
        if (auto it = m_sensorStates.find(s.name); it != m_sensorStates.end()) {
            old = it->second;
        }
        m_sensorStates[s.name] = s.state;
        bool alarm = s.state == SensorState::Warning || s.state == SensorState::Critical;
        bool wasAlarm = old == SensorState::Warning || old == SensorState::Critical;
        if (s.state != old && (alarm || wasAlarm)) {
            Event ev;
            ev.type = EventType::SensorThreshold;
            ev.unixMs = unixMsNow();
            ev.objectIndex = s.index;
            ev.value = s.value;
            ev.text = fmt::format("{} {} {} {} (was {})", s.name, s.value, s.unit,
                                  stateName(s.state), stateName(old));
            HS_WARN("chassis event=sensor_threshold sensor=\"{}\" value={} state={} was={}", s.name,
                    s.value, stateName(s.state), stateName(old));
            events.push_back(std::move(ev));
        }
    }
    {
        std::lock_guard lk(m_mu);
        ++m_stats.sensorPolls;
        m_stats.lastSensorPollMs = tookMs;
        m_snap.sensors = res.sensors;
    }
    m_lastSensors = std::move(res.sensors);
    updateFanReadings(events);
    for (Event& ev : events) {
        emit(std::move(ev));
    }
    if (!m_active.load() || m_ctlGen != m_activeGen.load()) {
        return;
    }
    if (gen != m_ctlGen) {
        return; // the read started before this takeover: not fresh enough to leave fail-safe
    }
    m_haveSensors = true;
    if (!m_policyArmed) {
        m_policyArmed = true;
        HS_INFO("chassis event=thermal_policy_armed sensors={}", m_lastSensors.size());
    }
    applyThermal();
}

void ChassisManager::updateFanReadings(std::vector<Event>& events) {
    std::lock_guard lk(m_mu);
    for (std::size_t i = 0; i < m_cfg.zones.size(); ++i) {
        FanSnapshot& f = m_snap.fans[i];
        f.rpm.reset();
        bool failed = false;
        for (const std::string& name : m_cfg.zones[i].fanSensors) {
            const SensorSnapshot* s = findSensor(m_lastSensors, name);
            if (!s || !s->valueValid) {
                continue;
            }
            if (!f.rpm) {
                f.rpm = s->value;
            }
            failed =
                failed || s->state == SensorState::Critical || (s->value <= 0 && f.dutyPct > 0);
        }
        if (failed && !f.failed) {
            Event ev;
            ev.type = EventType::FanFailure;
            ev.unixMs = unixMsNow();
            ev.objectIndex = f.zone + 1;
            ev.value = f.rpm.value_or(0);
            ev.text = fmt::format("fan zone {} ({}) failed: {} RPM", f.zone, f.name, ev.value);
            HS_WARN("chassis event=fan_failure zone={} rpm={}", f.zone, ev.value);
            events.push_back(std::move(ev));
        }
        f.failed = failed;
    }
}

bool ChassisManager::ensureManualMode() {
    if (m_manualModeSet) {
        return true;
    }
    for (const RawRequest& rq : fanManualMode(m_cfg.fanProfile)) {
        if (sendControl(rq).gate != Gate::Sent) {
            return false;
        }
    }
    m_manualModeSet = true;
    return true;
}

bool ChassisManager::setZoneDuty(std::size_t i, unsigned duty, FanMode mode) {
    if (m_commanded[i] && *m_commanded[i] == duty) {
        std::lock_guard lk(m_mu);
        m_snap.fans[i].mode = mode;
        return true;
    }
    for (const RawRequest& rq : fanZoneDuty(m_cfg.fanProfile, m_cfg.zones[i].zone, duty)) {
        if (sendControl(rq).gate != Gate::Sent) {
            m_commanded[i].reset();
            return false;
        }
    }
    m_commanded[i] = duty;
    HS_INFO("chassis event=fan_duty zone={} duty_pct={} mode={}", m_cfg.zones[i].zone, duty,
            mode == FanMode::FailSafe ? "failsafe" : "manual");
    std::lock_guard lk(m_mu);
    m_snap.fans[i].dutyPct = duty;
    m_snap.fans[i].mode = mode;
    return true;
}

void ChassisManager::enterFailSafe(const std::string& why) {
    if (m_cfg.fanProfile == FanProfileKind::None || !m_active.load()) {
        return;
    }
    bool already = false;
    {
        std::lock_guard lk(m_mu);
        already = m_snap.failSafe;
        m_snap.failSafe = true;
    }
    if (!already) {
        HS_WARN("chassis event=fail_safe duty_pct={} reason=\"{}\"", m_cfg.failsafeDutyPct, why);
    }
    for (auto& p : m_policies) {
        p.reset();
    }
    if (!ensureManualMode()) {
        return; // retried on the next sensor or status round
    }
    for (std::size_t i = 0; i < m_cfg.zones.size(); ++i) {
        setZoneDuty(i, m_cfg.failsafeDutyPct, FanMode::FailSafe);
    }
}

void ChassisManager::applyThermal() {
    if (m_cfg.fanProfile == FanProfileKind::None || !m_active.load() || m_operatorAuto) {
        return;
    }
    if (!m_policyArmed || !m_haveSensors) {
        enterFailSafe("no fresh readings");
        return;
    }
    if (!ensureManualMode()) {
        return;
    }
    bool anyFailSafe = false;
    for (std::size_t i = 0; i < m_cfg.zones.size(); ++i) {
        const ZoneConfig& z = m_cfg.zones[i];
        std::optional<double> hottest;
        for (const std::string& name : z.tempSensors) {
            const SensorSnapshot* s = findSensor(m_lastSensors, name);
            if (s && s->valueValid) {
                hottest = std::max(hottest.value_or(s->value), s->value);
            }
        }
        if (!hottest) {
            // This zone lost its readings: fail-safe for it alone.
            anyFailSafe = true;
            m_policies[i].reset();
            setZoneDuty(i, m_cfg.failsafeDutyPct, FanMode::FailSafe);
            continue;
        }
        unsigned duty = m_policies[i].update(*hottest);
        if (m_floor[i]) {
            duty = std::max(duty, *m_floor[i]);
        }
        setZoneDuty(i, duty, FanMode::Manual);
    }
    bool was = false;
    {
        std::lock_guard lk(m_mu);
        was = m_snap.failSafe;
        m_snap.failSafe = anyFailSafe;
    }
    if (was && !anyFailSafe) {
        HS_INFO("chassis event=fail_safe_left reason=\"fresh readings\"");
    }
}

ControlResult ChassisManager::runFan(const ControlRequest& req) {
    auto failed = [](const GateResult& g) -> ControlResult {
        if (g.gate == Gate::NotActive || g.gate == Gate::LeaseExpired) {
            return {ControlStatus::NotActive, g.text};
        }
        return {ControlStatus::BmcError, fmt::format("{}: {}", g.ec.message(), g.text)};
    };
    switch (req.op) {
    case ControlOp::FanModeAuto: {
        for (const RawRequest& rq : fanAutoMode(m_cfg.fanProfile)) {
            GateResult g = sendControl(rq);
            if (g.gate != Gate::Sent) {
                return failed(g);
            }
        }
        m_operatorAuto = true;
        m_manualModeSet = false;
        std::fill(m_commanded.begin(), m_commanded.end(), std::nullopt);
        std::lock_guard lk(m_mu);
        m_snap.failSafe = false;
        for (FanSnapshot& f : m_snap.fans) {
            f.mode = FanMode::Auto;
        }
        return {ControlStatus::Ok, "fan mode auto: the BMC controls the fans"};
    }
    case ControlOp::FanModeManual: {
        m_manualModeSet = false;
        for (const RawRequest& rq : fanManualMode(m_cfg.fanProfile)) {
            GateResult g = sendControl(rq);
            if (g.gate != Gate::Sent) {
                return failed(g);
            }
        }
        m_manualModeSet = true;
        m_operatorAuto = false;
        std::fill(m_floor.begin(), m_floor.end(), std::nullopt);
        std::fill(m_commanded.begin(), m_commanded.end(), std::nullopt);
        applyThermal();
        return {ControlStatus::Ok, "fan mode manual: the thermal policy controls the fans"};
    }
    case ControlOp::FanDuty: {
        std::size_t i = 0;
        while (i < m_cfg.zones.size() && m_cfg.zones[i].zone != req.zone) {
            ++i;
        }
        if (!m_active.load()) {
            GateResult g = sendControl(fanZoneDuty(m_cfg.fanProfile, req.zone, 0).front());
            return failed(g); // refused by the gate, as every control command on a standby
        }
        auto duty = static_cast<unsigned>(req.value);
        m_leaseRefusal.clear();
        std::optional<unsigned> oldFloor = m_floor[i];
        bool oldAuto = m_operatorAuto;
        m_floor[i] = duty;
        m_operatorAuto = false;
        if (m_policyArmed && m_haveSensors) {
            applyThermal();
        } else if (ensureManualMode()) {
            setZoneDuty(i, std::max(duty, m_cfg.failsafeDutyPct), FanMode::FailSafe);
        }
        unsigned now = m_commanded[i].value_or(0);
        if (!m_commanded[i] && !m_leaseRefusal.empty()) {
            m_floor[i] = oldFloor; // refused: the operator's floor does not take effect later
            m_operatorAuto = oldAuto;
            return {ControlStatus::NotActive, m_leaseRefusal};
        }
        if (!m_commanded[i]) {
            return {ControlStatus::BmcError,
                    fmt::format("zone {} duty not acknowledged: {}", req.zone, m_lastText)};
        }
        return {ControlStatus::Ok,
                fmt::format("zone {} duty floor {}%, commanded {}%", req.zone, duty, now)};
    }
    default:
        break;
    }
    return {ControlStatus::InvalidArgument, "not a fan operation"};
}

} // namespace hs::chassis

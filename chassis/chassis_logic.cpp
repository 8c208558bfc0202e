#include "chassis/chassis_logic.hpp"

#include "base/log.hpp"
#include "chassis/fan_profile.hpp"
#include "chassis/ipmi_error.hpp"

#include <algorithm>
#include <chrono>
#include <fmt/core.h>

namespace hs::chassis {
namespace {

double msBetween(TimePoint from, TimePoint to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
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

const SensorSnapshot* findSensor(const std::vector<SensorSnapshot>& v, const std::string& name) {
    for (const SensorSnapshot& s : v) {
        if (s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

std::int64_t systemUnixMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

constexpr const char* kNotActiveText =
    "not active: this node does not send chassis control commands";

} // namespace

ChassisLogic::ChassisLogic(const ChassisConfig& cfg, BmcPort& port, WallClock wall)
    : m_cfg(cfg), m_port(port), m_wall(wall ? std::move(wall) : WallClock(systemUnixMs)) {
    m_snap.enabled = m_cfg.enabled();
    m_snap.access = m_cfg.enabled() ? BmcAccess::Unknown : BmcAccess::Disabled;
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

std::vector<Event> ChassisLogic::takeEvents() {
    std::vector<Event> out;
    out.swap(m_events);
    return out;
}

bool ChassisLogic::takeConfirmSoon() {
    return std::exchange(m_confirmSoon, false);
}

// ---------------------------------------------------------------- role changes

void ChassisLogic::becomeActive(std::uint64_t gen, TimePoint at, TimePoint now) {
    if (gen != m_port.roleGen() || !m_port.roleActive()) {
        return; // superseded by a later role change
    }
    m_gen = gen;
    m_takeoverAt = at;
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
    enterFailSafe("takeover", now);
    // 2. Reconcile: adopt what the chassis says; a transition requested on the old active is not
    //    re-issued (it could toggle power by accident).
    if (m_snap.requested != PowerControl::None) {
        HS_WARN("chassis event=reconcile dropped_requested={} reason=\"takeover\"",
                static_cast<int>(m_snap.requested));
    }
    m_snap.requested = PowerControl::None;
    pollStatus(now);
    HS_INFO("chassis event=reconciled power={} access={} fail_safe={}",
            static_cast<int>(m_snap.power), accessName(m_snap.access), m_snap.failSafe);
    // 3. The thermal policy waits for onSensors() with a read that started after this takeover.
}

void ChassisLogic::becomeStandby() {
    m_policyArmed = false;
    m_haveSensors = false;
    m_waitFirstAck = false;
    m_snap.failSafe = false;
    m_snap.requested = PowerControl::None;
    for (FanSnapshot& f : m_snap.fans) {
        f.mode = FanMode::Unknown; // the active node drives them now
    }
}

// ---------------------------------------------------------------- the BMC exchange

BmcReply ChassisLogic::exchange(const RawRequest& rq, bool control, TimePoint now) {
    if (!m_port.sessionOpen() && now < m_nextRetry) {
        BmcReply r;
        r.outcome = GateOutcome::Failed;
        r.text = m_lastText.empty() ? "backing off after an error" : m_lastText;
        r.ec = m_lastEc ? m_lastEc : sessionTimeoutError();
        r.at = now;
        return r;
    }
    BmcReply r = control ? m_port.control(rq) : m_port.read(rq);
    if (r.at == TimePoint{}) {
        r.at = now;
    }
    now = r.at; // backoff and the first acknowledgement count from the answer
    if (r.sessionOpens != m_sessionOpensSeen) {
        m_sessionOpensSeen = r.sessionOpens;
        m_manualModeSet = false; // a new session: re-assert the fan mode before any duty
        std::fill(m_commanded.begin(), m_commanded.end(), std::nullopt);
        m_stats.sessionOpens = m_sessionOpensSeen;
    }
    if (r.outcome == GateOutcome::NotActive || r.outcome == GateOutcome::LeaseExpired) {
        // Nothing was sent: not a BMC error, no backoff, access unchanged.
        m_leaseRefusal = r.text;
        return r;
    }
    if (r.ec) {
        r.outcome = GateOutcome::Failed;
        m_lastEc = r.ec;
        m_lastText = r.text;
        m_backoff =
            m_backoff.count() == 0 ? m_cfg.retryMin : std::min(m_backoff * 2, m_cfg.retryMax);
        m_nextRetry = now + m_backoff;
        // The error text first: whoever sees the new access state must also see why.
        noteError(rq.what, r.ec, r.text, now);
        setAccess(classifyAccess(r.ec, r.text), fmt::format("{}: {}", r.ec.message(), r.text));
        return r;
    }
    m_backoff = std::chrono::milliseconds(0);
    m_lastEc = {};
    m_lastText.clear();
    if (m_waitFirstAck && m_port.roleActive()) {
        m_waitFirstAck = false;
        m_stats.takeoverToFirstAckMs = msBetween(m_takeoverAt, now);
    }
    if (r.rs.cc != 0) {
        r.outcome = GateOutcome::Failed;
        r.ec = completionCode(r.rs.cc);
        r.text = r.ec.message();
        noteError(rq.what, r.ec, r.text, now);
        setAccess(classifyAccess(r.ec), {});
        return r;
    }
    r.outcome = GateOutcome::Sent;
    setAccess(BmcAccess::Ok, {});
    return r;
}

// Every command that changes the local chassis passes here, then through BmcPort::control(),
// the single gate that checks the role and the lease as the command leaves.
ChassisLogic::Sent ChassisLogic::sendControl(const RawRequest& rq, TimePoint now) {
    Sent s;
    if (!m_port.roleActive()) {
        s.outcome = GateOutcome::NotActive;
        s.text = kNotActiveText;
        ++m_stats.commandsRefused;
        return s;
    }
    BmcReply r = exchange(rq, true, now);
    s.outcome = r.outcome;
    s.ec = r.ec;
    s.text = r.text;
    s.at = r.at;
    switch (r.outcome) {
    case GateOutcome::NotActive:
        s.text = kNotActiveText; // demoted while the command waited
        ++m_stats.commandsRefused;
        break;
    case GateOutcome::LeaseExpired:
        ++m_stats.commandsRefusedLease;
        break;
    case GateOutcome::Failed:
        ++m_stats.commandErrors;
        break;
    case GateOutcome::Sent:
        ++m_stats.commandsSent;
        HS_DEBUG("chassis event=command what=\"{}\" ok=true", rq.what);
        break;
    }
    return s;
}

void ChassisLogic::setAccess(BmcAccess a, const std::string& text) {
    BmcAccess old = m_snap.access;
    if (old == a) {
        return;
    }
    m_snap.access = a;
    Event ev;
    ev.unixMs = m_wall();
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
void ChassisLogic::noteError(const std::string& what, std::error_code ec, const std::string& text,
                             TimePoint now) {
    std::string msg = fmt::format("{}: {}", ec.message(), text);
    m_snap.lastError = fmt::format("{}: {}", what, msg);
    m_snap.lastErrorUnixMs = m_wall();
    std::string key = what + "|" + msg;
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

// ---------------------------------------------------------------- chassis status and power

Duration ChassisLogic::nextStatusDelay(TimePoint now) const {
    std::chrono::milliseconds next = m_cfg.statusPoll;
    if (m_snap.requested != PowerControl::None) {
        next = std::min(next, std::chrono::milliseconds(200)); // confirm transitions quickly
    }
    Duration d = next;
    if (!m_port.sessionOpen() && m_nextRetry > now) {
        d = std::max(d, m_nextRetry - now);
    }
    return d;
}

void ChassisLogic::pollStatus(TimePoint now) {
    RawRequest rq{kNetfnChassis, kCmdGetChassisStatus, {}, "get chassis status"};
    BmcReply r = exchange(rq, false, now);
    if (r.outcome != GateOutcome::Sent || r.rs.data.empty()) {
        ++m_stats.statusErrors;
        return;
    }
    ++m_stats.statusPolls;
    powerObserved((r.rs.data[0] & 0x01) != 0, r.at);
}

void ChassisLogic::powerObserved(bool on, TimePoint now) {
    PowerState state = on ? PowerState::On : PowerState::Off;
    if (m_snap.power != state) {
        HS_INFO("chassis event=power_changed power={} was={}", on ? "on" : "off",
                static_cast<int>(m_snap.power));
        Event ev;
        ev.type = EventType::ChassisPowerChanged;
        ev.unixMs = m_wall();
        ev.power = state;
        ev.text = on ? "Chassis Power is on" : "Chassis Power is off";
        m_snap.power = state;
        emit(std::move(ev));
    }
    PowerControl req = m_snap.requested;
    bool confirmed = false;
    switch (req) {
    case PowerControl::PowerUp:
    case PowerControl::HardReset:
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
    default:
        break;
    }
    if (req == PowerControl::None) {
        return;
    }
    if (confirmed) {
        m_snap.requested = PowerControl::None;
        HS_INFO("chassis event=power_confirmed control={} after_ms={:.0f}", static_cast<int>(req),
                msBetween(m_requestedAt, now));
    } else if (now - m_requestedAt > m_cfg.powerConfirmTimeout) {
        m_snap.requested = PowerControl::None;
        m_snap.lastError = fmt::format("power control {} not confirmed within {} ms",
                                       static_cast<int>(req), m_cfg.powerConfirmTimeout.count());
        m_snap.lastErrorUnixMs = m_wall();
        HS_WARN("chassis event=power_unconfirmed control={} timeout_ms={}", static_cast<int>(req),
                m_cfg.powerConfirmTimeout.count());
    }
}

// ---------------------------------------------------------------- operator requests

ControlResult ChassisLogic::control(const ControlRequest& req, TimePoint now) {
    return powerControlOf(req.op) ? runPower(req, now) : runFan(req, now);
}

ControlResult ChassisLogic::runPower(const ControlRequest& req, TimePoint now) {
    PowerControl pc = *powerControlOf(req.op);
    RawRequest rq{
        kNetfnChassis, kCmdChassisControl, {static_cast<std::uint8_t>(pc)}, "chassis control"};
    Sent g = sendControl(rq, now);
    if (g.outcome == GateOutcome::NotActive || g.outcome == GateOutcome::LeaseExpired) {
        return {ControlStatus::NotActive, g.text};
    }
    if (g.outcome == GateOutcome::Failed) {
        BmcAccess a = classifyAccess(g.ec, g.text);
        return {a == BmcAccess::Busy ? ControlStatus::Busy : ControlStatus::BmcError,
                fmt::format("{}: {}", g.ec.message(), g.text)};
    }
    // Requested, not current: the power state changes only when chassis status says so.
    m_snap.requested = pc;
    m_requestedAt = g.at;
    m_sawOff = false;
    m_confirmSoon = true;
    return {ControlStatus::Ok, std::string(ipmitoolWords(pc))};
}

ControlResult ChassisLogic::runFan(const ControlRequest& req, TimePoint now) {
    auto failed = [](const Sent& g) -> ControlResult {
        if (g.outcome == GateOutcome::NotActive || g.outcome == GateOutcome::LeaseExpired) {
            return {ControlStatus::NotActive, g.text};
        }
        return {ControlStatus::BmcError, fmt::format("{}: {}", g.ec.message(), g.text)};
    };
    switch (req.op) {
    case ControlOp::FanModeAuto: {
        for (const RawRequest& rq : fanAutoMode(m_cfg.fanProfile)) {
            Sent g = sendControl(rq, now);
            if (g.outcome != GateOutcome::Sent) {
                return failed(g);
            }
        }
        m_operatorAuto = true;
        m_manualModeSet = false;
        std::fill(m_commanded.begin(), m_commanded.end(), std::nullopt);
        m_snap.failSafe = false;
        for (FanSnapshot& f : m_snap.fans) {
            f.mode = FanMode::Auto;
        }
        return {ControlStatus::Ok, "fan mode auto: the BMC controls the fans"};
    }
    case ControlOp::FanModeManual: {
        m_manualModeSet = false;
        for (const RawRequest& rq : fanManualMode(m_cfg.fanProfile)) {
            Sent g = sendControl(rq, now);
            if (g.outcome != GateOutcome::Sent) {
                return failed(g);
            }
        }
        m_manualModeSet = true;
        m_operatorAuto = false;
        std::fill(m_floor.begin(), m_floor.end(), std::nullopt);
        std::fill(m_commanded.begin(), m_commanded.end(), std::nullopt);
        applyThermal(now);
        return {ControlStatus::Ok, "fan mode manual: the thermal policy controls the fans"};
    }
    case ControlOp::FanDuty: {
        std::size_t i = 0;
        while (i < m_cfg.zones.size() && m_cfg.zones[i].zone != req.zone) {
            ++i;
        }
        if (i == m_cfg.zones.size()) {
            return {ControlStatus::InvalidArgument, fmt::format("no fan zone {}", req.zone)};
        }
        if (!m_port.roleActive()) {
            Sent g = sendControl(fanZoneDuty(m_cfg.fanProfile, req.zone, 0).front(), now);
            return failed(g); // refused by the gate, as every control command on a standby
        }
        auto duty = static_cast<unsigned>(req.value);
        m_leaseRefusal.clear();
        std::optional<unsigned> oldFloor = m_floor[i];
        bool oldAuto = m_operatorAuto;
        m_floor[i] = duty;
        m_operatorAuto = false;
        if (m_policyArmed && m_haveSensors) {
            applyThermal(now);
        } else if (ensureManualMode(now)) {
            setZoneDuty(i, std::max(duty, m_cfg.failsafeDutyPct), FanMode::FailSafe, now);
        }
        unsigned commanded = m_commanded[i].value_or(0);
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
                fmt::format("zone {} duty floor {}%, commanded {}%", req.zone, duty, commanded)};
    }
    default:
        break;
    }
    return {ControlStatus::InvalidArgument, "not a fan operation"};
}

// ---------------------------------------------------------------- sensors and fans

void ChassisLogic::onSensors(SensorReadResult res, std::uint64_t startedGen, double tookMs,
                             TimePoint now) {
    if (res.ec) {
        ++m_stats.sensorErrors;
        for (SensorSnapshot& s : m_snap.sensors) {
            s.valueValid = false;
            s.state = SensorState::Unavailable;
        }
        noteError("sensor readings", res.ec, res.errorText, now);
        m_haveSensors = false;
        if (m_port.roleActive() && m_policyArmed) {
            enterFailSafe("sensor readings lost", now);
        }
        return;
    }
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
            ev.unixMs = m_wall();
            ev.objectIndex = s.index;
            ev.value = s.value;
            ev.text = fmt::format("{} {} {} {} (was {})", s.name, s.value, s.unit,
                                  toString(s.state), toString(old));
            HS_WARN("chassis event=sensor_threshold sensor=\"{}\" value={} state={} was={}", s.name,
                    s.value, toString(s.state), toString(old));
            emit(std::move(ev));
        }
    }
    ++m_stats.sensorPolls;
    m_stats.lastSensorPollMs = tookMs;
    m_snap.sensors = res.sensors;
    m_lastSensors = std::move(res.sensors);
    updateFanReadings();
    if (!m_port.roleActive() || m_gen != m_port.roleGen()) {
        return;
    }
    if (startedGen != m_gen) {
        return; // the read started before this takeover: not fresh enough to leave fail-safe
    }
    m_haveSensors = true;
    if (!m_policyArmed) {
        m_policyArmed = true;
        HS_INFO("chassis event=thermal_policy_armed sensors={}", m_lastSensors.size());
    }
    applyThermal(now);
}

void ChassisLogic::updateFanReadings() {
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
            ev.unixMs = m_wall();
            ev.objectIndex = f.zone + 1;
            ev.value = f.rpm.value_or(0);
            ev.text = fmt::format("fan zone {} ({}) failed: {} RPM", f.zone, f.name, ev.value);
            HS_WARN("chassis event=fan_failure zone={} rpm={}", f.zone, ev.value);
            emit(std::move(ev));
        }
        f.failed = failed;
    }
}

bool ChassisLogic::ensureManualMode(TimePoint now) {
    if (m_manualModeSet) {
        return true;
    }
    for (const RawRequest& rq : fanManualMode(m_cfg.fanProfile)) {
        if (sendControl(rq, now).outcome != GateOutcome::Sent) {
            return false;
        }
    }
    m_manualModeSet = true;
    return true;
}

bool ChassisLogic::setZoneDuty(std::size_t i, unsigned duty, FanMode mode, TimePoint now) {
    if (m_commanded[i] && *m_commanded[i] == duty) {
        m_snap.fans[i].mode = mode;
        return true;
    }
    for (const RawRequest& rq : fanZoneDuty(m_cfg.fanProfile, m_cfg.zones[i].zone, duty)) {
        if (sendControl(rq, now).outcome != GateOutcome::Sent) {
            m_commanded[i].reset();
            return false;
        }
    }
    m_commanded[i] = duty;
    HS_INFO("chassis event=fan_duty zone={} duty_pct={} mode={}", m_cfg.zones[i].zone, duty,
            mode == FanMode::FailSafe ? "failsafe" : "manual");
    m_snap.fans[i].dutyPct = duty;
    m_snap.fans[i].mode = mode;
    return true;
}

void ChassisLogic::enterFailSafe(const std::string& why, TimePoint now) {
    if (m_cfg.fanProfile == FanProfileKind::None || !m_port.roleActive()) {
        return;
    }
    if (!m_snap.failSafe) {
        HS_WARN("chassis event=fail_safe duty_pct={} reason=\"{}\"", m_cfg.failsafeDutyPct, why);
    }
    m_snap.failSafe = true;
    for (auto& p : m_policies) {
        p.reset();
    }
    if (!ensureManualMode(now)) {
        return; // retried on the next sensor or status round
    }
    for (std::size_t i = 0; i < m_cfg.zones.size(); ++i) {
        setZoneDuty(i, m_cfg.failsafeDutyPct, FanMode::FailSafe, now);
    }
}

void ChassisLogic::applyThermal(TimePoint now) {
    if (m_cfg.fanProfile == FanProfileKind::None || !m_port.roleActive() || m_operatorAuto) {
        return;
    }
    if (!m_policyArmed || !m_haveSensors) {
        enterFailSafe("no fresh readings", now);
        return;
    }
    if (!ensureManualMode(now)) {
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
            setZoneDuty(i, m_cfg.failsafeDutyPct, FanMode::FailSafe, now);
            continue;
        }
        unsigned duty = m_policies[i].update(*hottest);
        if (m_floor[i]) {
            duty = std::max(duty, *m_floor[i]);
        }
        setZoneDuty(i, duty, FanMode::Manual, now);
    }
    bool was = m_snap.failSafe;
    m_snap.failSafe = anyFailSafe;
    if (was && !anyFailSafe) {
        HS_INFO("chassis event=fail_safe_left reason=\"fresh readings\"");
    }
}

} // namespace hs::chassis

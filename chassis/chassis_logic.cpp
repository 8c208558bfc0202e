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

ChassisLogic::ChassisLogic(std::shared_ptr<const ChassisConfig> cfg, BmcPort& port, WallClock wall)
    : cfg_(std::move(cfg)), port_(port), wall_(wall ? std::move(wall) : WallClock(systemUnixMs)) {
    snap_.enabled = cfg_->enabled();
    snap_.access = cfg_->enabled() ? BmcAccess::Unknown : BmcAccess::Disabled;
    snap_.fanProfile = std::string(toString(cfg_->fanProfile));
    for (const ZoneConfig& z : cfg_->zones) {
        FanSnapshot f;
        f.zone = z.zone;
        f.name = z.name;
        snap_.fans.push_back(f);
        policies_.emplace_back(z.curve, z.hysteresisC);
    }
    commanded_.resize(cfg_->zones.size());
    floor_.resize(cfg_->zones.size());
}

bool ChassisLogic::reconfigure(std::shared_ptr<const ChassisConfig> next) {
    const ChassisConfig& old = *cfg_;
    bool sameZones = next->zones.size() == old.zones.size();
    for (std::size_t i = 0; sameZones && i < old.zones.size(); ++i) {
        sameZones = next->zones[i].zone == old.zones[i].zone;
    }
    if (!sameZones || next->enabled() != old.enabled() || next->fanProfile != old.fanProfile ||
        next->bmc.target() != old.bmc.target()) {
        HS_ERROR("chassis event=reconfigure_refused reason=\"the BMC, the fan profile or the set "
                 "of zones differs: needs restart\"");
        return false;
    }
    std::vector<std::string> changedZones;
    for (std::size_t i = 0; i < old.zones.size(); ++i) {
        const ZoneConfig& a = old.zones[i];
        const ZoneConfig& b = next->zones[i];
        bool curveChanged = a.hysteresisC != b.hysteresisC || a.curve.size() != b.curve.size();
        for (std::size_t k = 0; !curveChanged && k < a.curve.size(); ++k) {
            curveChanged =
                a.curve[k].tempC != b.curve[k].tempC || a.curve[k].dutyPct != b.curve[k].dutyPct;
        }
        if (curveChanged) {
            policies_[i] = ZonePolicy(b.curve, b.hysteresisC); // no history: the new curve decides
            changedZones.push_back(std::to_string(b.zone));
        }
        snap_.fans[i].name = b.name;
    }
    backoff_ = std::min(backoff_, next->retryMax);
    cfg_ = std::move(next);
    std::string zones;
    for (const std::string& z : changedZones) {
        zones += (zones.empty() ? "" : ",") + z;
    }
    HS_INFO("chassis event=reconfigured status_poll_ms={} sensor_poll_ms={} failsafe_duty_pct={} "
            "curves_changed=\"{}\" applied_at=\"next sensor readings\"",
            cfg_->statusPoll.count(), cfg_->sensorPoll.count(), cfg_->failsafeDutyPct, zones);
    return true;
}

std::vector<IntentUpdate> ChassisLogic::takeIntents() {
    std::vector<IntentUpdate> out;
    out.swap(intents_);
    return out;
}

std::vector<Event> ChassisLogic::takeEvents() {
    std::vector<Event> out;
    out.swap(events_);
    return out;
}

bool ChassisLogic::takeConfirmSoon() {
    return std::exchange(confirmSoon_, false);
}

// ---------------------------------------------------------------- role changes

void ChassisLogic::becomeActive(std::uint64_t gen, TimePoint at, TimePoint now,
                                const ReplicatedIntent& inherited) {
    if (gen != port_.roleGen() || !port_.roleActive()) {
        return; // superseded by a later role change
    }
    gen_ = gen;
    takeoverAt_ = at;
    waitFirstAck_ = true;
    policyArmed_ = false;
    haveSensors_ = false;
    operatorAuto_ = false;
    autoOnArm_ = false;
    manualModeSet_ = false;
    reportedMode_.reset();
    for (auto& p : policies_) {
        p.reset();
    }
    std::fill(commanded_.begin(), commanded_.end(), std::nullopt);
    // The operator's floors and fan mode as the old active had them (none without replication).
    std::fill(floor_.begin(), floor_.end(), std::nullopt);
    for (std::size_t i = 0; i < floor_.size() && i < inherited.floors.size(); ++i) {
        if (inherited.floors[i]) {
            floor_[i] = std::min(*inherited.floors[i], 100U);
        }
    }
    bool wantAuto = inherited.fanMode == FanMode::Auto;
    // Hot: the mirror was in step AND this node's own readings are fresh (a read that completed
    // within freshBound()), so the thermal policy can run at once: no blind fail-safe burst.
    bool fresh = lastSensorsOk_ && now >= lastSensorsAt_ && now - lastSensorsAt_ <= freshBound();
    double ageMs = lastSensorsOk_ ? msBetween(lastSensorsAt_, now) : -1.0;
    if (inherited.hot && fresh && cfg_->fanProfile != FanProfileKind::None) {
        HS_INFO("chassis event=hot_takeover fan_mode={} floors={} readings_age_ms={:.0f}",
                wantAuto ? "auto" : "manual",
                std::count_if(floor_.begin(), floor_.end(), [](const auto& f) { return f; }),
                ageMs);
        haveSensors_ = true;
        policyArmed_ = true;
        snap_.failSafe = false;
        HS_INFO("chassis event=thermal_policy_armed sensors={} reason=\"hot takeover\"",
                lastSensors_.size());
        if (!wantAuto || applyAutoMode(now).outcome != GateOutcome::Sent) {
            autoOnArm_ = wantAuto; // the BMC refused: retried with the next readings
            applyThermal(now);
        }
    } else {
        if (inherited.hot) {
            HS_WARN("chassis event=hot_takeover_refused reason=\"readings stale\" "
                    "readings_age_ms={:.0f} bound_ms={}",
                    ageMs,
                    std::chrono::duration_cast<std::chrono::milliseconds>(freshBound()).count());
        }
        autoOnArm_ = wantAuto;
        // 1. Fans to the fail-safe duty until this node has readings of its own.
        enterFailSafe("takeover", now);
    }
    // 2. Reconcile: adopt what the chassis says; a transition requested on the old active is not
    //    re-issued (it could toggle power by accident). One this node requested in an earlier
    //    activation is dropped; the inherited one is confirmed or reported.
    const std::optional<PowerRequestState>& ip = inherited.power;
    bool continuing =
        ip && ip->outcome == PowerOutcome::Pending && ip->transition != PowerControl::None;
    if (snap_.requested != PowerControl::None) {
        HS_WARN("chassis event=reconcile dropped_requested={} reason=\"takeover\"",
                toString(snap_.requested));
    }
    // This node's own request, still pending from an earlier activation, unless the inherited
    // store knows it (same id: its state there wins) or a newer one.
    if (power_ && power_->outcome == PowerOutcome::Pending &&
        !(ip && ip->requestId >= power_->requestId)) {
        powerOutcome(PowerOutcome::Dropped, "takeover: a request of an earlier activation is "
                                            "not re-issued");
    }
    snap_.requested = PowerControl::None;
    if (ip) {
        lastRequestId_ = std::max(lastRequestId_, ip->requestId);
        if (!power_ || ip->requestId >= power_->requestId) {
            power_ = *ip;
        }
    }
    if (continuing) {
        inheritPower(*ip, now);
    }
    std::uint64_t pollsBefore = stats_.statusPolls;
    inTakeover_ = true; // a failed read here drops a request past its deadline (below)
    pollStatus(now);
    inTakeover_ = false;
    if (continuing && snap_.requested != PowerControl::None && now > deadline_ &&
        stats_.statusPolls == pollsBefore) {
        powerOutcome(PowerOutcome::Dropped,
                     "takeover: deadline passed and the chassis status could not be read");
    }
    reportFanMode();
    HS_INFO("chassis event=reconciled power={} access={} fail_safe={}", toString(snap_.power),
            toString(snap_.access), snap_.failSafe);
    // 3. The thermal policy waits for onSensors() with a read that started after this takeover.
}

// An inherited pending request: confirm it from here on (the chassis' status decides), never
// send it again. Its deadline is the old active's, carried over in wall-clock time.
void ChassisLogic::inheritPower(const PowerRequestState& p, TimePoint now) {
    std::int64_t wallNow = wall_();
    snap_.requested = p.transition;
    sawOff_ = false;
    requestedAt_ =
        now - std::chrono::milliseconds(std::max<std::int64_t>(0, wallNow - p.requestedUnixMs));
    deadline_ = now + std::chrono::milliseconds(p.deadlineUnixMs - wallNow);
    power_ = p;
    confirmSoon_ = true; // poll fast from now on, not after the current status interval
    HS_INFO("chassis event=power_request_inherited id={} control={} deadline_in_ms={}", p.requestId,
            toString(p.transition), p.deadlineUnixMs - wallNow);
}

void ChassisLogic::becomeStandby() {
    policyArmed_ = false;
    autoOnArm_ = false;
    reportedMode_.reset();
    haveSensors_ = false;
    waitFirstAck_ = false;
    snap_.failSafe = false;
    snap_.requested = PowerControl::None;
    for (FanSnapshot& f : snap_.fans) {
        f.mode = FanMode::Unknown; // the active node drives them now
    }
}

// ---------------------------------------------------------------- the BMC exchange

BmcReply ChassisLogic::exchange(const RawRequest& rq, bool control, TimePoint now) {
    if (!port_.sessionOpen() && now < nextRetry_) {
        BmcReply r;
        r.outcome = GateOutcome::Failed;
        r.text = lastText_.empty() ? "backing off after an error" : lastText_;
        r.ec = lastEc_ ? lastEc_ : sessionTimeoutError();
        r.at = now;
        return r;
    }
    BmcReply r = control ? port_.control(rq) : port_.read(rq);
    if (r.at == TimePoint{}) {
        r.at = now;
    }
    now = r.at; // backoff and the first acknowledgement count from the answer
    if (r.sessionOpens != sessionOpensSeen_) {
        sessionOpensSeen_ = r.sessionOpens;
        manualModeSet_ = false; // a new session: re-assert the fan mode before any duty
        std::fill(commanded_.begin(), commanded_.end(), std::nullopt);
        stats_.sessionOpens = sessionOpensSeen_;
    }
    if (r.outcome == GateOutcome::NotActive || r.outcome == GateOutcome::LeaseExpired) {
        // Nothing was sent: not a BMC error, no backoff, access unchanged.
        leaseRefusal_ = r.text;
        return r;
    }
    if (r.ec) {
        r.outcome = GateOutcome::Failed;
        lastEc_ = r.ec;
        lastText_ = r.text;
        backoff_ = backoff_.count() == 0 ? cfg_->retryMin : std::min(backoff_ * 2, cfg_->retryMax);
        nextRetry_ = now + backoff_;
        // The error text first: whoever sees the new access state must also see why.
        noteError(rq.what, r.ec, r.text, now);
        setAccess(classifyAccess(r.ec, r.text), fmt::format("{}: {}", r.ec.message(), r.text));
        return r;
    }
    backoff_ = std::chrono::milliseconds(0);
    lastEc_ = {};
    lastText_.clear();
    if (waitFirstAck_ && port_.roleActive()) {
        waitFirstAck_ = false;
        stats_.takeoverToFirstAckMs = msBetween(takeoverAt_, now);
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
    if (!port_.roleActive()) {
        s.outcome = GateOutcome::NotActive;
        s.text = kNotActiveText;
        ++stats_.commandsRefused;
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
        ++stats_.commandsRefused;
        break;
    case GateOutcome::LeaseExpired:
        ++stats_.commandsRefusedLease;
        break;
    case GateOutcome::Failed:
        ++stats_.commandErrors;
        break;
    case GateOutcome::Sent:
        ++stats_.commandsSent;
        HS_DEBUG("chassis event=command what=\"{}\" ok=true", rq.what);
        break;
    }
    return s;
}

void ChassisLogic::setAccess(BmcAccess a, const std::string& text) {
    BmcAccess old = snap_.access;
    if (old == a) {
        return;
    }
    snap_.access = a;
    Event ev;
    ev.unixMs = wall_();
    if (a == BmcAccess::Ok) {
        HS_INFO("chassis event=bmc_recovered from={}", toString(old));
        if (old != BmcAccess::Unknown) {
            ev.type = EventType::BmcRecovered;
            ev.text = fmt::format("BMC {} reachable again", cfg_->bmc.target());
            emit(ev);
        }
        return;
    }
    HS_WARN("chassis event=bmc_access state={} from={} error=\"{}\"", toString(a), toString(old),
            text);
    if (old == BmcAccess::Ok || old == BmcAccess::Unknown) {
        ev.type = EventType::BmcUnreachable;
        ev.text = fmt::format("BMC {}: {}", snakeCase(toString(a)), text); // "BMC auth_failed: ..."
        emit(ev);
    }
}

// Rate-limited error log: the first occurrence of a message at once, repeats at most once per
// error_log_interval_ms with the count of what was suppressed.
void ChassisLogic::noteError(const std::string& what, std::error_code ec, const std::string& text,
                             TimePoint now) {
    std::string msg = fmt::format("{}: {}", ec.message(), text);
    snap_.lastError = fmt::format("{}: {}", what, msg);
    snap_.lastErrorUnixMs = wall_();
    std::string key = what + "|" + msg;
    auto it = errorLogged_.find(key);
    if (it != errorLogged_.end() && now - it->second < cfg_->errorLogInterval) {
        ++errorSuppressed_[key];
        return;
    }
    std::uint64_t suppressed = errorSuppressed_[key];
    errorSuppressed_[key] = 0;
    errorLogged_[key] = now;
    HS_ERROR("chassis event=bmc_error bmc=\"{}\" op=\"{}\" category={} code={} error=\"{}\" "
             "detail=\"{}\" repeated={}",
             cfg_->bmc.target(), what, ec.category().name(), ec.value(), ec.message(), text,
             suppressed);
}

// ---------------------------------------------------------------- chassis status and power

Duration ChassisLogic::nextStatusDelay(TimePoint now) const {
    std::chrono::milliseconds next = cfg_->statusPoll;
    if (snap_.requested != PowerControl::None) {
        next = std::min(next, std::chrono::milliseconds(200)); // confirm transitions quickly
    }
    Duration d = next;
    if (!port_.sessionOpen() && nextRetry_ > now) {
        d = std::max(d, nextRetry_ - now);
    }
    return d;
}

void ChassisLogic::pollStatus(TimePoint now) {
    RawRequest rq{kNetfnChassis, kCmdGetChassisStatus, {}, "get chassis status"};
    BmcReply r = exchange(rq, false, now);
    if (r.outcome != GateOutcome::Sent || r.rs.data.empty()) {
        ++stats_.statusErrors;
        if (!inTakeover_) {
            checkPowerDeadline(r.at == TimePoint{} ? now : r.at);
        }
        return;
    }
    ++stats_.statusPolls;
    snap_.statusBytes.assign(
        r.rs.data.begin(),
        r.rs.data.begin() +
            std::min<std::ptrdiff_t>(4, static_cast<std::ptrdiff_t>(r.rs.data.size())));
    powerObserved((r.rs.data[0] & 0x01) != 0, r.at);
}

void ChassisLogic::powerObserved(bool on, TimePoint now) {
    PowerState state = on ? PowerState::On : PowerState::Off;
    if (snap_.power != state) {
        HS_INFO("chassis event=power_changed power={} was={}", toString(state),
                toString(snap_.power));
        Event ev;
        ev.type = EventType::ChassisPowerChanged;
        ev.unixMs = wall_();
        ev.power = state;
        ev.text = on ? "Chassis Power is on" : "Chassis Power is off";
        snap_.power = state;
        emit(std::move(ev));
    }
    PowerControl req = snap_.requested;
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
            sawOff_ = true;
        }
        confirmed = on && sawOff_;
        break;
    default:
        break;
    }
    if (req == PowerControl::None) {
        return;
    }
    if (confirmed) {
        snap_.requested = PowerControl::None;
        HS_INFO("chassis event=power_confirmed control={} after_ms={:.0f} id={}", toString(req),
                msBetween(requestedAt_, now), power_ ? power_->requestId : 0);
        powerOutcome(PowerOutcome::Confirmed, "chassis status shows the requested state");
    } else {
        checkPowerDeadline(now);
    }
}

void ChassisLogic::checkPowerDeadline(TimePoint now) {
    PowerControl req = snap_.requested;
    if (req == PowerControl::None || now <= deadline_) {
        return;
    }
    snap_.requested = PowerControl::None;
    snap_.lastError = fmt::format("power control {} not confirmed within {} ms", toString(req),
                                  cfg_->powerConfirmTimeout.count());
    snap_.lastErrorUnixMs = wall_();
    HS_WARN("chassis event=power_unconfirmed control={} timeout_ms={}", toString(req),
            cfg_->powerConfirmTimeout.count());
    powerOutcome(PowerOutcome::Failed, "not confirmed by chassis status before the deadline");
}

// The newest request ends: one intent update and one log line (a request is never lost silently).
void ChassisLogic::powerOutcome(PowerOutcome o, const std::string& why) {
    snap_.requested = PowerControl::None;
    if (!power_ || power_->outcome != PowerOutcome::Pending) {
        return;
    }
    power_->outcome = o;
    power_->outcomeUnixMs = wall_();
    auto level = o == PowerOutcome::Confirmed ? ::hs::log::Level::Info : ::hs::log::Level::Warn;
    HS_LOG(level, "chassis event=power_request id={} control={} outcome={} reason=\"{}\"",
           power_->requestId, toString(power_->transition), toString(o), why);
    emitIntent(*power_);
}

// ---------------------------------------------------------------- operator requests

ControlResult ChassisLogic::control(const ControlRequest& req, TimePoint now) {
    return powerControlOf(req.op) ? runPower(req, now) : runFan(req, now);
}

ControlResult ChassisLogic::runPower(const ControlRequest& req, TimePoint now) {
    PowerControl pc = *powerControlOf(req.op);
    RawRequest rq{
        kNetfnChassis, kCmdChassisControl, {static_cast<std::uint8_t>(pc)}, "chassis control"};
    std::int64_t requestedUnixMs = wall_();
    Sent g = sendControl(rq, now);
    if (g.outcome == GateOutcome::NotActive || g.outcome == GateOutcome::LeaseExpired) {
        return {ControlStatus::NotActive, g.text}; // nothing was sent: no request
    }
    // The command left the gate: a new request, which supersedes one still pending.
    powerOutcome(PowerOutcome::Superseded, "a newer power request");
    PowerRequestState p;
    p.requestId = ++lastRequestId_;
    p.transition = pc;
    p.requestedUnixMs = requestedUnixMs;
    p.deadlineUnixMs = requestedUnixMs + cfg_->powerConfirmTimeout.count();
    p.outcome = PowerOutcome::Pending;
    power_ = p;
    if (g.outcome == GateOutcome::Failed) {
        BmcAccess a = classifyAccess(g.ec, g.text);
        powerOutcome(PowerOutcome::Failed, fmt::format("BMC: {}: {}", g.ec.message(), g.text));
        return {a == BmcAccess::Busy ? ControlStatus::Busy : ControlStatus::BmcError,
                fmt::format("{}: {}", g.ec.message(), g.text)};
    }
    HS_INFO("chassis event=power_request id={} control={} outcome=pending deadline_ms={}",
            p.requestId, toString(pc), cfg_->powerConfirmTimeout.count());
    emitIntent(p);
    // Requested, not current: the power state changes only when chassis status says so.
    snap_.requested = pc;
    requestedAt_ = g.at;
    deadline_ = g.at + cfg_->powerConfirmTimeout;
    sawOff_ = false;
    confirmSoon_ = true;
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
        Sent g = applyAutoMode(now);
        if (g.outcome != GateOutcome::Sent) {
            return failed(g);
        }
        autoOnArm_ = false;
        reportFanMode();
        return {ControlStatus::Ok, "fan mode auto: the BMC controls the fans"};
    }
    case ControlOp::FanModeManual: {
        manualModeSet_ = false;
        for (const RawRequest& rq : fanManualMode(cfg_->fanProfile)) {
            Sent g = sendControl(rq, now);
            if (g.outcome != GateOutcome::Sent) {
                return failed(g);
            }
        }
        manualModeSet_ = true;
        operatorAuto_ = false;
        autoOnArm_ = false;
        std::vector<std::optional<unsigned>> oldFloors = floor_;
        std::fill(floor_.begin(), floor_.end(), std::nullopt);
        std::fill(commanded_.begin(), commanded_.end(), std::nullopt);
        applyThermal(now);
        reportFanMode();
        for (std::size_t i = 0; i < oldFloors.size(); ++i) {
            if (oldFloors[i]) {
                emitIntent(FanFloorChanged{static_cast<std::uint32_t>(i), std::nullopt});
            }
        }
        return {ControlStatus::Ok, "fan mode manual: the thermal policy controls the fans"};
    }
    case ControlOp::FanDuty: {
        std::size_t i = 0;
        while (i < cfg_->zones.size() && cfg_->zones[i].zone != req.zone) {
            ++i;
        }
        if (i == cfg_->zones.size()) {
            return {ControlStatus::InvalidArgument, fmt::format("no fan zone {}", req.zone)};
        }
        if (!port_.roleActive()) {
            Sent g = sendControl(fanZoneDuty(cfg_->fanProfile, req.zone, 0).front(), now);
            return failed(g); // refused by the gate, as every control command on a standby
        }
        auto duty = static_cast<unsigned>(req.value);
        leaseRefusal_.clear();
        std::optional<unsigned> oldFloor = floor_[i];
        bool oldAuto = operatorAuto_;
        floor_[i] = duty;
        operatorAuto_ = false;
        if (policyArmed_ && haveSensors_) {
            applyThermal(now);
        } else if (ensureManualMode(now)) {
            setZoneDuty(i, std::max(duty, cfg_->failsafeDutyPct), FanMode::FailSafe, now);
        }
        unsigned commanded = commanded_[i].value_or(0);
        if (!commanded_[i] && !leaseRefusal_.empty()) {
            floor_[i] = oldFloor; // refused: the operator's floor does not take effect later
            operatorAuto_ = oldAuto;
            return {ControlStatus::NotActive, leaseRefusal_};
        }
        if (!commanded_[i]) {
            return {ControlStatus::BmcError,
                    fmt::format("zone {} duty not acknowledged: {}", req.zone, lastText_)};
        }
        autoOnArm_ = false;
        reportFanMode();
        if (oldFloor != floor_[i]) {
            emitIntent(FanFloorChanged{static_cast<std::uint32_t>(i), floor_[i]});
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
        ++stats_.sensorErrors;
        for (SensorSnapshot& s : snap_.sensors) {
            s.valueValid = false;
            s.state = SensorState::Unavailable;
        }
        noteError("sensor readings", res.ec, res.errorText, now);
        haveSensors_ = false;
        lastSensorsOk_ = false;
        if (port_.roleActive() && policyArmed_) {
            enterFailSafe("sensor readings lost", now);
            reportFanMode();
        }
        return;
    }
    for (const SensorSnapshot& s : res.sensors) {
        SensorState old = SensorState::Unknown;
        if (auto it = sensorStates_.find(s.name); it != sensorStates_.end()) {
            old = it->second;
        }
        sensorStates_[s.name] = s.state;
        bool alarm = s.state == SensorState::Warning || s.state == SensorState::Critical;
        bool wasAlarm = old == SensorState::Warning || old == SensorState::Critical;
        if (s.state != old && (alarm || wasAlarm)) {
            Event ev;
            ev.type = EventType::SensorThreshold;
            ev.unixMs = wall_();
            ev.objectIndex = s.index;
            ev.value = s.value;
            ev.text = fmt::format("{} {} {} {} (was {})", s.name, s.value, s.unit,
                                  toString(s.state), toString(old));
            HS_WARN("chassis event=sensor_threshold sensor=\"{}\" value={} state={} was={}", s.name,
                    s.value, toString(s.state), toString(old));
            emit(std::move(ev));
        }
    }
    ++stats_.sensorPolls;
    stats_.lastSensorPollMs = tookMs;
    lastSensorsOk_ = true;
    lastSensorsAt_ = now;
    snap_.sensors = res.sensors;
    lastSensors_ = std::move(res.sensors);
    updateFanReadings();
    if (!port_.roleActive() || gen_ != port_.roleGen()) {
        return;
    }
    if (startedGen != gen_) {
        return; // the read started before this takeover: not fresh enough to leave fail-safe
    }
    haveSensors_ = true;
    if (!policyArmed_) {
        policyArmed_ = true;
        HS_INFO("chassis event=thermal_policy_armed sensors={}", lastSensors_.size());
    }
    if (autoOnArm_ && applyAutoMode(now).outcome == GateOutcome::Sent) {
        autoOnArm_ = false; // the inherited fan mode auto, now that the fail-safe is over
        HS_INFO("chassis event=fan_mode_applied mode=auto reason=\"inherited\"");
    }
    applyThermal(now);
    reportFanMode();
}

void ChassisLogic::updateFanReadings() {
    for (std::size_t i = 0; i < cfg_->zones.size(); ++i) {
        FanSnapshot& f = snap_.fans[i];
        f.rpm.reset();
        bool failed = false;
        for (const std::string& name : cfg_->zones[i].fanSensors) {
            const SensorSnapshot* s = findSensor(lastSensors_, name);
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
            ev.unixMs = wall_();
            ev.objectIndex = f.zone + 1;
            ev.value = f.rpm.value_or(0);
            ev.text = fmt::format("fan zone {} ({}) failed: {} RPM", f.zone, f.name, ev.value);
            HS_WARN("chassis event=fan_failure zone={} rpm={}", f.zone, ev.value);
            emit(std::move(ev));
        }
        f.failed = failed;
    }
}

// The BMC's own fan control (the operator's "fan mode auto").
ChassisLogic::Sent ChassisLogic::applyAutoMode(TimePoint now) {
    Sent g;
    for (const RawRequest& rq : fanAutoMode(cfg_->fanProfile)) {
        g = sendControl(rq, now);
        if (g.outcome != GateOutcome::Sent) {
            return g;
        }
    }
    operatorAuto_ = true;
    manualModeSet_ = false;
    std::fill(commanded_.begin(), commanded_.end(), std::nullopt);
    snap_.failSafe = false;
    for (FanSnapshot& f : snap_.fans) {
        f.mode = FanMode::Auto;
    }
    g.outcome = GateOutcome::Sent;
    return g;
}

// The fan mode as intent (auto, manual = our policy, or the fail-safe): one update per change,
// only on the active.
void ChassisLogic::reportFanMode() {
    if (cfg_->fanProfile == FanProfileKind::None || !port_.roleActive()) {
        return;
    }
    if (autoOnArm_) {
        return; // the inherited auto still holds: the fail-safe before it is not the intent
    }
    FanMode m = FanMode::Manual;
    if (operatorAuto_) {
        m = FanMode::Auto;
    } else if (snap_.failSafe) {
        m = FanMode::FailSafe;
    }
    if (reportedMode_ == m) {
        return;
    }
    reportedMode_ = m;
    emitIntent(FanModeChanged{m});
}

bool ChassisLogic::ensureManualMode(TimePoint now) {
    if (manualModeSet_) {
        return true;
    }
    for (const RawRequest& rq : fanManualMode(cfg_->fanProfile)) {
        if (sendControl(rq, now).outcome != GateOutcome::Sent) {
            return false;
        }
    }
    manualModeSet_ = true;
    return true;
}

bool ChassisLogic::setZoneDuty(std::size_t i, unsigned duty, FanMode mode, TimePoint now) {
    if (commanded_[i] && *commanded_[i] == duty) {
        snap_.fans[i].mode = mode;
        return true;
    }
    for (const RawRequest& rq : fanZoneDuty(cfg_->fanProfile, cfg_->zones[i].zone, duty)) {
        if (sendControl(rq, now).outcome != GateOutcome::Sent) {
            commanded_[i].reset();
            return false;
        }
    }
    commanded_[i] = duty;
    HS_INFO("chassis event=fan_duty zone={} duty_pct={} mode={}", cfg_->zones[i].zone, duty,
            mode == FanMode::FailSafe ? "failsafe" : "manual");
    snap_.fans[i].dutyPct = duty;
    snap_.fans[i].mode = mode;
    return true;
}

void ChassisLogic::enterFailSafe(const std::string& why, TimePoint now) {
    if (cfg_->fanProfile == FanProfileKind::None || !port_.roleActive()) {
        return;
    }
    if (!snap_.failSafe) {
        HS_WARN("chassis event=fail_safe duty_pct={} reason=\"{}\"", cfg_->failsafeDutyPct, why);
    }
    snap_.failSafe = true;
    for (auto& p : policies_) {
        p.reset();
    }
    if (!ensureManualMode(now)) {
        return; // retried on the next sensor or status round
    }
    for (std::size_t i = 0; i < cfg_->zones.size(); ++i) {
        setZoneDuty(i, cfg_->failsafeDutyPct, FanMode::FailSafe, now);
    }
}

void ChassisLogic::applyThermal(TimePoint now) {
    if (cfg_->fanProfile == FanProfileKind::None || !port_.roleActive() || operatorAuto_) {
        return;
    }
    if (!policyArmed_ || !haveSensors_) {
        enterFailSafe("no fresh readings", now);
        return;
    }
    if (!ensureManualMode(now)) {
        return;
    }
    bool anyFailSafe = false;
    for (std::size_t i = 0; i < cfg_->zones.size(); ++i) {
        const ZoneConfig& z = cfg_->zones[i];
        std::optional<double> hottest;
        for (const std::string& name : z.tempSensors) {
            const SensorSnapshot* s = findSensor(lastSensors_, name);
            if (s && s->valueValid) {
                hottest = std::max(hottest.value_or(s->value), s->value);
            }
        }
        if (!hottest) {
            // This zone lost its readings: fail-safe for it alone.
            anyFailSafe = true;
            policies_[i].reset();
            setZoneDuty(i, cfg_->failsafeDutyPct, FanMode::FailSafe, now);
            continue;
        }
        unsigned duty = policies_[i].update(*hottest);
        if (floor_[i]) {
            duty = std::max(duty, *floor_[i]);
        }
        setZoneDuty(i, duty, FanMode::Manual, now);
    }
    bool was = snap_.failSafe;
    snap_.failSafe = anyFailSafe;
    if (was && !anyFailSafe) {
        HS_INFO("chassis event=fail_safe_left reason=\"fresh readings\"");
    }
}

} // namespace hs::chassis

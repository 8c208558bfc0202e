// ChassisLogic: what the chassis manager decides, without any I/O, thread or clock of its own.
// Time, the role, sensor readings and the BMC's replies go in; commands go out through a BmcPort,
// events come out through takeEvents(). The same shape as NodeCore: ChassisManager feeds it from
// its control worker, and the unit tests feed it on a virtual clock against a fake BMC.
//
// What it holds: requested vs confirmed power (the power state changes only when Get Chassis
// Status says so), the fail-safe, the thermal curve per zone with the operator's floors, the
// classification of BMC errors into an access state (what the heartbeat's fitness carries),
// backoff after errors, and the takeover order: fail-safe first, then a chassis status read that
// reconciles (a transition requested before is dropped, never re-issued), then the thermal policy
// once a sensor read that STARTED after the takeover has come back.
//
// Replication (docs/replication.md "The chassis at a takeover"): every change of operator intent
// on the active comes out through takeIntents() in order (fan mode with the fail-safe, a zone's
// floor, a power request with its id, deadline and outcome), and becomeActive() takes what the
// node inherited: with a hot mirror and fresh readings of its own the fail-safe burst is skipped;
// the inherited fan mode and floors are applied in every case; an inherited pending power request
// is confirmed (never re-issued) or reported.
//
// The gate is not here: every chassis-changing command goes out through BmcPort::control(), which
// checks the role and the command lease at the moment the command leaves (ChassisManager).
#pragma once

#include "base/types.hpp"
#include "chassis/bmc_transport.hpp"
#include "chassis/chassis_config.hpp"
#include "chassis/fan_curve.hpp"
#include "chassis/replicated_intent.hpp"
#include "chassis/sensor_readings.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace hs::chassis {

struct ChassisStats {
    std::uint64_t commandsSent = 0;         // control commands the BMC acknowledged (cc 0)
    std::uint64_t commandsRefused = 0;      // refused by the gate (not active)
    std::uint64_t commandsRefusedLease = 0; // active, but the lease expired and was not renewed
    std::uint64_t leaseWaits = 0;    // commands that found the lease expired and got a renewal
    std::uint64_t commandErrors = 0; // control commands that failed
    std::uint64_t statusPolls = 0;   // chassis status reads that succeeded
    std::uint64_t statusErrors = 0;
    std::uint64_t sensorPolls = 0; // sensor reads that succeeded
    std::uint64_t sensorErrors = 0;
    std::uint64_t sessionOpens = 0;             // FreeIPMI sessions opened on ipmi-ctl
    std::optional<double> takeoverToFirstAckMs; // last takeover: setActive(true) -> first ack
    std::optional<double> lastSensorPollMs;     // duration of the last successful sensor read
};

// How a request left (or did not leave) through the gate.
enum class GateOutcome : std::uint8_t {
    Sent,         // the request reached the BMC and an answer (maybe a completion code) came back
    NotActive,    // the node is not active (or was demoted while the command waited)
    LeaseExpired, // active, but the lease expired and was not renewed: nothing was sent
    Failed,       // the exchange failed (timeout, refused login...): see ec
};

struct BmcReply {
    GateOutcome outcome = GateOutcome::Failed;
    std::error_code ec;             // transport error (Failed)
    std::string text;               // why: transport text or the gate's refusal
    RawResponse rs;                 // Sent: completion code and data
    std::uint64_t sessionOpens = 0; // sessions opened so far (a change: the BMC forgot fan mode)
    TimePoint at{}; // when the answer came back or the refusal was decided (a timeout takes long)
};

// The logic's way out to the BMC: ChassisManager's control worker implements it over the
// transport and the single gate; unit tests implement it over a FakeBmc and a virtual clock.
class BmcPort {
  public:
    virtual ~BmcPort() = default;
    // The role as the gate sees it at this moment (set by the core, before any post).
    virtual bool roleActive() const = 0;
    // Counts role changes; readings are fresh for the activation current when they started.
    virtual std::uint64_t roleGen() const = 0;
    virtual bool sessionOpen() const = 0;
    // A read (Get Chassis Status): allowed in both roles, no lease.
    virtual BmcReply read(const RawRequest& rq) = 0;
    // A chassis-changing command: the role and the command lease are checked at the moment it
    // leaves; refused (NotActive, LeaseExpired) means nothing was sent.
    virtual BmcReply control(const RawRequest& rq) = 0;
};

class ChassisLogic {
  public:
    using WallClock = std::function<std::int64_t()>; // unix ms, for event and error stamps

    // The configuration is an immutable snapshot; the first form takes a copy.
    ChassisLogic(std::shared_ptr<const ChassisConfig> cfg, BmcPort& port, WallClock wall = {});
    ChassisLogic(const ChassisConfig& cfg, BmcPort& port, WallClock wall = {})
        : ChassisLogic(std::make_shared<const ChassisConfig>(cfg), port, std::move(wall)) {}

    // ---- a reload (the control worker, between two steps) ----
    // Swaps in the new snapshot. Only what a reload may change live differs (daemon/reload.hpp):
    // polls, retries, timeouts, the fail-safe duty, and per zone its name, sensors, curve and
    // hysteresis; a snapshot with another BMC, fan profile or set of zones (ids, in order) is
    // refused (false) and the running one stays. Nothing is sent here: no fail-safe, no power
    // command. A zone whose curve or hysteresis changed forgets its history, so the next step
    // (the next sensor readings) commands the duty the new curve gives.
    bool reconfigure(std::shared_ptr<const ChassisConfig> next);
    const ChassisConfig& config() const { return *cfg_; }

    // ---- role (the control worker, after the core changed the role) ----
    // Takeover `gen` decided at `at`: fail-safe, reconcile, policy armed later by onSensors.
    // `inherited`: what the node's mirror of the old active's store held (the default: nothing,
    // hot=false, exactly the takeover without replication). Hot and readings fresh (a read
    // completed within freshBound() before `now`): no fail-safe, the policy is armed at once.
    void becomeActive(std::uint64_t gen, TimePoint at, TimePoint now,
                      const ReplicatedIntent& inherited = {});
    void becomeStandby();

    // ---- inputs ----
    // Reads chassis status through the port and adopts what the chassis says.
    void pollStatus(TimePoint now);
    // A sensor read that started while roleGen() was `startedGen`.
    void onSensors(SensorReadResult res, std::uint64_t startedGen, double tookMs, TimePoint now);
    // Power and fan requests (already checked for range and configuration by the manager).
    ControlResult control(const ControlRequest& req, TimePoint now);

    // ---- outputs ----
    // When to read chassis status next: faster while a power transition waits to be confirmed,
    // no sooner than the backoff allows while the session is down.
    Duration nextStatusDelay(TimePoint now) const;
    // True once after a power command was acknowledged, or a takeover inherited a pending one:
    // confirm it soon.
    bool takeConfirmSoon();
    std::vector<Event> takeEvents();
    // Every intent change since the last call, in order (only an active node makes any).
    std::vector<IntentUpdate> takeIntents();
    // The newest power request this node knows (its own or inherited), any outcome.
    const std::optional<PowerRequestState>& powerRequest() const { return power_; }
    // How old the last successful sensor read may be for a hot takeover: 2 x sensor_poll_ms.
    Duration freshBound() const { return 2 * cfg_->sensorPoll; }
    const ChassisSnapshot& snapshot() const { return snap_; }
    const ChassisStats& stats() const { return stats_; }
    BmcAccess access() const { return snap_.access; }
    bool policyArmed() const { return policyArmed_; }
    const std::optional<unsigned>& floor(std::size_t zoneIdx) const { return floor_[zoneIdx]; }

  private:
    struct Sent {
        GateOutcome outcome = GateOutcome::Failed;
        std::error_code ec;
        std::string text;
        TimePoint at{};
    };
    BmcReply exchange(const RawRequest& rq, bool control, TimePoint now);
    Sent sendControl(const RawRequest& rq, TimePoint now);
    void powerObserved(bool on, TimePoint now);
    void checkPowerDeadline(TimePoint now);
    void powerOutcome(PowerOutcome o, const std::string& why);
    void inheritPower(const PowerRequestState& p, TimePoint now);
    void reportFanMode();
    Sent applyAutoMode(TimePoint now);
    ControlResult runPower(const ControlRequest& req, TimePoint now);
    ControlResult runFan(const ControlRequest& req, TimePoint now);
    void applyThermal(TimePoint now);
    void enterFailSafe(const std::string& why, TimePoint now);
    bool ensureManualMode(TimePoint now);
    bool setZoneDuty(std::size_t zoneIdx, unsigned duty, FanMode mode, TimePoint now);
    void updateFanReadings();
    void setAccess(BmcAccess a, const std::string& text);
    void noteError(const std::string& what, std::error_code ec, const std::string& text,
                   TimePoint now);
    void emit(Event ev) { events_.push_back(std::move(ev)); }
    void emitIntent(const IntentUpdate& u) { intents_.push_back(u); }

    std::shared_ptr<const ChassisConfig> cfg_; // swapped only by reconfigure()
    BmcPort& port_;
    WallClock wall_;

    // the BMC exchange
    TimePoint nextRetry_{};
    std::chrono::milliseconds backoff_{0};
    std::error_code lastEc_;
    std::string lastText_;
    std::uint64_t sessionOpensSeen_ = 0;
    std::string leaseRefusal_; // why the last command was refused by the lease check
    std::map<std::string, TimePoint> errorLogged_; // rate limit per message
    std::map<std::string, std::uint64_t> errorSuppressed_;

    // power
    TimePoint requestedAt_{};
    TimePoint deadline_{};                   // snap_.requested unconfirmed by then: Failed
    std::optional<PowerRequestState> power_; // the newest request (replicated intent)
    std::uint64_t lastRequestId_ = 0;
    bool inTakeover_ = false; // becomeActive's own status read
    bool sawOff_ = false;
    bool confirmSoon_ = false;

    // fans and the thermal policy
    std::vector<ZonePolicy> policies_;
    std::vector<std::optional<unsigned>> commanded_; // last duty the BMC acknowledged per zone
    std::vector<std::optional<unsigned>> floor_;     // operator "fan duty" floors
    std::vector<SensorSnapshot> lastSensors_;
    std::map<std::string, SensorState> sensorStates_;
    bool haveSensors_ = false; // lastSensors_ are valid for the current activation
    bool manualModeSet_ = false;
    bool policyArmed_ = false;
    bool operatorAuto_ = false;
    bool autoOnArm_ = false;              // inherited fan mode auto, applied once the policy arms
    std::optional<FanMode> reportedMode_; // the fan mode last reported as intent
    TimePoint lastSensorsAt_{};           // when the last successful read came back
    bool lastSensorsOk_ = false;          // the last read succeeded

    // the activation
    std::uint64_t gen_ = 0;
    bool waitFirstAck_ = false;
    TimePoint takeoverAt_{};

    ChassisSnapshot snap_;
    ChassisStats stats_;
    std::vector<Event> events_;
    std::vector<IntentUpdate> intents_;
};

} // namespace hs::chassis

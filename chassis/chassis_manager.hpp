// ChassisManager: drives the chassis through IPMI while this node is ACTIVE; reads only while it
// is STANDBY. All FreeIPMI calls run on the manager's own worker threads (one FreeIPMI context
// each); results and events are posted back onto the core io_context, which is never blocked.
//
// Threads:
//   ipmi-ctl   one IpmiSession (reused, reopened after a timeout, closed properly): chassis
//              status polls, power and fan commands, the thermal policy and the role gate.
//   ipmi-sens  libipmimonitoring sensor polls; readings are handed to ipmi-ctl.
//   ipmi-fence (only with [chassis.fencing] enabled) a separate session to the PEER's BMC.
//
// The single control gate: sendControl() on ipmi-ctl is the only function that sends a command
// changing the local chassis (power or fans). submit(), the fail-safe, the thermal policy and the
// operator fan and fan-mode commands all go through it. It refuses unless the node is active AND
// holds the command lease (chassis/command_lease.hpp) at the moment the command leaves: the lease
// is checked after the session is (re)opened, immediately before FreeIPMI sends the request.
// The core renews the lease on every tick while it drives the chassis; nobody else does, so after
// a stop of the whole process (SIGSTOP, a VM pause) the lease has expired before any thread runs
// again, whichever thread runs first. A command that finds it expired while the node is still
// active waits on ipmi-ctl (never on the core) up to setLeaseWait() for a renewal, then is
// refused (ChassisStats::commandsRefusedLease) and nothing is sent.
#pragma once

#include "base/asio.hpp"
#include "base/types.hpp"
#include "chassis/chassis_config.hpp"
#include "chassis/command_lease.hpp"
#include "chassis/fan_curve.hpp"
#include "chassis/fan_profile.hpp"
#include "chassis/ipmi_session.hpp"
#include "chassis/sensor_reader.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

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

class ChassisManager {
  public:
    using EventHandler = std::function<void(const Event&)>;
    using ControlDone = std::function<void(ControlResult)>;
    using FenceDone = std::function<void(bool ok, std::string msg)>;

    ChassisManager(asio::io_context& core, ChassisConfig cfg);
    ~ChassisManager();
    ChassisManager(const ChassisManager&) = delete;
    ChassisManager& operator=(const ChassisManager&) = delete;

    // Set before start(): called on the core io_context for ChassisPowerChanged, BmcUnreachable,
    // BmcRecovered, SensorThreshold and FanFailure.
    void onEvent(EventHandler handler);
    // Starts the worker threads and the polls (as standby until setActive(true)).
    void start();
    // Stops polling, closes the IPMI sessions properly and joins the threads. Idempotent.
    void stop();

    // Role changes from the core. Becoming active: fail-safe fan duty first, then a chassis status
    // read that reconciles the power state (no power command is ever sent by a takeover), then the
    // thermal policy once a sensor read that started after the takeover has come back.
    // Becoming standby: the gate refuses every control command from that moment on.
    void setActive(bool active);
    bool isActive() const { return m_active.load(); }

    // The command lease (see the top of this file). renewLease: called by the core on every tick
    // while it drives the chassis, with the deadline the heartbeat timing allows
    // (commandLeaseLength after the tick); extends, never shortens. setActive(false) revokes it.
    void renewLease(TimePoint deadline);
    // How long a command that finds the lease expired waits for a renewal before it is refused
    // (the daemon: one detection time). Default 100 ms. Set before start().
    void setLeaseWait(Duration wait) { m_leaseWait = wait; }
    bool leaseHeld() const;

    // Power on/off/cycle/reset/soft and fan mode/duty. `done` runs on the core io_context.
    // On a standby the result is ControlStatus::NotActive (the daemon names the active node).
    void submit(const ControlRequest& req, ControlDone done);
    // Reads chassis status now (allowed in both roles) and hands back the updated snapshot.
    void refresh(std::function<void(ChassisSnapshot)> done);
    // Asks for an immediate sensor poll (both roles).
    void pollSensorsNow();

    ChassisSnapshot snapshot() const;
    // True while the last exchange with the BMC succeeded (also true when no BMC is configured).
    bool bmcReachable() const;
    BmcAccess bmcAccess() const { return m_access.load(); }
    ChassisStats stats() const;
    const ChassisConfig& config() const { return m_cfg; }

    // Fencing: after waiting localSlot * delay_per_slot_ms, power the PEER host off through ITS
    // BMC (hard power down, never cycle) and confirm the chassis reads off. Not subject to the
    // role gate (it is a step of taking over, and does not touch the local chassis). `done` runs
    // on the core io_context. With fencing disabled, done(false, "fencing disabled").
    void fencePeer(std::uint32_t localSlot, FenceDone done);
    // Cancels a fence still waiting out its delay (paths came back); done(false, "cancelled").
    void cancelFence();

  private:
    struct Worker {
        asio::io_context io;
        std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
        std::thread thread;
        void start();
        void join();
    };
    enum class Gate { Sent, NotActive, LeaseExpired, Failed };
    struct GateResult {
        Gate gate = Gate::Failed;
        std::error_code ec;
        std::string text;
    };

    // ---- ipmi-ctl thread ----
    std::error_code transact(const RawRequest& rq, RawResponse& rs, std::string& text,
                             const IpmiSession::SendCheck& mayLeave = {});
    GateResult sendControl(const RawRequest& rq);
    bool leaseAllowsSend(const RawRequest& rq);
    void scheduleStatus(std::chrono::milliseconds delay);
    void afterStatusTimer(std::error_code ec);
    void pollStatus();
    void powerObserved(bool on);
    void onBecameActive(std::uint64_t gen);
    void onBecameStandby();
    void runControl(ControlRequest req, ControlDone done);
    ControlResult runPower(const ControlRequest& req);
    ControlResult runFan(const ControlRequest& req);
    void onSensors(SensorReadResult res, std::uint64_t gen, double tookMs);
    void applyThermal();
    void enterFailSafe(const std::string& why);
    bool ensureManualMode();
    bool setZoneDuty(std::size_t zoneIdx, unsigned duty, FanMode mode);
    void updateFanReadings(std::vector<Event>& events);
    void setAccess(BmcAccess a, const std::string& text);
    void noteError(const std::string& what, std::error_code ec, const std::string& text);

    // ---- ipmi-sens thread ----
    void scheduleSensors(std::chrono::milliseconds delay);
    void afterSensorTimer(std::error_code ec);
    void pollSensors();

    // ---- ipmi-fence thread ----
    void runFence(FenceDone done);
    void finishFence(FenceDone done, IpmiSession& session, bool ok, std::string msg);

    void emit(Event ev);
    template <typename F> void postCore(F&& f) { asio::post(m_core, std::forward<F>(f)); }

    asio::io_context& m_core;
    const ChassisConfig m_cfg;
    EventHandler m_onEvent;

    Worker m_ctl;
    Worker m_sens;
    std::unique_ptr<Worker> m_fence;
    std::atomic<bool> m_started{false};
    std::atomic<bool> m_stopping{false};
    std::atomic<bool> m_active{false};
    std::atomic<std::uint64_t> m_activeGen{0};
    std::atomic<BmcAccess> m_access{BmcAccess::Unknown};
    std::atomic<int> m_pendingControls{0};

    // ipmi-ctl state
    std::unique_ptr<IpmiSession> m_session;
    asio::steady_timer m_statusTimer;
    TimePoint m_nextRetry{};
    std::chrono::milliseconds m_backoff{0};
    std::error_code m_lastEc;
    std::string m_lastText;
    std::vector<ZonePolicy> m_policies;
    std::vector<std::optional<unsigned>> m_commanded; // last duty the BMC acknowledged per zone
    std::vector<std::optional<unsigned>> m_floor;     // operator "fan duty" floors
    std::vector<SensorSnapshot> m_lastSensors;
    bool m_haveSensors = false; // m_lastSensors are valid for the current activation
    bool m_manualModeSet = false;
    bool m_policyArmed = false;
    bool m_operatorAuto = false;
    std::uint64_t m_ctlGen = 0;
    std::uint64_t m_sessionOpensSeen = 0;
    TimePoint m_requestedAt{};
    bool m_sawOff = false;
    bool m_waitFirstAck = false;
    TimePoint m_takeoverAt{};
    std::map<std::string, TimePoint> m_errorLogged; // rate limit per message
    std::map<std::string, std::uint64_t> m_errorSuppressed;
    std::map<std::string, SensorState> m_sensorStates;

    // ipmi-sens state
    std::unique_ptr<SensorReader> m_reader;
    asio::steady_timer m_sensorTimer;

    // ipmi-fence state
    std::unique_ptr<asio::steady_timer> m_fenceTimer;
    FenceDone m_fenceDone;

    // the command lease: renewed/revoked by the core, checked on ipmi-ctl
    mutable std::mutex m_leaseMu;
    std::condition_variable m_leaseCv;
    CommandLease m_lease;
    Duration m_leaseWait{std::chrono::milliseconds(100)};
    bool m_leaseRefused = false; // ipmi-ctl: the last send was stopped by the lease check
    std::string m_leaseRefusal;  // ipmi-ctl: why the last lease refusal (runFan reports it)

    mutable std::mutex m_mu; // guards m_snap and m_stats
    ChassisSnapshot m_snap;
    ChassisStats m_stats;
};

} // namespace hs::chassis

// ChassisManager: drives the chassis through IPMI while this node is ACTIVE; reads only while it
// is STANDBY. The composition of the chassis room: the pure ChassisLogic decides, one worker
// object per thread (chassis/chassis_workers.hpp) does the blocking FreeIPMI calls, and results
// and events are posted back onto the core io_context, which is never blocked.
//
// Threads (each owned by one object):
//   ipmi-ctl   ChassisControl: one BMC transport (IpmiSession, reused, reopened after a timeout,
//              closed properly), the ChassisLogic, chassis status polls, power and fan commands,
//              the thermal policy and the role gate.
//   ipmi-sens  SensorPoller: libipmimonitoring sensor polls; readings are handed to ipmi-ctl.
//   ipmi-fence Fencer (only with [chassis.fencing] enabled): a separate session to the PEER's BMC.
//
// The single control gate: ChassisControl::control() on ipmi-ctl is the only function that sends
// a command changing the local chassis (power or fans). submit(), the fail-safe, the thermal
// policy and the operator fan and fan-mode commands all go through it. It refuses unless the node
// is active AND holds the command lease (chassis/command_lease.hpp) at the moment the command
// leaves: the lease is checked after the session is (re)opened, immediately before the transport
// sends the request. The core renews the lease on every tick while it drives the chassis; nobody
// else does, so after a stop of the whole process (SIGSTOP, a VM pause) the lease has expired
// before any thread runs again, whichever thread runs first. A command that finds it expired
// while the node is still active waits on ipmi-ctl (never on the core) up to setLeaseWait() for
// a renewal, then is refused (ChassisStats::commandsRefusedLease) and nothing is sent.
#pragma once

#include "base/asio.hpp"
#include "base/types.hpp"
#include "chassis/chassis_config.hpp"
#include "chassis/chassis_logic.hpp"
#include "chassis/chassis_workers.hpp"
#include "chassis/command_lease.hpp"
#include "chassis/replicated_intent.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace hs::chassis {

class ChassisManager {
  public:
    using EventHandler = std::function<void(const Event&)>;
    using ControlDone = std::function<void(ControlResult)>;
    using FenceDone = std::function<void(bool ok, std::string msg)>;
    using IntentHandler = std::function<void(const IntentUpdate&)>;

    ChassisManager(asio::io_context& core, ChassisConfig cfg);
    ~ChassisManager();
    ChassisManager(const ChassisManager&) = delete;
    ChassisManager& operator=(const ChassisManager&) = delete;

    // Set before start(): called on the core io_context for ChassisPowerChanged, BmcUnreachable,
    // BmcRecovered, SensorThreshold and FanFailure.
    void onEvent(EventHandler handler);
    // Set before start(): called on the core io_context, in order, for every change of operator
    // intent on the active (fan mode, a zone's floor, a power request and its outcome), for the
    // replicated store. FanModeChanged: Auto / Manual on the operator's command, FailSafe when the
    // fail-safe is entered (a takeover, readings lost), Manual again when the policy takes over.
    // FanFloorChanged: zone INDEX in cfg.zones (0-based); "fan mode manual" clears every floor.
    // PowerRequestState: Pending when the BMC accepted the command (ids rise, deadline = request
    // + power_confirm_timeout_ms), then once more with Confirmed / Failed / Superseded / Dropped;
    // a command the BMC refused is reported once, already Failed.
    void onIntent(IntentHandler handler) { onIntent_ = std::move(handler); }
    // Starts the worker threads and the polls (as standby until setActive(true)).
    void start();
    // Stops polling, closes the IPMI sessions properly and joins the threads. Idempotent.
    void stop();

    // Role changes from the core. Becoming active: fail-safe fan duty first, then a chassis status
    // read that reconciles the power state (no power command is ever sent by a takeover), then the
    // thermal policy once a sensor read that started after the takeover has come back.
    // Becoming standby: the gate refuses every control command from that moment on.
    // `inherited`: the replicated intent a takeover continues from (docs/replication.md "The
    // chassis at a takeover"), handed to ChassisLogic::becomeActive on ipmi-ctl: inherited.hot and
    // a sensor read of this node completed within 2 x sensor_poll_ms -> no fail-safe burst, the
    // policy is armed at once; the inherited fan mode and floors are applied in every case; an
    // inherited pending power request is confirmed by chassis status (never re-issued), or
    // reported Failed/Dropped. The default (hot=false, nothing inherited) is the takeover above.
    void setActive(bool active, const ReplicatedIntent& inherited = {});
    bool isActive() const { return role_.active.load(); }

    // The command lease (see the top of this file). renewLease: called by the core on every tick
    // while it drives the chassis, with the deadline the heartbeat timing allows
    // (commandLeaseLength after the tick); extends, never shortens. setActive(false) revokes it.
    void renewLease(TimePoint deadline);
    // How long a command that finds the lease expired waits for a renewal before it is refused
    // (the daemon: one detection time). Default 100 ms. Set before start().
    void setLeaseWait(Duration wait) { control_->setLeaseWait(wait); }
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
    BmcAccess bmcAccess() const { return control_->access(); }
    ChassisStats stats() const;
    // The running configuration as the core thread sees it (core thread only).
    const ChassisConfig& config() const { return *cfg_; }
    // A reload (core thread): NEXT differs from the running configuration only in keys a reload
    // may change live (daemon/reload.hpp). It becomes an immutable snapshot that each thread
    // takes between two of its steps (the core at once, ipmi-ctl and ipmi-sens through a post),
    // so no thread ever sees half of it. The thermal policy applies new curves at its next
    // sensor readings; no fail-safe burst and no power command come from a reload.
    void reconfigure(ChassisConfig next);

    // Fencing: after waiting localSlot * delay_per_slot_ms, power the PEER host off through ITS
    // BMC (hard power down, never cycle) and confirm the chassis reads off. Not subject to the
    // role gate (it is a step of taking over, and does not touch the local chassis). `done` runs
    // on the core io_context. With fencing disabled, done(false, "fencing disabled").
    void fencePeer(std::uint32_t localSlot, FenceDone done);
    // Cancels a fence still waiting out its delay (paths came back); done(false, "cancelled").
    void cancelFence();

  private:
    void emit(Event ev);

    asio::io_context& core_;
    std::shared_ptr<const ChassisConfig> cfg_; // core thread; workers hold their own snapshot
    EventHandler onEvent_;
    IntentHandler onIntent_;
    RoleFlags role_;
    std::atomic<bool> started_{false};

    std::unique_ptr<ChassisControl> control_; // ipmi-ctl
    std::unique_ptr<SensorPoller> sensors_;   // ipmi-sens (with a BMC)
    std::unique_ptr<Fencer> fencer_;          // ipmi-fence (with fencing enabled)
};

} // namespace hs::chassis

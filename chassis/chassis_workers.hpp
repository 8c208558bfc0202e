// The chassis manager's worker threads, one object each, so that thread ownership is structural:
// every object owns its io_context, its thread and its state, and is reached from other threads
// only through posts to its io_context, the shared RoleFlags atomics, or (ChassisControl) the
// command lease and the published snapshot, each behind its own lock.
//
//   ChassisControl  ipmi-ctl    the BMC transport (one FreeIPMI session), the ChassisLogic, the
//                               status poll timer and the single control gate.
//   SensorPoller    ipmi-sens   libipmimonitoring reads; each result is posted to ChassisControl.
//   Fencer          ipmi-fence  (only with [chassis.fencing] enabled) the PEER's BMC.
#pragma once

#include "base/asio.hpp"
#include "base/types.hpp"
#include "chassis/bmc_transport.hpp"
#include "chassis/chassis_config.hpp"
#include "chassis/chassis_logic.hpp"
#include "chassis/command_lease.hpp"
#include "chassis/replicated_intent.hpp"
#include "chassis/sensor_readings.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace hs::chassis {

class SensorReader;

// One thread running one io_context until its work guard is released.
struct WorkerThread {
    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
    std::thread thread;
    void start();
    void join();
};

// Written by the core thread only, read by every worker.
struct RoleFlags {
    std::atomic<bool> active{false};
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> gen{0}; // counts role changes
};

class ChassisControl final : private BmcPort {
  public:
    using EventSink = std::function<void(Event)>; // called on ipmi-ctl; posts to the core
    using IntentSink = std::function<void(const IntentUpdate&)>; // called on ipmi-ctl, in order
    using ControlDone = std::function<void(ControlResult)>;

    ChassisControl(asio::io_context& core, std::shared_ptr<const ChassisConfig> cfg,
                   const RoleFlags& role, EventSink events,
                   std::unique_ptr<BmcTransport> transport);
    ChassisControl(const ChassisControl&) = delete;
    ChassisControl& operator=(const ChassisControl&) = delete;

    // Set before start(): receives the logic's intent updates, in order.
    void setIntentSink(IntentSink sink) { intents_ = std::move(sink); }
    void start();
    // Closes the session properly and joins ipmi-ctl.
    void stop();

    // ---- posted to ipmi-ctl ----
    void becomeActive(std::uint64_t gen, TimePoint at, ReplicatedIntent inherited = {});
    void becomeStandby();
    void control(ControlRequest req, ControlDone done);
    void refresh(std::function<void(ChassisSnapshot)> done);
    void sensors(SensorReadResult res, std::uint64_t startedGen, double tookMs);
    // A reload: the logic takes the new snapshot between two of its steps; the status poll is
    // rescheduled with the new interval.
    void reconfigure(std::shared_ptr<const ChassisConfig> next);

    // ---- the command lease (core thread renews/revokes, ipmi-ctl checks) ----
    void renewLease(TimePoint deadline);
    void revokeLease(); // also wakes a command waiting for a renewal
    bool leaseHeld() const;
    void setLeaseWait(Duration wait) { leaseWait_ = wait; }

    // ---- published state (any thread) ----
    ChassisSnapshot snapshot() const;
    ChassisStats stats() const;
    BmcAccess access() const { return access_.load(); }
    std::uint64_t sessionOpens() const { return sessionOpens_.load(); }

  private:
    // BmcPort: the logic's way out, on ipmi-ctl.
    bool roleActive() const override;
    std::uint64_t roleGen() const override { return role_.gen.load(); }
    bool sessionOpen() const override { return transport_->isOpen(); }
    BmcReply read(const RawRequest& rq) override;
    BmcReply control(const RawRequest& rq) override;

    bool leaseAllowsSend(const RawRequest& rq, BmcReply& refusal);
    void scheduleStatus(Duration delay);
    void afterStatusTimer(std::error_code ec);
    void publish();

    asio::io_context& core_;
    const RoleFlags& role_;
    EventSink events_;
    IntentSink intents_;
    WorkerThread thread_;

    // ipmi-ctl only
    std::unique_ptr<BmcTransport> transport_;
    ChassisLogic logic_;
    asio::steady_timer statusTimer_;
    std::uint64_t leaseWaits_ = 0;
    std::atomic<int> pending_{0}; // control requests queued on ipmi-ctl

    // the command lease: renewed/revoked by the core, checked on ipmi-ctl
    mutable std::mutex leaseMu_;
    std::condition_variable leaseCv_;
    CommandLease lease_;
    Duration leaseWait_{std::chrono::milliseconds(100)};

    // published by ipmi-ctl after every step of the logic
    mutable std::mutex pubMu_;
    ChassisSnapshot pubSnap_;
    ChassisStats pubStats_;
    std::atomic<BmcAccess> access_{BmcAccess::Unknown};
    std::atomic<std::uint64_t> sessionOpens_{0};
};

class SensorPoller {
  public:
    using Deliver = std::function<void(SensorReadResult, std::uint64_t startedGen, double tookMs)>;

    SensorPoller(std::shared_ptr<const ChassisConfig> cfg, const RoleFlags& role, Deliver deliver);
    ~SensorPoller();
    SensorPoller(const SensorPoller&) = delete;
    SensorPoller& operator=(const SensorPoller&) = delete;

    void start();
    void stop();
    void pollNow(); // any thread
    // A reload (any thread): ipmi-sens takes the new snapshot between two reads; the next read
    // is due one new sensor_poll_ms from then. The BMC and the SDR cache stay (restart-only).
    void reconfigure(std::shared_ptr<const ChassisConfig> next);

  private:
    void schedule(Duration delay);
    void afterTimer(std::error_code ec);
    void poll();

    const RoleFlags& role_;
    Deliver deliver_;
    WorkerThread thread_;
    // ipmi-sens only
    std::shared_ptr<const ChassisConfig> cfg_;
    std::unique_ptr<SensorReader> reader_;
    asio::steady_timer timer_;
};

class Fencer {
  public:
    using FenceDone = std::function<void(bool ok, std::string msg)>;

    Fencer(asio::io_context& core, FencingConfig cfg, const RoleFlags& role);
    Fencer(const Fencer&) = delete;
    Fencer& operator=(const Fencer&) = delete;

    void start();
    void stop();
    void fence(std::uint32_t localSlot, FenceDone done); // any thread
    void cancel();                                       // any thread

  private:
    void afterDelay(std::error_code ec);
    void run(FenceDone done);
    void finish(FenceDone done, BmcTransport& session, bool ok, std::string msg);

    asio::io_context& core_;
    const FencingConfig cfg_; // restart-only: a copy
    const RoleFlags& role_;
    WorkerThread thread_;
    // ipmi-fence only
    asio::steady_timer timer_;
    FenceDone done_;
};

} // namespace hs::chassis

// The AgentX subagent of hotstandbyd: publishes HOTSTANDBY-MIB to the host's snmpd and sends its
// notifications. It owns one thread with its own asio::io_context driving Net-SNMP; every Net-SNMP
// call happens on that thread. The core never waits for it: publish() and notify() only take a
// short lock and post a wake-up, so a hung snmpd can never delay a heartbeat.
//
// SETs: Net-SNMP's handler API answers a SET synchronously, so the subagent validates writes in the
// RESERVE1 (type, value) and RESERVE2 (role, chassis, row) phases against the latest snapshot, and
// in COMMIT hands the ControlRequest to the core without waiting. The SET response therefore means
// "accepted"; the outcome arrives through the callback and is shown in hsLastControlResult (and,
// for a switchover, by the hsSwitchover notification). See docs/snmp.md.
#pragma once

#include "base/types.hpp"
#include "subagent/snmp_config.hpp"

#include <cstdint>
#include <functional>
#include <memory>

namespace hs::subagent {

// Called ON THE SNMP THREAD for every accepted control write. The daemon posts the request to the
// core and calls the callback from the core (any thread) with the result; the subagent posts it
// back onto its own thread.
using RequestHandler = std::function<void(ControlRequest, std::function<void(ControlResult)>)>;

struct SubagentStats {
    bool connected = false;                 // an AgentX session with the master is open
    std::uint64_t connects = 0;             // sessions opened (first connect included)
    std::uint64_t notificationsSent = 0;    // handed to the master
    std::uint64_t notificationsDropped = 0; // lost to the bounded queue while the master was away
    std::uint64_t notificationsQueued = 0;  // waiting now
    std::uint32_t lastSeq = 0;              // hsNotificationSeq
    std::uint64_t requests = 0;             // control requests handed to the core
};

class Subagent {
  public:
    Subagent(SnmpConfig cfg, RequestHandler onRequest);
    ~Subagent(); // stop()
    Subagent(const Subagent&) = delete;
    Subagent& operator=(const Subagent&) = delete;

    // Starts the SNMP thread; the master may be absent (the subagent retries every ping interval).
    // Net-SNMP is process-global: one started Subagent per process (throws std::logic_error on a
    // second). Leaves the environment alone: the program sets MIBS="" before its first thread
    // starts, so Net-SNMP loads no MIB files (the subagent needs none).
    // Does nothing when SnmpConfig::enabled is false.
    void start();
    // Closes the AgentX session and joins the thread (bounded by the AgentX timeout). Idempotent.
    void stop();

    // Thread-safe, never blocks on SNMP: keeps only the latest snapshot.
    void publish(std::shared_ptr<const Snapshot> snapshot);
    // Thread-safe, never blocks on SNMP: numbers the notification (hsNotificationSeq) and queues
    // it; the queue is bounded by SnmpConfig::notifyQueue (oldest dropped) while the master is
    // away. Returns the sequence number given to it. The varbinds the event lacks (names,
    // counters, hsSwitchoverCount) come from SNAPSHOT, the one made with the event, however late
    // the notification leaves; without one, from the latest snapshot when it is sent.
    std::uint32_t notify(const Event& event, std::shared_ptr<const Snapshot> snapshot = nullptr);

    SubagentStats stats() const;

    // A reload (thread-safe, never blocks): notify_queue and log_level take effect at once
    // (a shorter queue drops its oldest entries at the next notification). New AgentX settings
    // (agentx_socket, ping_interval_s, agentx_timeout_ms) are posted to the SNMP thread, which
    // closes the session with the master and opens one with them after ping_interval_s, as
    // after a restart of snmpd; notifications meanwhile wait in the queue. `enabled` needs a
    // restart.
    void reconfigure(const SnmpConfig& next);

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

} // namespace hs::subagent

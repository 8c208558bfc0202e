// hotstandbyd's wiring: one core io_context running the heartbeat links, the node logic, the
// control socket and the timers; the chassis manager and the SNMP subagent on their own threads,
// fed with snapshots and events. main.cpp only parses the command line and calls run().
#pragma once

#include "daemon/validated_config.hpp"

#include <memory>
#include <string>

namespace hs {

class Daemon {
  public:
    // Creates state_dir when missing and loads the state files (raising the incarnation).
    explicit Daemon(ValidatedConfig cfg);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Runs until SIGTERM/SIGINT; returns the process exit code. Throws on start-up errors.
    int run();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// SCHED_FIFO at the given priority plus mlockall, for loaded hosts. Returns an error text or "".
std::string enterRealtime(int priority);

} // namespace hs

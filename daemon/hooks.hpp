// Operator hooks: commands run when this node's role changes, a heartbeat path goes up or down, a
// chassis event happens (power changed, BMC unreachable or recovered, a sensor threshold crossed,
// a fan failed) or the daemon stops cleanly, as keepalived's notify scripts are. Configured in
// [hooks]; each hook is an argv array whose first element is an absolute path (no shell unless the
// operator writes one: ["/bin/sh", "-c",
// "..."]). Run on a thread of their own, never on the core thread; one run of a hook at a time
// (its events wait in order, at most kHookQueue of them); every run has a timeout after which its
// process group gets SIGTERM, then SIGKILL; its output (stdout and stderr) goes to the log line by
// line; its exit status is logged. The event is in the environment (HS_EVENT, HS_ROLE, ...); the
// daemon's own environment is not passed on (NOTIFY_SOCKET stays the daemon's).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <toml++/toml.h>
#include <utility>
#include <vector>

namespace hs {

// The [hooks] keys, in the order they are documented.
inline constexpr const char* kHookNames[] = {"on_role_change", "on_active",      "on_standby",
                                             "on_fault",       "on_path_change", "on_chassis_event",
                                             "on_stop"};
inline constexpr std::size_t kHookQueue = 16;

struct HooksConfig {
    std::map<std::string, std::vector<std::string>> commands; // hook name -> argv
    std::chrono::milliseconds timeout{10000};                 // timeout_ms: 100..600000
    bool operator==(const HooksConfig&) const = default;
};

// Parses the raw [hooks] table (empty: no hooks). Checks every command: argv[0] an absolute path
// to an executable regular file owned by root or by the daemon's user, writable by nobody else
// (not group- or world-writable), in a directory nobody else may write. Throws hs::ConfigError
// ("FILE: hooks.KEY: reason").
HooksConfig parseHooksConfig(const toml::table& t, const std::string& file);

// One event for the hooks: the variables set in the hook's environment (HS_EVENT, ...).
using HookEnv = std::vector<std::pair<std::string, std::string>>;

// The on_chassis_event environment for a chassis event (empty for any other event): HS_EVENT
// (power_changed, bmc_unreachable, bmc_recovered, sensor_threshold, fan_failure), HS_DETAIL (the
// event's text as logged), and by event HS_POWER (on, off, ...); HS_SENSOR, HS_SENSOR_INDEX,
// HS_SENSOR_STATE, HS_VALUE; HS_FAN, HS_FAN_ZONE, HS_VALUE (RPM). chassis (may be null) names the
// sensor or fan. The caller adds the node's own variables (HS_ROLE, HS_EPOCH, ...).
struct Event;
struct ChassisSnapshot;
HookEnv chassisHookEnv(const Event& e, const ChassisSnapshot* chassis);

class HookRunner {
  public:
    explicit HookRunner(HooksConfig cfg);
    ~HookRunner(); // stop()
    HookRunner(const HookRunner&) = delete;
    HookRunner& operator=(const HookRunner&) = delete;

    // Queues a run of hook `name` (if configured) with env; never blocks on the hook. Thread-safe.
    void run(const std::string& name, HookEnv env);
    // The configuration for runs queued from now on (a reload). Thread-safe.
    void setConfig(HooksConfig cfg);
    // Lets queued and running hooks finish (each within its timeout), then joins the threads.
    void stop();

  private:
    struct Job {
        std::vector<std::string> argv;
        std::chrono::milliseconds timeout;
        HookEnv env;
    };
    struct Worker {
        std::deque<Job> queue;
        std::thread thread;
        bool busy = false;
    };
    void work(const std::string& name, Worker& w);

    std::mutex mu_;
    std::condition_variable cv_;
    HooksConfig cfg_;
    std::map<std::string, std::unique_ptr<Worker>> workers_;
    bool stopping_ = false;
};

// Runs argv with env (only env, plus PATH) in a process group of its own, logs its output lines
// tagged with hook, kills it after timeout. Returns the exit code, 128+signal if killed by a
// signal, -1 if it could not start. Blocks: call from a hook thread (and tests).
int runHookCommand(const std::string& hook, const std::vector<std::string>& argv,
                   const HookEnv& env, std::chrono::milliseconds timeout);

} // namespace hs

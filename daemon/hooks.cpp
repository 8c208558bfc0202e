#include "daemon/hooks.hpp"

#include "base/config_error.hpp"
#include "base/log.hpp"
#include "base/types.hpp"
#include "core/config.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hs {
namespace {

constexpr std::size_t kMaxLoggedLines = 100;
constexpr std::size_t kMaxLineChars = 400;
constexpr auto kKillGrace = std::chrono::milliseconds(1000);

bool knownHook(std::string_view name) {
    return std::find_if(std::begin(kHookNames), std::end(kHookNames),
                        [name](const char* n) { return name == n; }) != std::end(kHookNames);
}

// Why the command may not run as a hook, or "".
std::string unsafeCommand(const std::string& path) {
    if (path.empty() || path.front() != '/') {
        return "'" + path + "' is not an absolute path";
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return "'" + path + "': " + std::strerror(errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return "'" + path + "' is not a regular file";
    }
    if (::access(path.c_str(), X_OK) != 0) {
        return "'" + path + "' is not executable";
    }
    if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
        return "'" + path + "' is owned by uid " + std::to_string(st.st_uid) +
               ", not by root or the daemon's user";
    }
    if ((st.st_mode & S_IWOTH) != 0 || ((st.st_mode & S_IWGRP) != 0 && st.st_gid != 0)) {
        return "'" + path + "' is writable by others (mode " +
               fmt::format("{:04o}", st.st_mode & 07777) + "): anyone could run code as the daemon";
    }
    std::string dir = std::filesystem::path(path).parent_path().string();
    struct stat ds {};
    if (::stat(dir.c_str(), &ds) == 0 && (ds.st_mode & S_IWOTH) != 0) {
        return "'" + path + "' is in a world-writable directory (" + dir +
               "): anyone could replace it";
    }
    return {};
}

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, kMaxLineChars)) {
        out.push_back(c == '"' ? '\'' : (static_cast<unsigned char>(c) < 0x20 ? ' ' : c));
    }
    return out;
}

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Waits up to `wait` for pid; true once reaped (status set).
bool reapWithin(pid_t pid, std::chrono::milliseconds wait, int& status) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        ::usleep(5000);
    }
}

} // namespace

HooksConfig parseHooksConfig(const toml::table& t, const std::string& file) {
    HooksConfig c;
    auto fail = [&file](const toml::node& n, const std::string& key, const std::string& why) {
        toml::source_region src = n.source();
        if (!src.path) {
            throw ConfigError(file + ": hooks." + key + ": " + why);
        }
        configFail(src, "hooks." + key, why);
    };
    for (auto&& [k, v] : t) {
        std::string key(k.str());
        if (key == "timeout_ms") {
            auto ms = v.value<std::int64_t>();
            if (!v.is_integer() || !ms || *ms < 100 || *ms > 600000) {
                fail(v, key, "expected an integer from 100 to 600000");
            }
            c.timeout = std::chrono::milliseconds(*ms);
            continue;
        }
        const auto& listed = config_keys::kHooks;
        if (std::find(listed.begin(), listed.end(), key) == listed.end() || !knownHook(key)) {
            fail(v, key,
                 "unknown key (expected on_role_change, on_active, on_standby, on_fault, "
                 "on_path_change, on_chassis_event, on_stop, timeout_ms)");
        }
        std::vector<std::string> argv;
        if (auto s = v.value<std::string>(); v.is_string()) {
            argv.push_back(*s);
        } else if (const toml::array* a = v.as_array(); a && !a->empty()) {
            for (const toml::node& e : *a) {
                if (!e.is_string()) {
                    fail(v, key,
                         "expected an array of strings: [\"/path/to/command\", \"arg\", ...]");
                }
                argv.push_back(*e.value<std::string>());
            }
        } else {
            fail(v, key, "expected a command: \"/path\" or [\"/path\", \"arg\", ...]");
        }
        if (std::string why = unsafeCommand(argv.front()); !why.empty()) {
            fail(v, key, why);
        }
        c.commands[key] = std::move(argv);
    }
    return c;
}

HookEnv chassisHookEnv(const Event& e, const ChassisSnapshot* chassis) {
    auto num = [](double v) { return fmt::format("{}", v); };
    HookEnv env;
    switch (e.type) {
    case EventType::ChassisPowerChanged:
        env = {{"HS_EVENT", "power_changed"}, {"HS_POWER", snakeCase(toString(e.power))}};
        break;
    case EventType::BmcUnreachable:
        env = {{"HS_EVENT", "bmc_unreachable"}};
        break;
    case EventType::BmcRecovered:
        env = {{"HS_EVENT", "bmc_recovered"}};
        break;
    case EventType::SensorThreshold: {
        env = {{"HS_EVENT", "sensor_threshold"},
               {"HS_SENSOR_INDEX", std::to_string(e.objectIndex)},
               {"HS_VALUE", num(e.value)}};
        const SensorSnapshot* s = nullptr;
        if (chassis != nullptr) {
            for (const SensorSnapshot& x : chassis->sensors) {
                s = x.index == e.objectIndex ? &x : s;
            }
        }
        env.emplace_back("HS_SENSOR", s ? s->name : std::string());
        env.emplace_back("HS_SENSOR_STATE", s ? snakeCase(toString(s->state)) : "unknown");
        break;
    }
    case EventType::FanFailure: {
        // Event.objectIndex is the zone + 1 here (the MIB's fan index).
        std::uint32_t zone = e.objectIndex > 0 ? e.objectIndex - 1 : 0;
        std::string name;
        if (chassis != nullptr) {
            for (const FanSnapshot& f : chassis->fans) {
                name = f.zone == zone ? f.name : name;
            }
        }
        env = {{"HS_EVENT", "fan_failure"},
               {"HS_FAN", name},
               {"HS_FAN_ZONE", std::to_string(zone)},
               {"HS_VALUE", num(e.value)}};
        break;
    }
    default:
        return {};
    }
    env.emplace_back("HS_DETAIL", e.text);
    return env;
}

int runHookCommand(const std::string& hook, const std::vector<std::string>& argv,
                   const HookEnv& env, std::chrono::milliseconds timeout) {
    const auto t0 = std::chrono::steady_clock::now();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        HS_ERROR("event=hook_failed hook={} error=\"pipe: {}\"", hook, std::strerror(errno));
        return -1;
    }
    std::vector<std::string> envStore{
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    envStore.reserve(env.size() + 1);
    for (const auto& [k, v] : env) {
        envStore.push_back(std::string(k).append(1, '=').append(v));
    }
    std::vector<char*> envp;
    envp.reserve(envStore.size() + 1);
    for (std::string& s : envStore) {
        envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    std::vector<std::string> argStore(argv);
    std::vector<char*> argp;
    argp.reserve(argStore.size() + 1);
    for (std::string& s : argStore) {
        argp.push_back(s.data());
    }
    argp.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3); // none of the daemon's sockets or files
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all); // SIGPIPE is ignored in the daemon, not in a hook
    posix_spawnattr_setpgroup(&at, 0);        // its own group: a timeout kills its children too
    // A hook never runs at the daemon's real-time priority (realtime = true): a busy hook must not
    // compete with the heartbeats.
    sched_param normal{};
    normal.sched_priority = 0;
    posix_spawnattr_setschedpolicy(&at, SCHED_OTHER);
    posix_spawnattr_setschedparam(&at, &normal);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSCHEDULER);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, argp[0], &fa, &at, argp.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        HS_ERROR("event=hook_failed hook={} command={} error=\"{}\"", hook, argv.front(),
                 std::strerror(rc));
        return -1;
    }
    HS_INFO("event=hook_start hook={} command={} pid={}", hook, argv.front(), pid);
    const auto deadline = t0 + timeout;
    std::string partial;
    std::size_t logged = 0;
    auto logLine = [&](std::string_view line) {
        if (logged < kMaxLoggedLines) {
            HS_INFO("event=hook_output hook={} pid={} line=\"{}\"", hook, pid, printable(line));
        } else if (logged == kMaxLoggedLines) {
            HS_WARN("event=hook_output_truncated hook={} pid={} after_lines={}", hook, pid,
                    kMaxLoggedLines);
        }
        ++logged;
    };
    bool timedOut = false;
    bool eof = false;
    char buf[4096];
    while (!eof) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timedOut = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            continue; // the deadline is checked above
        }
        ssize_t got = ::read(fds[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            eof = true;
            break;
        }
        partial.append(buf, static_cast<std::size_t>(got));
        std::size_t nl;
        while ((nl = partial.find('\n')) != std::string::npos) {
            logLine(std::string_view(partial).substr(0, nl));
            partial.erase(0, nl + 1);
        }
        if (partial.size() > kMaxLineChars) {
            logLine(partial);
            partial.clear();
        }
    }
    if (!partial.empty()) {
        logLine(partial);
    }
    ::close(fds[0]);
    int status = 0;
    if (!timedOut) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        timedOut = !reapWithin(pid, std::max(left, std::chrono::milliseconds(0)), status);
    }
    if (timedOut) {
        ::kill(-pid, SIGTERM);
        if (!reapWithin(pid, kKillGrace, status)) {
            ::kill(-pid, SIGKILL);
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
        }
        HS_WARN("event=hook_timeout hook={} pid={} timeout_ms={}: killed", hook, pid,
                timeout.count());
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        HS_WARN("event=hook_failed hook={} pid={} signal={} ms={:.0f}", hook, pid, WTERMSIG(status),
                msSince(t0));
        return 128 + WTERMSIG(status);
    }
    int code = WEXITSTATUS(status);
    HS_LOG(code == 0 ? log::Level::Info : log::Level::Warn,
           "event={} hook={} pid={} exit={} ms={:.0f}", code == 0 ? "hook_done" : "hook_failed",
           hook, pid, code, msSince(t0));
    return code;
}

HookRunner::HookRunner(HooksConfig cfg) : cfg_(std::move(cfg)) {}

HookRunner::~HookRunner() {
    stop();
}

void HookRunner::setConfig(HooksConfig cfg) {
    std::lock_guard lock(mu_);
    cfg_ = std::move(cfg);
}

void HookRunner::run(const std::string& name, HookEnv env) {
    std::lock_guard lock(mu_);
    if (stopping_) {
        return;
    }
    auto it = cfg_.commands.find(name);
    if (it == cfg_.commands.end()) {
        return;
    }
    std::unique_ptr<Worker>& w = workers_[name];
    if (!w) {
        w = std::make_unique<Worker>();
        Worker* raw = w.get();
        w->thread = std::thread([this, name, raw] { work(name, *raw); });
    }
    if (w->queue.size() >= kHookQueue) {
        HS_WARN("event=hook_dropped hook={} queued={}: the hook is slower than the events; the "
                "oldest waiting run is dropped",
                name, w->queue.size());
        w->queue.pop_front();
    }
    env.insert(env.begin(), {"HS_HOOK", name});
    w->queue.push_back({it->second, cfg_.timeout, std::move(env)});
    cv_.notify_all();
}

void HookRunner::work(const std::string& name, Worker& w) {
    std::unique_lock lock(mu_);
    while (true) {
        cv_.wait(lock, [&] { return stopping_ || !w.queue.empty(); });
        if (w.queue.empty()) {
            return; // stopping, nothing left
        }
        Job job = std::move(w.queue.front());
        w.queue.pop_front();
        w.busy = true;
        lock.unlock();
        runHookCommand(name, job.argv, job.env, job.timeout);
        lock.lock();
        w.busy = false;
    }
}

void HookRunner::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        cv_.notify_all();
    }
    for (auto& [name, w] : workers_) {
        if (w->thread.joinable()) {
            w->thread.join();
        }
    }
}

} // namespace hs

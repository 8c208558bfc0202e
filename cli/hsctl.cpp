// hsctl: the operator's CLI for hotstandbyd, ipmitool-style. Talks only through the control
// socket (docs/control.md). Exit codes: 0 ok, 1 the daemon refused or failed, 2 cannot talk to
// the daemon, 64 usage error (also in the usage text and man/hsctl.8).
#include "base/control_protocol.hpp"
#include "cli/client.hpp"
#include "cli/render.hpp"
#include "cli/shm_state.hpp"

#include <charconv>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using hs::cli::ConnectError;
using nlohmann::json;
namespace cmd = hs::protocol::cmd;
namespace field = hs::protocol::field;
namespace power = hs::protocol::power;

constexpr int kExitDaemon = 1;
constexpr int kExitConnect = 2;
constexpr int kExitUsage = 64;
constexpr std::string_view kDefaultSocket = hs::protocol::kDefaultSocket;

constexpr std::string_view kUsage = R"(usage: hsctl [-s SOCKET] [--shm NAME] COMMAND [--json]
       hsctl help [COMMAND] | COMMAND --help | --version

Commands:
  status                     role, epoch, peer, redundancy and heartbeat paths
  paths                      heartbeat paths only
  address                    floating management addresses: held here or not, last error
  switchover                 hand the active role to the peer (on the active)
  journal                    switchover journal
  replication                the replicated store: writer or mirror, readiness, lag, counters
  state                      the replicated store's records, read from shared memory (no socket)
  events                     the replicated chassis event log, read from shared memory
  chassis status             as `ipmitool chassis status`, then BMC access and fan policy
  chassis power status       Chassis Power is on|off
  chassis power on|off|cycle|reset|soft
  sensor list                sensors as `ipmitool sensor list` prints them: name | value |
                             unit | status | lnr | lcr | lnc | unc | ucr | unr
  fan status                 fan mode and zones
  fan mode auto|manual       fan control mode
  fan duty ZONE PCT          set a zone's duty (manual mode), PCT 0..100
  help [COMMAND]             this text, or one command's usage

Options:
  -s, --socket SOCKET        control socket (default $HSCTL_SOCKET or /run/hotstandby/hotstandbyd.sock)
  --shm NAME                 shared memory of `state` and `events` (default $HSCTL_SHM or
                             /hotstandby, as node.shm_name)
  --json                     print the daemon's result object as JSON
  --force                    switchover on the standby: take the active role now, past the
                             readiness check and the switchover rate guard
  -h, --help                 this text; after a command, that command's usage
  -V, --version              print hsctl's version and exit

Exit status:
  0                          the command succeeded
  1                          the daemon refused or failed the command
  2                          cannot talk to the daemon (or read its shared memory)
  64                         usage error
)";

// One command's usage: `hsctl help COMMAND`, `hsctl COMMAND --help`, `hsctl COMMAND help`.
struct CommandHelp {
    std::string_view word;
    std::string_view text;
};

constexpr CommandHelp kCommandHelp[] = {
    {"status", R"(usage: hsctl status [--json]
  This module's role, epoch, node and slot, the peer, the redundancy and every heartbeat path
  with its state, round trip time and counters.
)"},
    {"paths", R"(usage: hsctl paths [--json]
  The heartbeat paths only: state, round trip time and counters.
)"},
    {"address", R"(usage: hsctl address [--json]
  The floating management addresses ([[address]]): address/prefix, interface, whether this
  module holds it now, announcements sent, errors and the last one.
)"},
    {"switchover", R"(usage: hsctl switchover [--force]
  Hand the active role to the peer. Only the active module accepts it (exit 1 with not_active on
  the standby). Refused (exit 1, busy) while the standby's replicated store is not hot: it would
  not hold every acknowledged change; and refused (exit 1, busy) during the switchover rate
  guard's hold-down (heartbeat.switchover_limit switchovers within switchover_window_ms).
  --force   on the standby: take the active role now, past the readiness check and the rate
            guard (the operator's override; it still counts toward the limit).
)"},
    {"state", R"(usage: hsctl state [--json] [--shm NAME]
  The replicated store as this module's hotstandbyd publishes it in POSIX shared memory
  (repl/hs_shm.h), read without the control socket: role, readiness, positions and digests, then
  every record with its kind, index, (epoch, sequence) and fields. Exit 2 when the region is
  missing or has another layout version.
)"},
    {"events", R"(usage: hsctl events [--json] [--shm NAME]
  The replicated chassis event log (power changes, threshold crossings, fan failures, BMC faults)
  from shared memory, oldest first, each with its number and (epoch, sequence): the same rows on
  both modules.
)"},
    {"replication", R"(usage: hsctl replication [--json]
  The replicated store on this module: writer (active) or mirror (standby), the mirror's
  readiness (cold, syncing, hot), positions and digests, lag in records and ms, degraded, and
  the protocol's counters.
)"},
    {"journal", R"(usage: hsctl journal [--json]
  The switchover journal: when, from which role to which, why, and the epoch.
)"},
    {"chassis", R"(usage: hsctl chassis status [--json]
       hsctl chassis power status|on|off|cycle|reset|soft
  chassis status          ipmitool's `chassis status` lines (System Power ... Cooling/Fan
                          Fault) from the BMC's Get Chassis Status reply, a blank line, then
                          Requested Transition, BMC Access, Fan Profile, Fan Fail-Safe, Last Error
  chassis power status    Chassis Power is on|off
  chassis power on|off|cycle|reset|soft
                          power the chassis on, off, cycle or reset it, or ask its operating
                          system to shut down (soft); active module only
)"},
    {"sensor", R"(usage: hsctl sensor [list] [--json]
  Every sensor as `ipmitool sensor list` prints it: name | value | unit | status | lnr | lcr |
  lnc | unc | ucr | unr.
)"},
    {"fan", R"(usage: hsctl fan status [--json]
       hsctl fan mode auto|manual
       hsctl fan duty ZONE PCT
  fan status              fan mode and, per zone, duty and fan speeds
  fan mode auto|manual    auto hands the fans to the BMC, manual to the daemon's curve;
                          active module only
  fan duty ZONE PCT       a floor of PCT percent (0..100) for zone ZONE (0..255) in manual
                          mode; active module only
)"},
    {"help", R"(usage: hsctl help [COMMAND]
  Without COMMAND the usage text of hsctl, with it that command's usage.
)"},
};

const CommandHelp* findHelp(std::string_view word) {
    for (const auto& h : kCommandHelp) {
        if (h.word == word) {
            return &h;
        }
    }
    return nullptr;
}

struct UsageError {
    std::string message;
};

using Renderer = std::function<void(std::ostream&, const json& result)>;

struct Command {
    json request;
    Renderer render;
    std::string jsonKey; // --json prints only this member of the result (empty: all of it)
};

std::optional<unsigned> parseNumber(std::string_view s, unsigned max) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > max) {
        return std::nullopt;
    }
    return v;
}

void expectArgs(const std::vector<std::string>& w, std::size_t n) {
    if (w.size() != n) {
        throw UsageError{"wrong number of arguments for '" + w[0] + "'"};
    }
}

Command chassisCommand(const std::vector<std::string>& w) {
    if (w.size() == 2 && w[1] == "status") {
        return {{{field::kCmd, cmd::kChassisStatus}}, hs::cli::renderChassisStatus};
    }
    if (w.size() != 3 || w[1] != "power") {
        throw UsageError{
            "usage: hsctl chassis status | chassis power status|on|off|cycle|reset|soft"};
    }
    const std::string& action = w[2];
    if (action == power::kStatus) {
        return {{{field::kCmd, cmd::kChassisPower}, {field::kAction, power::kStatus}},
                hs::cli::renderPowerStatus};
    }
    for (std::string_view a :
         {power::kOn, power::kOff, power::kCycle, power::kReset, power::kSoft}) {
        if (action == a) {
            return {{{field::kCmd, cmd::kChassisPower}, {field::kAction, action}},
                    [action](std::ostream& out, const json&) {
                        hs::cli::renderPowerAction(out, action);
                    }};
        }
    }
    throw UsageError{"unknown power action '" + action + "' (status|on|off|cycle|reset|soft)"};
}

Command fanCommand(const std::vector<std::string>& w) {
    if (w.size() == 2 && w[1] == "status") {
        return {{{field::kCmd, cmd::kFanStatus}}, hs::cli::renderFanStatus};
    }
    if (w.size() == 3 && w[1] == "mode" &&
        (w[2] == hs::protocol::fan::kAuto || w[2] == hs::protocol::fan::kManual)) {
        std::string what = "Fan mode set to " + w[2];
        return {{{field::kCmd, cmd::kFanMode}, {field::kMode, w[2]}},
                [what](std::ostream& out, const json& r) { hs::cli::renderMessage(out, what, r); }};
    }
    if (w.size() == 4 && w[1] == "duty") {
        auto zone = parseNumber(w[2], 255);
        auto pct = parseNumber(w[3], hs::protocol::kMaxDutyPct);
        if (!zone || !pct) {
            throw UsageError{"fan duty: ZONE is 0..255 and PCT is 0..100"};
        }
        std::string what = "Fan zone " + w[2] + " duty set to " + w[3] + "%";
        return {{{field::kCmd, cmd::kFanDuty}, {field::kZone, *zone}, {field::kPct, *pct}},
                [what](std::ostream& out, const json& r) { hs::cli::renderMessage(out, what, r); }};
    }
    throw UsageError{"usage: hsctl fan status | fan mode auto|manual | fan duty ZONE PCT"};
}

Command parseCommand(const std::vector<std::string>& w) {
    const std::string& c = w[0];
    if (c == "status" || c == "paths" || c == "address" || c == "switchover" || c == "journal" ||
        c == "replication") {
        expectArgs(w, 1);
    }
    if (c == "status") {
        return {{{field::kCmd, cmd::kStatus}}, hs::cli::renderStatus};
    }
    if (c == "paths") {
        return {{{field::kCmd, cmd::kStatus}}, hs::cli::renderPaths};
    }
    if (c == "address") {
        return {{{field::kCmd, cmd::kStatus}}, hs::cli::renderAddresses};
    }
    if (c == "switchover") {
        return {{{field::kCmd, cmd::kSwitchover}}, [](std::ostream& out, const json& r) {
                    hs::cli::renderMessage(out, "Switchover requested", r);
                }};
    }
    if (c == "journal") {
        return {{{field::kCmd, cmd::kJournal}}, hs::cli::renderJournal};
    }
    if (c == "replication") {
        return {{{field::kCmd, cmd::kStatus}},
                [](std::ostream& out, const json& r) {
                    hs::cli::renderReplication(out, r.value("replication", json::object()));
                },
                "replication"};
    }
    if (c == "chassis") {
        return chassisCommand(w);
    }
    if (c == "sensor" && (w.size() == 1 || (w.size() == 2 && w[1] == "list"))) {
        return {{{field::kCmd, cmd::kSensorList}}, hs::cli::renderSensorList};
    }
    if (c == "fan") {
        return fanCommand(w);
    }
    throw UsageError{"unknown command '" + c + "'"};
}

int run(int argc, char** argv) {
    const char* env = std::getenv("HSCTL_SOCKET");
    std::string socket = env && *env ? env : std::string(kDefaultSocket);
    const char* shmEnv = std::getenv("HSCTL_SHM");
    std::string shm = shmEnv && *shmEnv ? shmEnv : std::string(HS_SHM_NAME);
    bool asJson = false;
    bool force = false;
    bool wantHelp = false;
    std::vector<std::string> words;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--json") {
            asJson = true;
        } else if ((a == "-s" || a == "--socket")) {
            if (i + 1 >= argc) {
                throw UsageError{std::string(a) + " needs a SOCKET path"};
            }
            socket = argv[++i];
        } else if (a.starts_with("--socket=")) {
            socket = std::string(a.substr(9));
        } else if (a == "--shm") {
            if (i + 1 >= argc) {
                throw UsageError{"--shm needs a NAME"};
            }
            shm = argv[++i];
        } else if (a.starts_with("--shm=")) {
            shm = std::string(a.substr(6));
        } else if (a == "--force") {
            force = true;
        } else if (a == "-h" || a == "--help") {
            wantHelp = true;
        } else if (a == "-V" || a == "--version") {
            std::cout << "hsctl " << HS_VERSION << '\n';
            return 0;
        } else if (a.starts_with("-")) {
            throw UsageError{"unknown option '" + std::string(a) + "'"};
        } else {
            words.emplace_back(a);
        }
    }
    if (wantHelp || (!words.empty() && words[0] == "help")) {
        // `help [COMMAND]`, `[COMMAND] --help`, `COMMAND ... help`: the usage, exit 0.
        std::string_view topic;
        if (!words.empty()) {
            topic = words[0] == "help" && words.size() > 1 ? words[1] : words[0];
        }
        if (topic.empty() || (topic == "help" && words.size() < 2 && !wantHelp)) {
            std::cout << kUsage;
            return 0;
        }
        const CommandHelp* h = findHelp(topic);
        if (!h) {
            throw UsageError{"no help for unknown command '" + std::string(topic) + "'"};
        }
        std::cout << h->text;
        return 0;
    }
    if (words.empty()) {
        throw UsageError{"no command given"};
    }
    if (words.size() > 1 && words.back() == "help" && findHelp(words[0])) {
        std::cout << findHelp(words[0])->text;
        return 0;
    }
    if (force && words[0] != "switchover") {
        throw UsageError{"--force applies to switchover only"};
    }
    if (words[0] == "state" || words[0] == "events") {
        expectArgs(words, 1);
        const hs::cli::ShmCopy copy = hs::cli::readShm(shm);
        const json out =
            words[0] == "state" ? hs::cli::stateJson(shm, copy) : hs::cli::eventsJson(copy);
        if (asJson) {
            std::cout << out.dump(2) << '\n';
        } else if (words[0] == "state") {
            hs::cli::renderState(std::cout, out);
        } else {
            hs::cli::renderEvents(std::cout, out);
        }
        return 0;
    }
    Command cmd = parseCommand(words);
    if (force) {
        cmd.request[field::kForce] = true;
    }

    hs::cli::ControlClient client(socket);
    client.connect();
    json response = client.call(cmd.request, std::chrono::seconds(30));
    if (!response.value(field::kOk, false)) {
        if (asJson) {
            std::cerr << response.dump(2) << '\n';
        } else {
            std::cerr << "hsctl: " << response.value(field::kCode, std::string("error")) << ": "
                      << response.value(field::kError, std::string("no message")) << '\n';
        }
        return kExitDaemon;
    }
    const json result = response.value(field::kResult, json::object());
    if (asJson) {
        std::cout
            << (cmd.jsonKey.empty() ? result : result.value(cmd.jsonKey, json::object())).dump(2)
            << '\n';
        return 0;
    }
    cmd.render(std::cout, result);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const UsageError& e) {
        std::cerr << "hsctl: " << e.message << "\n\n" << kUsage;
        return kExitUsage;
    } catch (const ConnectError& e) {
        std::cerr << "hsctl: " << e.what() << '\n';
        return kExitConnect;
    } catch (const hs::cli::ShmError& e) {
        std::cerr << "hsctl: " << e.what() << '\n';
        return kExitConnect;
    } catch (const json::exception& e) {
        std::cerr << "hsctl: unexpected result from the daemon: " << e.what() << '\n';
        return kExitConnect;
    }
}

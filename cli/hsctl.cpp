// hsctl: the operator's CLI for hotstandbyd, ipmitool-style. Talks only through the control
// socket (docs/control.md). Exit codes: 0 ok, 1 the daemon refused or failed, 2 cannot talk to
// the daemon, 64 usage error.
#include "base/control_protocol.hpp"
#include "cli/client.hpp"
#include "cli/render.hpp"

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

constexpr std::string_view kUsage = R"(usage: hsctl [-s SOCKET] COMMAND [--json]

Commands:
  status                     role, epoch, peer, redundancy and heartbeat paths
  paths                      heartbeat paths only
  switchover                 hand the active role to the peer (on the active)
  journal                    switchover journal
  chassis status             chassis power, BMC access, fan policy
  chassis power status       Chassis Power is on|off
  chassis power on|off|cycle|reset|soft
  sensor list                sensors as `ipmitool sensor list` prints them: name | value |
                             unit | status | lnr | lcr | lnc | unc | ucr | unr
  fan status                 fan mode and zones
  fan mode auto|manual       fan control mode
  fan duty ZONE PCT          set a zone's duty (manual mode), PCT 0..100
  help                       this text

Options:
  -s, --socket SOCKET        control socket (default $HSCTL_SOCKET or /run/hotstandby/hotstandbyd.sock)
  --json                     print the daemon's result object as JSON
)";

struct UsageError {
    std::string message;
};

using Renderer = std::function<void(std::ostream&, const json& result)>;

struct Command {
    json request;
    Renderer render;
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
    if (c == "status" || c == "paths" || c == "switchover" || c == "journal") {
        expectArgs(w, 1);
    }
    if (c == "status") {
        return {{{field::kCmd, cmd::kStatus}}, hs::cli::renderStatus};
    }
    if (c == "paths") {
        return {{{field::kCmd, cmd::kStatus}}, hs::cli::renderPaths};
    }
    if (c == "switchover") {
        return {{{field::kCmd, cmd::kSwitchover}}, [](std::ostream& out, const json& r) {
                    hs::cli::renderMessage(out, "Switchover requested", r);
                }};
    }
    if (c == "journal") {
        return {{{field::kCmd, cmd::kJournal}}, hs::cli::renderJournal};
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
    bool asJson = false;
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
        } else if (a == "-h" || a == "--help") {
            words = {"help"};
            break;
        } else if (a.starts_with("-")) {
            throw UsageError{"unknown option '" + std::string(a) + "'"};
        } else {
            words.emplace_back(a);
        }
    }
    if (words.empty()) {
        throw UsageError{"no command given"};
    }
    if (words[0] == "help") {
        std::cout << kUsage;
        return 0;
    }
    Command cmd = parseCommand(words);

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
        std::cout << result.dump(2) << '\n';
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
    } catch (const json::exception& e) {
        std::cerr << "hsctl: unexpected result from the daemon: " << e.what() << '\n';
        return kExitConnect;
    }
}

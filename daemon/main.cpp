// hotstandbyd: hot-standby management daemon. Runs in the foreground and logs to stderr.
#include "core/config.hpp"
#include "base/config_error.hpp"
#include "daemon/daemon.hpp"
#include "base/log.hpp"
#include "daemon/state_files.hpp"
#include "hb/serial_ports.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

void usage(FILE* out) {
    std::fprintf(out, "usage: hotstandbyd -c FILE [--check]\n"
                      "       hotstandbyd --list-serial\n"
                      "  -c FILE        configuration file (TOML), see etc/hotstandbyd.toml\n"
                      "  --check        validate the configuration and exit\n"
                      "  --list-serial  list the serial ports this host has and exit\n"
                      "  --version      print the version and exit\n");
}

int listSerial() {
    std::string error;
    auto ports = hs::hb::listSerialPorts(error);
    if (!error.empty()) {
        std::fprintf(stderr, "hotstandbyd: cannot list serial ports: %s\n", error.c_str());
        return 1;
    }
    for (const auto& p : ports) {
        std::printf("%s\t%s\n", p.name.c_str(), p.description.c_str());
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    // Before any thread starts: a write to a socket whose reader is gone must fail with EPIPE, not
    // kill the daemon. Net-SNMP's AgentX unix transport sends without MSG_NOSIGNAL, so a
    // notification racing an snmpd restart would otherwise end the process with no handover.
    std::signal(SIGPIPE, SIG_IGN);
    std::string file;
    bool checkOnly = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if ((a == "-c" || a == "--config") && i + 1 < argc) {
            file = argv[++i];
        } else if (a == "--check") {
            checkOnly = true;
        } else if (a == "--list-serial") {
            return listSerial();
        } else if (a == "--version") {
            std::printf("hotstandbyd 0.1.0\n");
            return 0;
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "hotstandbyd: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 64;
        }
    }
    if (file.empty()) {
        usage(stderr);
        return 64;
    }
    try {
        hs::Config cfg = hs::loadConfig(file);
        hs::log::setLevel(cfg.node.logLevel);
        hs::Daemon daemon(std::move(cfg));
        if (checkOnly) {
            std::printf("%s: configuration is valid\n", file.c_str());
            return 0;
        }
        return daemon.run();
    } catch (const hs::ConfigError& e) {
        std::fprintf(stderr, "hotstandbyd: configuration error: %s\n", e.what());
        return 78; // EX_CONFIG: systemd does not restart on it (RestartPreventExitStatus)
    } catch (const hs::CorruptStateError& e) {
        std::fprintf(stderr, "hotstandbyd: corrupt state: %s\n", e.what());
        return hs::kExitCorruptState; // 65, EX_DATAERR: not restarted either
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotstandbyd: cannot start: %s\n", e.what());
        return 1;
    }
}

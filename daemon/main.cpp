// hotstandbyd: hot-standby management daemon. Runs in the foreground and logs to stderr.
#include "base/config_error.hpp"
#include "base/log.hpp"
#include "core/config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/journal.hpp"
#include "daemon/state_files.hpp"
#include "daemon/validated_config.hpp"
#include "hb/serial_ports.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <sys/stat.h>
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
    // Process-wide settings, once, before any thread starts (no thread may see them change):
    // every file and directory the daemon creates gets its mode set explicitly (state files 0600,
    // state_dir 0700, the control socket 0660/0666 by chmod after bind, the SDR cache 0700), so
    // the mask only closes the moments in between. Net-SNMP loads no MIB files (the subagent
    // needs none) and reads MIBS while it initialises on the subagent's thread.
    ::umask(0077);
    ::setenv("MIBS", "", 1);
    // Under systemd, stderr is a journald stream: lines go to journald with their priority and
    // fields (a warning or an authentication alarm is visible with `journalctl -p warning`).
    hs::setUpJournalLogging();
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
            std::printf("hotstandbyd %s\n", HS_VERSION);
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
        hs::Config cfg = hs::readConfig(file);
        hs::log::setLevel(cfg.node.logLevel);
        hs::ValidatedConfig valid = hs::validate(std::move(cfg));
        if (checkOnly) {
            // Nothing written: no state directory created, no incarnation raised.
            std::printf("%s: configuration is valid\n", file.c_str());
            return 0;
        }
        hs::Daemon daemon(std::move(valid));
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

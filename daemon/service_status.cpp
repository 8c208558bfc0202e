#include "daemon/service_status.hpp"

#include <fmt/core.h>
#include <systemd/sd-daemon.h>

namespace hs {

std::string serviceStatus(Role role, bool unconfirmed, std::uint64_t epoch, Redundancy redundancy,
                          std::optional<Role> peerRole) {
    return fmt::format("role={}{} epoch={} redundancy={} peer={}", toString(role),
                       unconfirmed ? " unconfirmed" : "", epoch, toString(redundancy),
                       peerRole ? toString(*peerRole) : std::string_view("none"));
}

void ServiceStatus::update(const std::string& text) {
    if (text == last_) {
        return;
    }
    last_ = text;
    sd_notify(0, ("STATUS=" + text).c_str());
}

} // namespace hs

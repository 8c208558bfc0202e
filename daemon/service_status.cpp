#include "daemon/service_status.hpp"

#include "daemon/systemd_notify.hpp"

#include <fmt/core.h>

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
    // A dropped line (the notify queue full) is sent again at the next update.
    if (notifySystemd("STATUS=" + text)) {
        last_ = text;
    }
}

} // namespace hs

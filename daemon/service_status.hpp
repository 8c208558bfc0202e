// What systemd shows for the daemon: the sd_notify STATUS= text (`systemctl status` prints it)
// and the notify messages of a reload.
#pragma once

#include "base/types.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace hs {

// "role=ACTIVE epoch=7 redundancy=redundant peer=STANDBY" (peer=none while no peer is heard;
// " unconfirmed" after the role while an active role is not yet re-confirmed after a stall).
std::string serviceStatus(Role role, bool unconfirmed, std::uint64_t epoch, Redundancy redundancy,
                          std::optional<Role> peerRole);

// Sends "STATUS=<text>" to systemd (NOTIFY_SOCKET) when text differs from the last one sent;
// nothing without NOTIFY_SOCKET; never blocks (notifySystemd()), a dropped line is sent again at
// the next update. Core thread only.
class ServiceStatus {
  public:
    void update(const std::string& text);
    const std::string& last() const { return last_; }

  private:
    std::string last_;
};

} // namespace hs

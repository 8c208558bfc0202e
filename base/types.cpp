#include "base/types.hpp"

#include <cctype>

namespace hs {

std::string snakeCase(std::string_view camel) {
    std::string out;
    for (std::size_t i = 0; i < camel.size(); ++i) {
        auto c = static_cast<unsigned char>(camel[i]);
        if (std::isupper(c) && i > 0 && std::islower(static_cast<unsigned char>(camel[i - 1]))) {
            out += '_';
        }
        out += static_cast<char>(std::tolower(c));
    }
    return out;
}

std::string_view toString(Role r) {
    switch (r) {
    case Role::Init:
        return "INIT";
    case Role::Standby:
        return "STANDBY";
    case Role::Active:
        return "ACTIVE";
    case Role::Fault:
        return "FAULT";
    case Role::Stopped:
        return "STOPPED";
    }
    return "UNKNOWN";
}

std::string_view toString(PathType t) {
    switch (t) {
    case PathType::Udp:
        return "udp";
    case PathType::Tcp:
        return "tcp";
    case PathType::Serial:
        return "serial";
    case PathType::Ether:
        return "ether";
    }
    return "unknown";
}

std::string_view toString(PathState s) {
    switch (s) {
    case PathState::AdminDown:
        return "adminDown";
    case PathState::Down:
        return "down";
    case PathState::Init:
        return "init";
    case PathState::Up:
        return "up";
    }
    return "unknown";
}

std::string_view toString(PathDiag d) {
    switch (d) {
    case PathDiag::NoDiag:
        return "noDiag";
    case PathDiag::DetectTimeExpired:
        return "detectTimeExpired";
    case PathDiag::NeighborSignaledDown:
        return "neighborSignaledDown";
    case PathDiag::IoError:
        return "ioError";
    case PathDiag::AuthFailure:
        return "authFailure";
    case PathDiag::AdminDown:
        return "adminDown";
    }
    return "unknown";
}

std::string_view toString(Redundancy r) {
    switch (r) {
    case Redundancy::Redundant:
        return "redundant";
    case Redundancy::Degraded:
        return "degraded";
    case Redundancy::NotRedundant:
        return "notRedundant";
    }
    return "unknown";
}

std::string_view toString(SwitchoverReason r) {
    switch (r) {
    case SwitchoverReason::None:
        return "none";
    case SwitchoverReason::PeerLost:
        return "peerLost";
    case SwitchoverReason::Manual:
        return "manual";
    case SwitchoverReason::PeerShutdown:
        return "peerShutdown";
    case SwitchoverReason::LocalFault:
        return "localFault";
    case SwitchoverReason::PeerPreempted:
        return "peerPreempted";
    case SwitchoverReason::SplitBrain:
        return "splitBrain";
    case SwitchoverReason::InitAlone:
        return "initAlone";
    case SwitchoverReason::InitPreferred:
        return "initPreferred";
    case SwitchoverReason::PeerFault:
        return "peerFault";
    }
    return "unknown";
}

std::string_view toString(EventType t) {
    switch (t) {
    case EventType::PathDown:
        return "pathDown";
    case EventType::PathUp:
        return "pathUp";
    case EventType::PeerLost:
        return "peerLost";
    case EventType::PeerRecovered:
        return "peerRecovered";
    case EventType::Switchover:
        return "switchover";
    case EventType::SplitBrainResolved:
        return "splitBrainResolved";
    case EventType::RedundancyDegraded:
        return "redundancyDegraded";
    case EventType::RedundancyRestored:
        return "redundancyRestored";
    case EventType::ChassisPowerChanged:
        return "chassisPowerChanged";
    case EventType::BmcUnreachable:
        return "bmcUnreachable";
    case EventType::BmcRecovered:
        return "bmcRecovered";
    case EventType::SensorThreshold:
        return "sensorThreshold";
    case EventType::FanFailure:
        return "fanFailure";
    case EventType::AuthAlarm:
        return "authAlarm";
    case EventType::StateDirUnwritable:
        return "stateDirUnwritable";
    case EventType::StateDirRecovered:
        return "stateDirRecovered";
    case EventType::ReplicationDegraded:
        return "replicationDegraded";
    case EventType::ReplicationRestored:
        return "replicationRestored";
    case EventType::ReplicationRecordsDropped:
        return "replicationRecordsDropped";
    case EventType::AddressAcquired:
        return "addressAcquired";
    case EventType::AddressReleased:
        return "addressReleased";
    case EventType::AddressFailed:
        return "addressFailed";
    case EventType::SwitchoverHoldDown:
        return "switchoverHoldDown";
    case EventType::ReplicationHot:
        return "replicationHot";
    }
    return "unknown";
}

std::string_view toString(PowerState s) {
    switch (s) {
    case PowerState::Unknown:
        return "unknown";
    case PowerState::On:
        return "on";
    case PowerState::Off:
        return "off";
    case PowerState::TransitioningOn:
        return "transitioningOn";
    case PowerState::TransitioningOff:
        return "transitioningOff";
    }
    return "unknown";
}

std::string_view toString(PowerControl c) {
    switch (c) {
    case PowerControl::PowerDown:
        return "powerDown";
    case PowerControl::PowerUp:
        return "powerUp";
    case PowerControl::PowerCycle:
        return "powerCycle";
    case PowerControl::HardReset:
        return "hardReset";
    case PowerControl::DiagInterrupt:
        return "diagInterrupt";
    case PowerControl::SoftShutdown:
        return "softShutdown";
    case PowerControl::None:
        return "none";
    }
    return "none";
}

std::string_view toString(BmcAccess a) {
    switch (a) {
    case BmcAccess::Unknown:
        return "unknown";
    case BmcAccess::Ok:
        return "ok";
    case BmcAccess::Unreachable:
        return "unreachable";
    case BmcAccess::AuthFailed:
        return "authFailed";
    case BmcAccess::Busy:
        return "busy";
    case BmcAccess::Error:
        return "error";
    case BmcAccess::Disabled:
        return "disabled";
    }
    return "unknown";
}

std::string_view toString(SensorState s) {
    switch (s) {
    case SensorState::Unknown:
        return "unknown";
    case SensorState::Nominal:
        return "nominal";
    case SensorState::Warning:
        return "warning";
    case SensorState::Critical:
        return "critical";
    case SensorState::Unavailable:
        return "unavailable";
    }
    return "unknown";
}

std::string_view toString(PowerOutcome o) {
    switch (o) {
    case PowerOutcome::Pending:
        return "pending";
    case PowerOutcome::Confirmed:
        return "confirmed";
    case PowerOutcome::Failed:
        return "failed";
    case PowerOutcome::Superseded:
        return "superseded";
    case PowerOutcome::Dropped:
        return "dropped";
    }
    return "unknown";
}

std::string_view toString(FanMode m) {
    switch (m) {
    case FanMode::Unknown:
        return "unknown";
    case FanMode::Auto:
        return "auto";
    case FanMode::Manual:
        return "manual";
    case FanMode::FailSafe:
        return "failSafe";
    }
    return "unknown";
}

std::string_view toString(ControlOp op) {
    switch (op) {
    case ControlOp::Switchover:
        return "switchover";
    case ControlOp::ForceTakeover:
        return "forceTakeover";
    case ControlOp::PowerOn:
        return "powerOn";
    case ControlOp::PowerOff:
        return "powerOff";
    case ControlOp::PowerCycle:
        return "powerCycle";
    case ControlOp::HardReset:
        return "hardReset";
    case ControlOp::SoftShutdown:
        return "softShutdown";
    case ControlOp::FanModeAuto:
        return "fanModeAuto";
    case ControlOp::FanModeManual:
        return "fanModeManual";
    case ControlOp::FanDuty:
        return "fanDuty";
    case ControlOp::SetPreemption:
        return "setPreemption";
    }
    return "unknown";
}

std::string_view toString(ControlStatus s) {
    switch (s) {
    case ControlStatus::Ok:
        return "ok";
    case ControlStatus::NotActive:
        return "notActive";
    case ControlStatus::InvalidArgument:
        return "invalidArgument";
    case ControlStatus::Unavailable:
        return "unavailable";
    case ControlStatus::BmcError:
        return "bmcError";
    case ControlStatus::Busy:
        return "busy";
    }
    return "unknown";
}

} // namespace hs

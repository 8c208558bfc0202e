#include "base/types.hpp"

namespace hs {

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
    }
    return "unknown";
}

} // namespace hs

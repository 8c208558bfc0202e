#include "chassis/fan_profile.hpp"

#include <algorithm>

namespace hs::chassis {

std::vector<RawRequest> fanManualMode(FanProfileKind p) {
    switch (p) {
    case FanProfileKind::Supermicro:
        return {{kNetfnOem, 0x45, {0x01, 0x01}, "supermicro fan mode full"}};
    case FanProfileKind::Dell:
        return {{kNetfnOem, 0x30, {0x01, 0x00}, "dell fan manual"}};
    case FanProfileKind::None:
        break;
    }
    return {};
}

std::vector<RawRequest> fanAutoMode(FanProfileKind p) {
    switch (p) {
    case FanProfileKind::Supermicro:
        return {{kNetfnOem, 0x45, {0x01, 0x00}, "supermicro fan mode standard"}};
    case FanProfileKind::Dell:
        return {{kNetfnOem, 0x30, {0x01, 0x01}, "dell fan auto"}};
    case FanProfileKind::None:
        break;
    }
    return {};
}

std::vector<RawRequest> fanZoneDuty(FanProfileKind p, std::uint32_t zone, unsigned dutyPct) {
    auto duty = static_cast<std::uint8_t>(std::min(dutyPct, 100u));
    auto z = static_cast<std::uint8_t>(zone);
    switch (p) {
    case FanProfileKind::Supermicro:
        return {{kNetfnOem, 0x70, {0x66, 0x01, z, duty}, "supermicro zone duty"}};
    case FanProfileKind::Dell:
        return {{kNetfnOem, 0x30, {0x02, z, duty}, "dell fan duty"}};
    case FanProfileKind::None:
        break;
    }
    return {};
}

} // namespace hs::chassis

// Names and descriptions of the [chassis] settings, and what a cipher suite protects. Pure
// (hs_logic): the chassis logic names them in logs and events; the parser is chassis_config.cpp.
#include "chassis/chassis_config.hpp"
#include "chassis/replicated_intent.hpp"

#include <fmt/core.h>

namespace hs::chassis {

std::string_view toString(BmcInterface i) {
    switch (i) {
    case BmcInterface::None:
        return "none";
    case BmcInterface::Lanplus:
        return "lanplus";
    case BmcInterface::Inband:
        return "inband";
    }
    return "?";
}

std::string_view toString(FanProfileKind k) {
    switch (k) {
    case FanProfileKind::None:
        return "none";
    case FanProfileKind::Supermicro:
        return "supermicro";
    case FanProfileKind::Dell:
        return "dell";
    }
    return "?";
}

std::string BmcEndpoint::target() const {
    if (interface != BmcInterface::Lanplus) {
        return {};
    }
    return fmt::format("{}:{}", host, port);
}

std::string BmcEndpoint::describe() const {
    switch (interface) {
    case BmcInterface::Lanplus:
        return fmt::format("lanplus {} user={} cipher_suite={}", target(), user, cipherSuite);
    case BmcInterface::Inband:
        return fmt::format("inband {}", driverDevice.empty() ? "(probe)" : driverDevice);
    case BmcInterface::None:
        break;
    }
    return "none";
}

CipherSuiteInfo cipherSuiteInfo(std::uint8_t id) {
    CipherSuiteInfo i;
    if (id == 0 || id > 17) {
        return i;
    }
    i.authentication = true;
    i.integrity = id != 1 && id != 6 && id != 15;
    i.confidentiality =
        (id >= 3 && id <= 5) || (id >= 8 && id <= 10) || (id >= 12 && id <= 14) || id == 17;
    return i;
}

} // namespace hs::chassis

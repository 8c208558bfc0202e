// FreeIPMI, IPMI completion codes and libipmimonitoring errors as std::error_code, and how each
// maps onto the chassis-access state the MIB and the heartbeat carry.
#pragma once

#include "base/types.hpp"

#include <cstdint>
#include <string>
#include <system_error>

namespace hs::chassis {

// Values: FreeIPMI's ipmi_ctx errnum (IPMI_ERR_*). Messages: ipmi_ctx_strerror().
const std::error_category& freeipmiCategory();
// Values: the IPMI completion code (non-zero). Messages: FreeIPMI's completion-code text.
const std::error_category& completionCodeCategory();
// Values: libipmimonitoring's errnum (IPMI_MONITORING_ERR_*).
const std::error_category& ipmimonitoringCategory();

inline std::error_code freeipmiError(int errnum) {
    return {errnum, freeipmiCategory()};
}
inline std::error_code completionCode(std::uint8_t cc) {
    return {cc, completionCodeCategory()};
}
inline std::error_code ipmimonitoringError(int errnum) {
    return {errnum, ipmimonitoringCategory()};
}

// FreeIPMI's "session timeout", for code that must not include FreeIPMI's headers.
std::error_code sessionTimeoutError();

// What an error says about the BMC: Unreachable (timeouts), AuthFailed (user, password,
// privilege, cipher suite), Busy (BMC busy, out of sessions / "insufficient resources"), Error.
// A completion code is the BMC answering: access stays Ok (except node busy: Busy).
BmcAccess classifyAccess(std::error_code ec, const std::string& detail = {});

// True when the error means the session is gone and the context must be closed and reopened.
bool sessionLost(std::error_code ec);

} // namespace hs::chassis

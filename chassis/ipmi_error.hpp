// FreeIPMI, IPMI completion codes and libipmimonitoring errors as std::error_code, and how each
// maps onto the chassis-access state the MIB and the heartbeat carry.
#pragma once

#include "base/types.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

namespace hs::chassis {

// The categories and the classification are pure (hs_logic, ipmi_error.cpp); their messages are
// FreeIPMI's texts, which only the I/O side links (ipmi_texts.cpp). freeipmiError() and
// ipmimonitoringError() install the texts, as do IpmiSession and SensorReader; until then a
// message names the number ("freeipmi error 11", "completion code 0xC9").

// Values: FreeIPMI's ipmi_ctx errnum (IPMI_ERR_*). Messages: ipmi_ctx_strerror().
const std::error_category& freeipmiCategory();
// Values: the IPMI completion code (non-zero). Messages: FreeIPMI's completion-code text.
const std::error_category& completionCodeCategory();
// Values: libipmimonitoring's errnum (IPMI_MONITORING_ERR_*).
const std::error_category& ipmimonitoringCategory();

// Where the categories get their texts: FreeIPMI's, installed by useFreeipmiTexts().
struct IpmiTexts {
    const char* (*freeipmi)(int errnum) = nullptr; // nullptr: no text for that errnum
    // Writes the generic text of completion code `cc` into buf; false: no text.
    bool (*completionCode)(std::uint8_t cc, char* buf, std::size_t len) = nullptr;
    const char* (*ipmimonitoring)(int errnum) = nullptr;
};
void setIpmiTexts(const IpmiTexts* texts);
// ipmi_texts.cpp (hs_chassis, links FreeIPMI): installs FreeIPMI's texts. Idempotent, thread-safe.
void useFreeipmiTexts();

// Errors of the FreeIPMI and libipmimonitoring calls (ipmi_texts.cpp, hs_chassis).
std::error_code freeipmiError(int errnum);
std::error_code ipmimonitoringError(int errnum);
inline std::error_code completionCode(std::uint8_t cc) {
    return {cc, completionCodeCategory()};
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

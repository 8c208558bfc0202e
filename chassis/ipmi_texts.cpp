// FreeIPMI's and libipmimonitoring's error texts for the error categories of ipmi_error.hpp. The
// categories themselves are pure (hs_logic); this is the part that links FreeIPMI.
#include "chassis/ipmi_error.hpp"

#include <freeipmi/freeipmi.h>
#include <ipmi_monitoring.h>

namespace hs::chassis {
namespace {

bool completionCodeText(std::uint8_t cc, char* buf, std::size_t len) {
    // Generic codes (0xC0-0xFF) do not depend on the command.
    return ipmi_completion_code_strerror_r(0x01, 0x06, cc, buf, len) == 0;
}

const char* ipmimonitoringText(int errnum) {
    return ipmi_monitoring_ctx_strerror(errnum);
}

const char* freeipmiText(int errnum) {
    return ipmi_ctx_strerror(errnum);
}

} // namespace

void useFreeipmiTexts() {
    static const IpmiTexts kTexts{&freeipmiText, &completionCodeText, &ipmimonitoringText};
    setIpmiTexts(&kTexts);
}

std::error_code freeipmiError(int errnum) {
    useFreeipmiTexts();
    return {errnum, freeipmiCategory()};
}

std::error_code ipmimonitoringError(int errnum) {
    useFreeipmiTexts();
    return {errnum, ipmimonitoringCategory()};
}

} // namespace hs::chassis

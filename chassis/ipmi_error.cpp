// Pure (hs_logic): FreeIPMI's headers give the error numbers only; the texts are installed from
// ipmi_texts.cpp.
#include "chassis/ipmi_error.hpp"

#include <array>
#include <atomic>
#include <fmt/core.h>
#include <freeipmi/freeipmi.h>
#include <ipmi_monitoring.h>

namespace hs::chassis {
namespace {

std::atomic<const IpmiTexts*> gTexts{nullptr};

class FreeipmiCategory : public std::error_category {
  public:
    const char* name() const noexcept override { return "freeipmi"; }
    std::string message(int ev) const override {
        const IpmiTexts* t = gTexts.load(std::memory_order_acquire);
        const char* s = t != nullptr && t->freeipmi != nullptr ? t->freeipmi(ev) : nullptr;
        return s ? s : fmt::format("freeipmi error {}", ev);
    }
};

class CompletionCodeCategory : public std::error_category {
  public:
    const char* name() const noexcept override { return "ipmi-cc"; }
    std::string message(int ev) const override {
        std::array<char, 256> buf{};
        auto cc = static_cast<std::uint8_t>(ev);
        const IpmiTexts* t = gTexts.load(std::memory_order_acquire);
        if (t != nullptr && t->completionCode != nullptr &&
            t->completionCode(cc, buf.data(), buf.size()) && buf[0] != '\0') {
            return fmt::format("completion code 0x{:02X}: {}", cc, buf.data());
        }
        return fmt::format("completion code 0x{:02X}", cc);
    }
};

class IpmimonitoringCategory : public std::error_category {
  public:
    const char* name() const noexcept override { return "ipmimonitoring"; }
    std::string message(int ev) const override {
        const IpmiTexts* t = gTexts.load(std::memory_order_acquire);
        const char* s =
            t != nullptr && t->ipmimonitoring != nullptr ? t->ipmimonitoring(ev) : nullptr;
        return s ? s : fmt::format("ipmimonitoring error {}", ev);
    }
};

} // namespace

void setIpmiTexts(const IpmiTexts* texts) {
    gTexts.store(texts, std::memory_order_release);
}

const std::error_category& freeipmiCategory() {
    static const FreeipmiCategory kCategory;
    return kCategory;
}
const std::error_category& completionCodeCategory() {
    static const CompletionCodeCategory kCategory;
    return kCategory;
}
const std::error_category& ipmimonitoringCategory() {
    static const IpmimonitoringCategory kCategory;
    return kCategory;
}

BmcAccess classifyAccess(std::error_code ec, const std::string& detail) {
    if (!ec) {
        return BmcAccess::Ok;
    }
    if (detail.find("insufficient resources") != std::string::npos) {
        return BmcAccess::Busy;
    }
    if (ec.category() == completionCodeCategory()) {
        return ec.value() == 0xC0 ? BmcAccess::Busy : BmcAccess::Ok;
    }
    if (ec.category() == freeipmiCategory()) {
        switch (ec.value()) {
        case IPMI_ERR_SESSION_TIMEOUT:
        case IPMI_ERR_CONNECTION_TIMEOUT:
        case IPMI_ERR_HOSTNAME_INVALID:
        case IPMI_ERR_DEVICE_NOT_FOUND:
        case IPMI_ERR_DRIVER_TIMEOUT:
            return BmcAccess::Unreachable;
        case IPMI_ERR_USERNAME_INVALID:
        case IPMI_ERR_PASSWORD_INVALID:
        case IPMI_ERR_K_G_INVALID:
        case IPMI_ERR_PRIVILEGE_LEVEL_INSUFFICIENT:
        case IPMI_ERR_PRIVILEGE_LEVEL_CANNOT_BE_OBTAINED:
        case IPMI_ERR_AUTHENTICATION_TYPE_UNAVAILABLE:
        case IPMI_ERR_CIPHER_SUITE_ID_UNAVAILABLE:
        case IPMI_ERR_PASSWORD_VERIFICATION_TIMEOUT:
        case IPMI_ERR_PERMISSION:
            return BmcAccess::AuthFailed;
        case IPMI_ERR_BMC_BUSY:
        case IPMI_ERR_DRIVER_BUSY:
            return BmcAccess::Busy;
        default:
            return BmcAccess::Error;
        }
    }
    if (ec.category() == ipmimonitoringCategory()) {
        switch (ec.value()) {
        case IPMI_MONITORING_ERR_CONNECTION_TIMEOUT:
        case IPMI_MONITORING_ERR_SESSION_TIMEOUT:
        case IPMI_MONITORING_ERR_HOSTNAME_INVALID:
            return BmcAccess::Unreachable;
        case IPMI_MONITORING_ERR_USERNAME_INVALID:
        case IPMI_MONITORING_ERR_PASSWORD_INVALID:
        case IPMI_MONITORING_ERR_PASSWORD_VERIFICATION_TIMEOUT:
        case IPMI_MONITORING_ERR_K_G_INVALID:
        case IPMI_MONITORING_ERR_PRIVILEGE_LEVEL_INSUFFICIENT:
        case IPMI_MONITORING_ERR_PRIVILEGEL_LEVEL_CANNOT_BE_OBTAINED:
        case IPMI_MONITORING_ERR_AUTHENTICATION_TYPE_UNAVAILABLE:
        case IPMI_MONITORING_ERR_CIPHER_SUITE_ID_UNAVAILABLE:
            return BmcAccess::AuthFailed;
        case IPMI_MONITORING_ERR_BMC_BUSY:
            return BmcAccess::Busy;
        default:
            return BmcAccess::Error;
        }
    }
    return BmcAccess::Error;
}

bool sessionLost(std::error_code ec) {
    if (!ec || ec.category() == completionCodeCategory()) {
        return false;
    }
    if (ec.category() == freeipmiCategory()) {
        switch (ec.value()) {
        case IPMI_ERR_BAD_COMPLETION_CODE:
        case IPMI_ERR_COMMAND_INVALID_OR_UNSUPPORTED:
        case IPMI_ERR_BMC_BUSY:
        case IPMI_ERR_MESSAGE_TIMEOUT:
        case IPMI_ERR_PARAMETERS:
            return false;
        default:
            return true;
        }
    }
    return true;
}

std::error_code sessionTimeoutError() {
    return {IPMI_ERR_SESSION_TIMEOUT, freeipmiCategory()};
}

} // namespace hs::chassis

#include "chassis/ipmi_session.hpp"

#include "chassis/ipmi_error.hpp"

#include <array>
#include <fmt/core.h>
#include <freeipmi/freeipmi.h>

namespace hs::chassis {
namespace {

std::uint8_t freeipmiPrivilege(Privilege p) {
    switch (p) {
    case Privilege::User:
        return IPMI_PRIVILEGE_LEVEL_USER;
    case Privilege::Operator:
        return IPMI_PRIVILEGE_LEVEL_OPERATOR;
    case Privilege::Admin:
        return IPMI_PRIVILEGE_LEVEL_ADMIN;
    }
    return IPMI_PRIVILEGE_LEVEL_ADMIN;
}

} // namespace

std::error_code IpmiSession::open() {
    if (ctx_) {
        return {};
    }
    ipmi_ctx_t ctx = ipmi_ctx_create();
    if (!ctx) {
        lastError_ = "ipmi_ctx_create failed (out of memory)";
        return freeipmiError(IPMI_ERR_OUT_OF_MEMORY);
    }
    int rc = -1;
    if (ep_.interface == BmcInterface::Lanplus) {
        std::string target = ep_.target();
        rc = ipmi_ctx_open_outofband_2_0(ctx, target.c_str(), ep_.user.c_str(),
                                         ep_.password.c_str(), nullptr, 0,
                                         freeipmiPrivilege(ep_.privilege), ep_.cipherSuite,
                                         static_cast<unsigned>(ep_.sessionTimeout.count()),
                                         static_cast<unsigned>(ep_.retransmissionTimeout.count()),
                                         ep_.workaroundFlags, IPMI_FLAGS_DEFAULT);
    } else if (ep_.interface == BmcInterface::Inband) {
        rc = ipmi_ctx_find_inband(ctx, nullptr, 0, 0, 0,
                                  ep_.driverDevice.empty() ? nullptr : ep_.driverDevice.c_str(),
                                  ep_.workaroundFlags, IPMI_FLAGS_DEFAULT);
        if (rc == 0) {
            lastError_ = "no in-band IPMI driver found (is ipmi_si / ipmi_devintf loaded?)";
            ipmi_ctx_destroy(ctx);
            return freeipmiError(IPMI_ERR_DEVICE_NOT_FOUND);
        }
        rc = rc > 0 ? 0 : -1;
    } else {
        lastError_ = "no BMC configured";
        ipmi_ctx_destroy(ctx);
        return freeipmiError(IPMI_ERR_PARAMETERS);
    }
    if (rc < 0) {
        int err = ipmi_ctx_errnum(ctx);
        const char* msg = ipmi_ctx_errormsg(ctx);
        lastError_ = msg ? msg : "unknown error";
        ipmi_ctx_destroy(ctx);
        return freeipmiError(err);
    }
    ctx_ = ctx;
    ++opens_;
    return {};
}

void IpmiSession::close() {
    if (!ctx_) {
        return;
    }
    ipmi_ctx_close(ctx_);
    ipmi_ctx_destroy(ctx_);
    ctx_ = nullptr;
}

std::error_code IpmiSession::raw(std::uint8_t netfn, std::uint8_t cmd,
                                 std::span<const std::uint8_t> data, RawResponse& out,
                                 const SendCheck& mayLeave) {
    if (std::error_code ec = open()) {
        return ec;
    }
    std::array<std::uint8_t, 64> rq{};
    if (data.size() + 1 > rq.size()) {
        lastError_ = "request too long";
        return freeipmiError(IPMI_ERR_PARAMETERS);
    }
    rq[0] = cmd;
    std::copy(data.begin(), data.end(), rq.begin() + 1);
    std::array<std::uint8_t, 256> rs{};
    // The last moment before the bytes leave: nothing but FreeIPMI's packet assembly follows.
    if (mayLeave && !mayLeave()) {
        lastError_ = "not sent: refused immediately before sending";
        return std::make_error_code(std::errc::operation_canceled);
    }
    int n = ipmi_cmd_raw(ctx_, 0, netfn, rq.data(), static_cast<unsigned>(data.size() + 1),
                         rs.data(), static_cast<unsigned>(rs.size()));
    if (n < 0) {
        std::error_code ec = freeipmiError(ipmi_ctx_errnum(ctx_));
        const char* msg = ipmi_ctx_errormsg(ctx_);
        lastError_ = msg ? msg : "unknown error";
        if (sessionLost(ec)) {
            // After a session timeout the context is unusable: destroy it, reopen next time.
            close();
        }
        return ec;
    }
    if (n < 2) {
        lastError_ = fmt::format("short response ({} bytes)", n);
        return freeipmiError(IPMI_ERR_IPMI_ERROR);
    }
    out.cc = rs[1];
    out.data.assign(rs.begin() + 2, rs.begin() + n);
    return {};
}

} // namespace hs::chassis

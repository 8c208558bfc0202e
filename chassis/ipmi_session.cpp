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
    if (m_ctx) {
        return {};
    }
    ipmi_ctx_t ctx = ipmi_ctx_create();
    if (!ctx) {
        m_lastError = "ipmi_ctx_create failed (out of memory)";
        return freeipmiError(IPMI_ERR_OUT_OF_MEMORY);
    }
    int rc = -1;
    if (m_ep.interface == BmcInterface::Lanplus) {
        std::string target = m_ep.target();
        rc = ipmi_ctx_open_outofband_2_0(ctx, target.c_str(), m_ep.user.c_str(),
                                         m_ep.password.c_str(), nullptr, 0,
                                         freeipmiPrivilege(m_ep.privilege), m_ep.cipherSuite,
                                         static_cast<unsigned>(m_ep.sessionTimeout.count()),
                                         static_cast<unsigned>(m_ep.retransmissionTimeout.count()),
                                         m_ep.workaroundFlags, IPMI_FLAGS_DEFAULT);
    } else if (m_ep.interface == BmcInterface::Inband) {
        rc = ipmi_ctx_find_inband(ctx, nullptr, 0, 0, 0,
                                  m_ep.driverDevice.empty() ? nullptr : m_ep.driverDevice.c_str(),
                                  m_ep.workaroundFlags, IPMI_FLAGS_DEFAULT);
        if (rc == 0) {
            m_lastError = "no in-band IPMI driver found (is ipmi_si / ipmi_devintf loaded?)";
            ipmi_ctx_destroy(ctx);
            return freeipmiError(IPMI_ERR_DEVICE_NOT_FOUND);
        }
        rc = rc > 0 ? 0 : -1;
    } else {
        m_lastError = "no BMC configured";
        ipmi_ctx_destroy(ctx);
        return freeipmiError(IPMI_ERR_PARAMETERS);
    }
    if (rc < 0) {
        int err = ipmi_ctx_errnum(ctx);
        const char* msg = ipmi_ctx_errormsg(ctx);
        m_lastError = msg ? msg : "unknown error";
        ipmi_ctx_destroy(ctx);
        return freeipmiError(err);
    }
    m_ctx = ctx;
    ++m_opens;
    return {};
}

void IpmiSession::close() {
    if (!m_ctx) {
        return;
    }
    ipmi_ctx_close(m_ctx);
    ipmi_ctx_destroy(m_ctx);
    m_ctx = nullptr;
}

std::error_code IpmiSession::raw(std::uint8_t netfn, std::uint8_t cmd,
                                 std::span<const std::uint8_t> data, RawResponse& out,
                                 const SendCheck& mayLeave) {
    if (std::error_code ec = open()) {
        return ec;
    }
    std::array<std::uint8_t, 64> rq{};
    if (data.size() + 1 > rq.size()) {
        m_lastError = "request too long";
        return freeipmiError(IPMI_ERR_PARAMETERS);
    }
    rq[0] = cmd;
    std::copy(data.begin(), data.end(), rq.begin() + 1);
    std::array<std::uint8_t, 256> rs{};
    // The last moment before the bytes leave: nothing but FreeIPMI's packet assembly follows.
    if (mayLeave && !mayLeave()) {
        m_lastError = "not sent: refused immediately before sending";
        return std::make_error_code(std::errc::operation_canceled);
    }
    int n = ipmi_cmd_raw(m_ctx, 0, netfn, rq.data(), static_cast<unsigned>(data.size() + 1),
                         rs.data(), static_cast<unsigned>(rs.size()));
    if (n < 0) {
        std::error_code ec = freeipmiError(ipmi_ctx_errnum(m_ctx));
        const char* msg = ipmi_ctx_errormsg(m_ctx);
        m_lastError = msg ? msg : "unknown error";
        if (sessionLost(ec)) {
            // After a session timeout the context is unusable: destroy it, reopen next time.
            close();
        }
        return ec;
    }
    if (n < 2) {
        m_lastError = fmt::format("short response ({} bytes)", n);
        return freeipmiError(IPMI_ERR_IPMI_ERROR);
    }
    out.cc = rs[1];
    out.data.assign(rs.begin() + 2, rs.begin() + n);
    return {};
}

} // namespace hs::chassis

// One FreeIPMI context: an IPMI 2.0 lanplus session (or the in-band driver), reused for every
// request of the thread that owns it. Blocking; bounded by the endpoint's session timeout.
// Use from ONE thread only (FreeIPMI contexts are not shared between threads).
#pragma once

#include "chassis/bmc_transport.hpp"
#include "chassis/chassis_config.hpp"
#include "chassis/ipmi_error.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <system_error>

struct ipmi_ctx;

namespace hs::chassis {

class IpmiSession final : public BmcTransport {
  public:
    // Installs FreeIPMI's error texts (ipmi_error.hpp) before any reply reaches the logic.
    explicit IpmiSession(BmcEndpoint endpoint) : ep_(std::move(endpoint)) { useFreeipmiTexts(); }
    ~IpmiSession() override { close(); }
    IpmiSession(const IpmiSession&) = delete;
    IpmiSession& operator=(const IpmiSession&) = delete;

    // Opens the session if it is not open. Returns the FreeIPMI error on failure.
    std::error_code open() override;
    bool isOpen() const override { return ctx_ != nullptr; }
    // Closes the session properly (the BMC frees its slot at once) and destroys the context.
    void close() override;

    // BmcTransport::raw. On a lost session the context is closed so the next call reopens it.
    // `mayLeave` is asked immediately before the request is handed to FreeIPMI, whose
    // ipmi_cmd_raw() builds the packet and sends it at once.
    using BmcTransport::raw;
    std::error_code raw(std::uint8_t netfn, std::uint8_t cmd, std::span<const std::uint8_t> data,
                        RawResponse& out, const SendCheck& mayLeave = {}) override;
    // FreeIPMI's text for the last failure (no secrets in it).
    const std::string& lastErrorText() const override { return lastError_; }
    const BmcEndpoint& endpoint() const { return ep_; }
    std::uint64_t opens() const override { return opens_; }

  private:
    BmcEndpoint ep_;
    ipmi_ctx* ctx_ = nullptr;
    std::string lastError_;
    std::uint64_t opens_ = 0;
};

} // namespace hs::chassis

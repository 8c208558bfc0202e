// BmcTransport: the one way chassis code talks to a BMC. A raw IPMI request goes in, an error code
// and the response come out. Implemented by IpmiSession (FreeIPMI, lanplus or in-band) and, for
// unit tests, by a hand-written fake BMC (tests/chassis/fake_bmc.hpp). Blocking; one thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace hs::chassis {

struct RawRequest {
    std::uint8_t netfn = 0;
    std::uint8_t cmd = 0;
    std::vector<std::uint8_t> data;
    const char* what = ""; // for logs: "supermicro fan mode full"
};

struct RawResponse {
    std::uint8_t cc = 0;            // completion code
    std::vector<std::uint8_t> data; // bytes after the completion code
};

class BmcTransport {
  public:
    // Asked after the session is open (a reopen can take up to the session timeout) and
    // immediately before the request leaves: false means "do not send".
    using SendCheck = std::function<bool()>;

    virtual ~BmcTransport() = default;

    // Opens the session if it is not open. Returns the error on failure.
    virtual std::error_code open() = 0;
    virtual bool isOpen() const = 0;
    // Closes the session properly (the BMC frees its slot at once).
    virtual void close() = 0;
    // Sends one request (opening the session first if needed). A response with a non-zero
    // completion code is a success here: look at out.cc. With `mayLeave` set and answering false,
    // nothing is sent and the result is std::errc::operation_canceled.
    virtual std::error_code raw(std::uint8_t netfn, std::uint8_t cmd,
                                std::span<const std::uint8_t> data, RawResponse& out,
                                const SendCheck& mayLeave = {}) = 0;
    std::error_code raw(const RawRequest& rq, RawResponse& out, const SendCheck& mayLeave = {}) {
        return raw(rq.netfn, rq.cmd, rq.data, out, mayLeave);
    }
    // Text of the last failure (no secrets in it).
    virtual const std::string& lastErrorText() const = 0;
    // Sessions opened so far: a change means the BMC forgot per-session state (fan mode).
    virtual std::uint64_t opens() const = 0;
};

} // namespace hs::chassis

// libFuzzer target: the control API's line decoder (core/control_api). Whatever the line, it
// answers without throwing; a decoded change is within range and names a known command.
#include "core/control_api.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view line(reinterpret_cast<const char*>(data), size);
    hs::control::Decoded d = hs::control::decodeLine(line);
    if (!d.error.empty()) {
        if (d.request) {
            std::abort(); // refused requests carry nothing to act on
        }
        return 0;
    }
    if (hs::control::commandFromName(hs::control::commandName(d.command)) != d.command) {
        std::abort();
    }
    if (d.request) {
        if (!d.changes) {
            std::abort(); // every change needs the change tier
        }
        if (d.request->op == hs::ControlOp::FanDuty &&
            (d.request->value < 0 || d.request->value > hs::protocol::kMaxDutyPct)) {
            std::abort();
        }
    }
    return 0;
}

#include "daemon/slot_source.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <gpiod.h>
#include <memory>
#include <sstream>
#include <string_view>

namespace hs {
namespace {

std::uint32_t slotFromText(std::string_view text, const std::string& what) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    while (!text.empty() && text.front() == ' ') {
        text.remove_prefix(1);
    }
    unsigned v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > 1) {
        throw SlotError(fmt::format("slot from {}: expected 0 or 1, read '{}'", what,
                                    std::string(text.substr(0, 32))));
    }
    return v;
}

struct ChipCloser {
    void operator()(gpiod_chip* c) const { ::gpiod_chip_close(c); }
};

} // namespace

std::uint32_t readSlotFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw SlotError(fmt::format("slot_file {}: cannot open: {}", path, std::strerror(errno)));
    }
    std::string text(64, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return slotFromText(text, "slot_file " + path);
}

std::uint32_t readSlotGpio(const std::string& spec) {
    auto colon = spec.rfind(':');
    unsigned offset = 0;
    std::string_view digits =
        colon == std::string::npos ? std::string_view() : std::string_view(spec).substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), offset);
    if (colon == 0 || digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
        throw SlotError(fmt::format("slot_gpio '{}': expected CHIP:LINE, e.g. gpiochip0:17", spec));
    }
    std::string chipName = spec.substr(0, colon);
    std::unique_ptr<gpiod_chip, ChipCloser> chip(::gpiod_chip_open_lookup(chipName.c_str()));
    if (!chip) {
        throw SlotError(fmt::format("slot_gpio '{}': cannot open GPIO chip '{}': {} (check "
                                    "gpiodetect)",
                                    spec, chipName, std::strerror(errno)));
    }
    gpiod_line* line = ::gpiod_chip_get_line(chip.get(), offset);
    if (!line) {
        throw SlotError(fmt::format("slot_gpio '{}': chip '{}' has no line {}: {} (check gpioinfo)",
                                    spec, chipName, offset, std::strerror(errno)));
    }
    if (::gpiod_line_request_input(line, "hotstandbyd") != 0) {
        throw SlotError(fmt::format("slot_gpio '{}': cannot request line {} as input: {} (is it "
                                    "used by another consumer?)",
                                    spec, offset, std::strerror(errno)));
    }
    int value = ::gpiod_line_get_value(line);
    int err = errno;
    ::gpiod_line_release(line);
    if (value < 0) {
        throw SlotError(fmt::format("slot_gpio '{}': cannot read line {}: {}", spec, offset,
                                    std::strerror(err)));
    }
    return value ? 1U : 0U;
}

std::uint32_t resolveSlot(const NodeConfig& node) {
    if (node.slot) {
        return *node.slot;
    }
    if (!node.slotFile.empty()) {
        return readSlotFile(node.slotFile);
    }
    if (!node.slotGpio.empty()) {
        return readSlotGpio(node.slotGpio);
    }
    throw SlotError("no slot configured: set node.slot, node.slot_file or node.slot_gpio");
}

} // namespace hs

// Where this module sits in the chassis (slot 0 is the preferred active): from the config, from a
// file holding 0 or 1 (a sysfs GPIO value file or a test file) or from a GPIO line via libgpiod.
// Called once at start, before the core loop runs (a GPIO read is quick but is a syscall).
#pragma once

#include "core/config.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>

namespace hs {

class SlotError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Each throws SlotError with a message naming the source and what to check.
std::uint32_t readSlotFile(const std::string& path);
std::uint32_t readSlotGpio(const std::string& spec); // "gpiochip0:17" (chip name, path or number)
std::uint32_t resolveSlot(const NodeConfig& node);

} // namespace hs

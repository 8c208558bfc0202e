// Serial ports as libserialport sees them (real UARTs, USB adapters), for `hsctl serial-ports`,
// and the mapping of libserialport's errors onto std::error_code.
#pragma once

#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace hs::hb {

struct SerialPortInfo {
    std::string name;        // "/dev/ttyUSB0"
    std::string description; // "FT232R USB UART - FT232R USB UART"
    std::string transport;   // "native" | "usb" | "bluetooth" | "unknown"
    std::optional<int> usbVid;
    std::optional<int> usbPid;
    std::string usbSerial;       // empty when not USB or not reported
    std::string usbManufacturer; // idem
    std::string usbProduct;      // idem
};

// Enumerates the serial ports of this host. On failure returns an empty list and sets error
// (a host without serial ports returns an empty list and leaves error empty).
std::vector<SerialPortInfo> listSerialPorts(std::string& error);

// libserialport's return codes (SP_ERR_ARG, SP_ERR_FAIL, SP_ERR_MEM, SP_ERR_SUPP) as an
// error_category; SP_ERR_FAIL is usually better reported with the OS error it carries
// (see lastSerialPortError()).
const std::error_category& serialPortCategory();

// The error of the last libserialport call that returned `ret` (< 0): the OS errno for SP_ERR_FAIL,
// else the libserialport code. `message` gets libserialport's text when it has one.
std::error_code lastSerialPortError(int ret, std::string& message);

} // namespace hs::hb

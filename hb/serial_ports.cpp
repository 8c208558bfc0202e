// Serial port enumeration and error mapping through libserialport.
#include "hb/serial_ports.hpp"

#include <libserialport.h>

namespace hs::hb {
namespace {

class SerialPortCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "libserialport"; }
    std::string message(int code) const override {
        switch (code) {
        case SP_OK:
            return "success";
        case SP_ERR_ARG:
            return "invalid argument";
        case SP_ERR_FAIL:
            return "system call failed";
        case SP_ERR_MEM:
            return "out of memory";
        case SP_ERR_SUPP:
            return "not supported by this device or platform";
        default:
            return "unknown libserialport error";
        }
    }
};

std::string takeString(char* s) {
    // Strings returned by sp_get_port_* belong to the port structure: copy, never free.
    return s != nullptr ? std::string(s) : std::string();
}

const char* transportName(sp_transport t) {
    switch (t) {
    case SP_TRANSPORT_NATIVE:
        return "native";
    case SP_TRANSPORT_USB:
        return "usb";
    case SP_TRANSPORT_BLUETOOTH:
        return "bluetooth";
    }
    return "unknown";
}

SerialPortInfo describe(const sp_port* port) {
    SerialPortInfo info;
    info.name = takeString(sp_get_port_name(port));
    info.description = takeString(sp_get_port_description(port));
    const sp_transport transport = sp_get_port_transport(port);
    info.transport = transportName(transport);
    if (transport == SP_TRANSPORT_USB) {
        int vid = 0;
        int pid = 0;
        if (sp_get_port_usb_vid_pid(port, &vid, &pid) == SP_OK) {
            info.usbVid = vid;
            info.usbPid = pid;
        }
        info.usbSerial = takeString(sp_get_port_usb_serial(port));
        info.usbManufacturer = takeString(sp_get_port_usb_manufacturer(port));
        info.usbProduct = takeString(sp_get_port_usb_product(port));
    }
    return info;
}

} // namespace

const std::error_category& serialPortCategory() {
    static const SerialPortCategory kCategory;
    return kCategory;
}

std::error_code lastSerialPortError(int ret, std::string& message) {
    message.clear();
    if (ret == SP_ERR_FAIL) {
        char* text = sp_last_error_message();
        if (text != nullptr) {
            message = text;
            sp_free_error_message(text);
        }
        const int err = sp_last_error_code();
        if (err != 0) {
            return {err, std::generic_category()};
        }
    }
    return {ret, serialPortCategory()};
}

std::vector<SerialPortInfo> listSerialPorts(std::string& error) {
    error.clear();
    sp_port** ports = nullptr;
    const sp_return ret = sp_list_ports(&ports);
    if (ret != SP_OK) {
        std::string text;
        const auto ec = lastSerialPortError(ret, text);
        error = "cannot enumerate serial ports: " + (text.empty() ? ec.message() : text);
        return {};
    }
    std::vector<SerialPortInfo> out;
    for (sp_port** p = ports; p != nullptr && *p != nullptr; ++p) {
        out.push_back(describe(*p));
    }
    sp_free_port_list(ports);
    return out;
}

} // namespace hs::hb

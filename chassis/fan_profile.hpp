// OEM fan control commands of the supported vendors, as raw IPMI requests. Pure: builds bytes,
// sends nothing. The manager sends them through its single control gate.
#pragma once

#include "chassis/bmc_transport.hpp"
#include "chassis/chassis_config.hpp"

#include <cstdint>
#include <vector>

namespace hs::chassis {

// Supermicro: raw 0x30 0x45 0x01 MODE (0 standard, 1 full); raw 0x30 0x70 0x66 0x01 ZONE DUTY.
// Dell: raw 0x30 0x30 0x01 0x00 (manual) / 0x01 (auto); raw 0x30 0x30 0x02 ZONE|0xff DUTY.
// Manual mode on Supermicro is "full": the BMC stops overriding the duty set per zone.
std::vector<RawRequest> fanManualMode(FanProfileKind p);
std::vector<RawRequest> fanAutoMode(FanProfileKind p);
std::vector<RawRequest> fanZoneDuty(FanProfileKind p, std::uint32_t zone, unsigned dutyPct);

inline constexpr std::uint8_t kNetfnChassis = 0x00;
inline constexpr std::uint8_t kNetfnOem = 0x30;
inline constexpr std::uint8_t kCmdGetChassisStatus = 0x01;
inline constexpr std::uint8_t kCmdChassisControl = 0x02;

} // namespace hs::chassis

// Thermal policy for one zone: a temperature-to-duty curve with hysteresis. Pure logic, no I/O.
//
// The curve is piecewise linear between its points and flat beyond its ends. Rising temperatures
// raise the duty at once; falling temperatures lower it only once the curve evaluated at
// (temperature + hysteresis) asks for less, so a reading hovering around a breakpoint does not make
// the fans hunt.
#pragma once

#include "chassis/chassis_config.hpp"

#include <optional>
#include <vector>

namespace hs::chassis {

// Duty (0-100) the curve gives at tempC, rounded up to a whole percent.
unsigned curveDuty(const std::vector<ThermalPoint>& curve, double tempC);

class ZonePolicy {
  public:
    ZonePolicy(std::vector<ThermalPoint> curve, double hysteresisC)
        : curve_(std::move(curve)), hysteresis_(hysteresisC) {}

    // Feeds the zone's hottest reading; returns the duty to command.
    unsigned update(double tempC);
    // Forget the history (after fail-safe, a takeover or a BMC reconnect).
    void reset() { duty_.reset(); }
    std::optional<unsigned> duty() const { return duty_; }

  private:
    std::vector<ThermalPoint> curve_;
    double hysteresis_;
    std::optional<unsigned> duty_;
};

} // namespace hs::chassis

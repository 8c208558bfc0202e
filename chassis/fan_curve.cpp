#include "chassis/fan_curve.hpp"

#include <algorithm>
#include <cmath>

namespace hs::chassis {

unsigned curveDuty(const std::vector<ThermalPoint>& curve, double tempC) {
    if (curve.empty()) {
        return 100;
    }
    if (tempC <= curve.front().tempC) {
        return curve.front().dutyPct;
    }
    if (tempC >= curve.back().tempC) {
        return curve.back().dutyPct;
    }
    for (std::size_t i = 1; i < curve.size(); ++i) {
        const ThermalPoint& lo = curve[i - 1];
        const ThermalPoint& hi = curve[i];
        if (tempC <= hi.tempC) {
            double f = (tempC - lo.tempC) / (hi.tempC - lo.tempC);
            double d = lo.dutyPct + f * (static_cast<double>(hi.dutyPct) - lo.dutyPct);
            // Round up, with a little slack so 40.0000001 stays 40.
            return std::min(100u, static_cast<unsigned>(std::ceil(d - 1e-9)));
        }
    }
    return curve.back().dutyPct;
}

unsigned ZonePolicy::update(double tempC) {
    unsigned rising = curveDuty(curve_, tempC);
    if (!duty_ || rising >= *duty_) {
        duty_ = rising;
        return *duty_;
    }
    // Falling: only come down to what the curve asks for hysteresis degrees higher.
    unsigned falling = curveDuty(curve_, tempC + hysteresis_);
    if (falling < *duty_) {
        duty_ = falling;
    }
    return *duty_;
}

} // namespace hs::chassis

// Sensor readings through libipmimonitoring (one context per thread, SDR cache in the configured
// per-instance directory), with thresholds taken from the cached SDR records through libfreeipmi.
// Blocking; bounded by the endpoint's session timeout. Each read opens and closes its own session
// (libipmimonitoring's model), so it never holds one of the BMC's session slots between polls.
#pragma once

#include "base/types.hpp"
#include "chassis/chassis_config.hpp"
#include "chassis/sensor_readings.hpp"

#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

struct ipmi_monitoring_ctx;

namespace hs::chassis {

class SensorReader {
  public:
    SensorReader(BmcEndpoint endpoint, std::string sdrCacheDir);
    ~SensorReader();
    SensorReader(const SensorReader&) = delete;
    SensorReader& operator=(const SensorReader&) = delete;

    SensorReadResult read();

  private:
    struct Thresholds {
        std::optional<double> lnc, lc, unc, uc, lnr, unr;
    };
    void loadThresholds();

    BmcEndpoint ep_;
    std::string cacheDir_;
    ipmi_monitoring_ctx* ctx_ = nullptr;
    std::map<int, Thresholds> thresholds_; // by SDR record id
    bool thresholdsLoaded_ = false;
};

} // namespace hs::chassis

// One round of sensor readings, as the sensor poller hands it to the chassis logic.
#pragma once

#include "base/types.hpp"

#include <string>
#include <system_error>
#include <vector>

namespace hs::chassis {

struct SensorReadResult {
    std::error_code ec;
    std::string errorText;               // libipmimonitoring's message on failure
    std::vector<SensorSnapshot> sensors; // record-id order, index 1-based
};

} // namespace hs::chassis

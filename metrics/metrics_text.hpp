// The Prometheus text exposition format (version 0.0.4) of one Snapshot: the pair's own metrics
// (hotstandby_*) and the chassis under the names and labels of the Prometheus IPMI exporter
// (ipmi_*). Pure: no sockets, no threads; the server renders a snapshot the core published.
#pragma once

#include "base/types.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace hs::metrics {

// hotstandby_switchovers_total{reason}: counts the switchover journal's records by reason as they
// appear (records are numbered; each is counted once), from this process's start.
class SwitchoverTally {
  public:
    void add(const Snapshot& snap);
    const std::map<SwitchoverReason, std::uint64_t>& counts() const { return counts_; }

  private:
    std::map<SwitchoverReason, std::uint64_t> counts_;
    std::uint32_t lastIndex_ = 0;
};

// A label value as the text format wants it: backslash, double quote and newline escaped.
std::string escapeLabel(std::string_view v);
// A sample value: integers without a fraction, NaN and +Inf/-Inf spelled as Prometheus does.
std::string sampleValue(double v);
// IPMI exporter sensor state: 0 nominal, 1 warning, 2 critical, NaN otherwise.
double ipmiSensorState(SensorState s);

std::string renderMetrics(const Snapshot& snap, const SwitchoverTally& tally);

} // namespace hs::metrics

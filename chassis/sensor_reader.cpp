#include "chassis/sensor_reader.hpp"

#include "chassis/ipmi_error.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/core.h>
#include <freeipmi/freeipmi.h>
#include <ipmi_monitoring.h>
#include <mutex>
#include <sys/stat.h>

namespace hs::chassis {
namespace {

std::once_flag gInitOnce;
int gInitErr = 0;

int monitoringPrivilege(Privilege p) {
    switch (p) {
    case Privilege::User:
        return IPMI_MONITORING_PRIVILEGE_LEVEL_USER;
    case Privilege::Operator:
        return IPMI_MONITORING_PRIVILEGE_LEVEL_OPERATOR;
    case Privilege::Admin:
        return IPMI_MONITORING_PRIVILEGE_LEVEL_ADMIN;
    }
    return IPMI_MONITORING_PRIVILEGE_LEVEL_ADMIN;
}

std::string typeName(int t) {
    switch (t) {
    case IPMI_MONITORING_SENSOR_TYPE_TEMPERATURE:
        return "Temperature";
    case IPMI_MONITORING_SENSOR_TYPE_VOLTAGE:
        return "Voltage";
    case IPMI_MONITORING_SENSOR_TYPE_CURRENT:
        return "Current";
    case IPMI_MONITORING_SENSOR_TYPE_FAN:
        return "Fan";
    case IPMI_MONITORING_SENSOR_TYPE_POWER_SUPPLY:
        return "Power Supply";
    default:
        return fmt::format("type 0x{:02X}", t);
    }
}

std::string unitName(int u) {
    switch (u) {
    case IPMI_MONITORING_SENSOR_UNITS_CELSIUS:
        return "degrees C";
    case IPMI_MONITORING_SENSOR_UNITS_FAHRENHEIT:
        return "degrees F";
    case IPMI_MONITORING_SENSOR_UNITS_VOLTS:
        return "V";
    case IPMI_MONITORING_SENSOR_UNITS_AMPS:
        return "A";
    case IPMI_MONITORING_SENSOR_UNITS_RPM:
        return "RPM";
    case IPMI_MONITORING_SENSOR_UNITS_WATTS:
        return "W";
    case IPMI_MONITORING_SENSOR_UNITS_PERCENT:
        return "%";
    default:
        return "";
    }
}

SensorState stateOf(int s) {
    switch (s) {
    case IPMI_MONITORING_STATE_NOMINAL:
        return SensorState::Nominal;
    case IPMI_MONITORING_STATE_WARNING:
        return SensorState::Warning;
    case IPMI_MONITORING_STATE_CRITICAL:
        return SensorState::Critical;
    default:
        return SensorState::Unknown;
    }
}

SensorState stateFromThresholds(const SensorSnapshot& s) {
    double v = s.value;
    if ((s.upperCritical && v >= *s.upperCritical) || (s.lowerCritical && v <= *s.lowerCritical)) {
        return SensorState::Critical;
    }
    if ((s.upperNonCritical && v >= *s.upperNonCritical) ||
        (s.lowerNonCritical && v <= *s.lowerNonCritical)) {
        return SensorState::Warning;
    }
    return SensorState::Nominal;
}

// Newest "sdr-cache-*" file in the cache directory (libipmimonitoring names it after the host).
std::string newestCacheFile(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::string best;
    fs::file_time_type bestTime{};
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec) ||
            it->path().filename().string().rfind("sdr-cache-", 0) != 0) {
            continue;
        }
        auto t = it->last_write_time(ec);
        if (best.empty() || t > bestTime) {
            best = it->path().string();
            bestTime = t;
        }
    }
    return best;
}

} // namespace

SensorReader::SensorReader(BmcEndpoint endpoint, std::string sdrCacheDir)
    : ep_(std::move(endpoint)), cacheDir_(std::move(sdrCacheDir)) {
    useFreeipmiTexts();
    std::call_once(gInitOnce, [] {
        int err = 0;
        if (ipmi_monitoring_init(0, &err) < 0) {
            gInitErr = err ? err : IPMI_MONITORING_ERR_INTERNAL_ERROR;
        }
    });
}

SensorReader::~SensorReader() {
    if (ctx_) {
        ipmi_monitoring_ctx_destroy(ctx_);
    }
}

SensorReadResult SensorReader::read() {
    SensorReadResult res;
    if (gInitErr) {
        res.ec = ipmimonitoringError(gInitErr);
        res.errorText = "ipmi_monitoring_init failed";
        return res;
    }
    if (!ctx_) {
        std::error_code fsec;
        std::filesystem::create_directories(cacheDir_, fsec);
        ::chmod(cacheDir_.c_str(), 0700);
        ctx_ = ipmi_monitoring_ctx_create();
        if (!ctx_) {
            res.ec = ipmimonitoringError(IPMI_MONITORING_ERR_OUT_OF_MEMORY);
            res.errorText = "ipmi_monitoring_ctx_create failed";
            return res;
        }
        if (ipmi_monitoring_ctx_sdr_cache_directory(ctx_, cacheDir_.c_str()) < 0 ||
            ipmi_monitoring_ctx_sdr_cache_filenames(ctx_, "sdr-cache-%H") < 0) {
            res.ec = ipmimonitoringError(ipmi_monitoring_ctx_errnum(ctx_));
            res.errorText = fmt::format("SDR cache directory {}: {}", cacheDir_,
                                        ipmi_monitoring_ctx_errormsg(ctx_));
            ipmi_monitoring_ctx_destroy(ctx_);
            ctx_ = nullptr;
            return res;
        }
    }
    ipmi_monitoring_ipmi_config cfg{};
    cfg.driver_type = -1;
    cfg.protocol_version = IPMI_MONITORING_PROTOCOL_VERSION_2_0;
    cfg.username = ep_.user.empty() ? nullptr : const_cast<char*>(ep_.user.c_str());
    cfg.password = ep_.password.empty() ? nullptr : const_cast<char*>(ep_.password.c_str());
    cfg.privilege_level = monitoringPrivilege(ep_.privilege);
    cfg.authentication_type = -1;
    cfg.cipher_suite_id = ep_.cipherSuite;
    cfg.session_timeout_len = static_cast<int>(ep_.sessionTimeout.count());
    cfg.retransmission_timeout_len = static_cast<int>(ep_.retransmissionTimeout.count());
    cfg.workaround_flags = ep_.workaroundFlags; // same bit values as FreeIPMI's outofband 2.0
    if (ep_.interface == BmcInterface::Inband) {
        cfg.driver_device =
            ep_.driverDevice.empty() ? nullptr : const_cast<char*>(ep_.driverDevice.c_str());
    }
    std::string target = ep_.target();
    const char* host = ep_.interface == BmcInterface::Lanplus ? target.c_str() : nullptr;
    int n = ipmi_monitoring_sensor_readings_by_record_id(ctx_, host, &cfg, 0, nullptr, 0, nullptr,
                                                         nullptr);
    if (n < 0) {
        res.ec = ipmimonitoringError(ipmi_monitoring_ctx_errnum(ctx_));
        const char* msg = ipmi_monitoring_ctx_errormsg(ctx_);
        res.errorText = msg ? msg : "unknown error";
        return res;
    }
    if (!thresholdsLoaded_) {
        loadThresholds();
    }
    std::vector<std::pair<int, SensorSnapshot>> rows;
    for (int i = 0; i < n; ++i) {
        int stype = ipmi_monitoring_sensor_read_sensor_type(ctx_);
        if (stype < 0 || stype > 0xFF) {
            // Not a sensor (e.g. the MC locator record): nothing to read.
            if (ipmi_monitoring_sensor_iterator_next(ctx_) <= 0) {
                break;
            }
            continue;
        }
        SensorSnapshot s;
        int rid = ipmi_monitoring_sensor_read_record_id(ctx_);
        const char* name = ipmi_monitoring_sensor_read_sensor_name(ctx_);
        s.name = name ? name : fmt::format("record {}", rid);
        s.type = typeName(stype);
        s.unit = unitName(ipmi_monitoring_sensor_read_sensor_units(ctx_));
        s.state = stateOf(ipmi_monitoring_sensor_read_sensor_state(ctx_));
        void* reading = ipmi_monitoring_sensor_read_sensor_reading(ctx_);
        int rtype = ipmi_monitoring_sensor_read_sensor_reading_type(ctx_);
        if (reading && rtype == IPMI_MONITORING_SENSOR_READING_TYPE_DOUBLE) {
            s.value = *static_cast<double*>(reading);
            s.valueValid = true;
        } else if (reading && rtype == IPMI_MONITORING_SENSOR_READING_TYPE_UNSIGNED_INTEGER32) {
            s.value = *static_cast<std::uint32_t*>(reading);
            s.valueValid = true;
        } else if (reading && rtype == IPMI_MONITORING_SENSOR_READING_TYPE_UNSIGNED_INTEGER8_BOOL) {
            s.value = *static_cast<std::uint8_t*>(reading);
            s.valueValid = true;
        }
        if (auto it = thresholds_.find(rid); it != thresholds_.end()) {
            s.lowerNonCritical = it->second.lnc;
            s.lowerCritical = it->second.lc;
            s.upperNonCritical = it->second.unc;
            s.upperCritical = it->second.uc;
            s.lowerNonRecoverable = it->second.lnr;
            s.upperNonRecoverable = it->second.unr;
        }
        if (!s.valueValid) {
            s.state = SensorState::Unavailable;
        } else {
            // FreeIPMI's default interpretation calls a crossed non-critical threshold
            // "Nominal"; the thresholds decide here, the worse of the two wins.
            s.state = std::max(s.state, stateFromThresholds(s));
        }
        rows.emplace_back(rid, std::move(s));
        if (ipmi_monitoring_sensor_iterator_next(ctx_) <= 0) {
            break;
        }
    }
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::uint32_t index = 1;
    for (auto& [rid, s] : rows) {
        s.index = index++;
        res.sensors.push_back(std::move(s));
    }
    return res;
}

void SensorReader::loadThresholds() {
    std::string file = newestCacheFile(cacheDir_);
    if (file.empty()) {
        return;
    }
    ipmi_sdr_ctx_t sdr = ipmi_sdr_ctx_create();
    if (!sdr) {
        return;
    }
    if (ipmi_sdr_cache_open(sdr, nullptr, file.c_str()) == 0) {
        std::uint16_t count = 0;
        ipmi_sdr_cache_record_count(sdr, &count);
        for (std::uint16_t i = 0; i < count; ++i, ipmi_sdr_cache_next(sdr)) {
            std::uint8_t buf[IPMI_SDR_MAX_RECORD_LENGTH];
            int len = ipmi_sdr_cache_record_read(sdr, buf, sizeof(buf));
            std::uint16_t rid = 0;
            std::uint8_t rtype = 0;
            if (len <= 0 ||
                ipmi_sdr_parse_record_id_and_type(sdr, buf, static_cast<unsigned>(len), &rid,
                                                  &rtype) < 0 ||
                rtype != IPMI_SDR_FORMAT_FULL_SENSOR_RECORD) {
                continue;
            }
            double *lnc = nullptr, *lc = nullptr, *lnr = nullptr, *unc = nullptr, *uc = nullptr,
                   *unr = nullptr;
            if (ipmi_sdr_parse_thresholds(sdr, buf, static_cast<unsigned>(len), &lnc, &lc, &lnr,
                                          &unc, &uc, &unr) == 0) {
                Thresholds t;
                // Only thresholds the SDR declares readable count; the others read as 0.
                std::uint8_t rl = 0, rlc = 0, rlnr = 0, ru = 0, ruc = 0, runr = 0;
                if (ipmi_sdr_parse_threshold_readable(sdr, buf, static_cast<unsigned>(len), &rl,
                                                      &rlc, &rlnr, &ru, &ruc, &runr) == 0) {
                    if (rl && lnc) {
                        t.lnc = *lnc;
                    }
                    if (rlc && lc) {
                        t.lc = *lc;
                    }
                    if (ru && unc) {
                        t.unc = *unc;
                    }
                    if (ruc && uc) {
                        t.uc = *uc;
                    }
                    if (rlnr && lnr) {
                        t.lnr = *lnr;
                    }
                    if (runr && unr) {
                        t.unr = *unr;
                    }
                }
                thresholds_[rid] = t;
            }
            free(lnc);
            free(lc);
            free(lnr);
            free(unc);
            free(uc);
            free(unr);
        }
        ipmi_sdr_cache_close(sdr);
        thresholdsLoaded_ = true;
    }
    ipmi_sdr_ctx_destroy(sdr);
}

} // namespace hs::chassis

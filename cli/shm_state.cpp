#include "cli/shm_state.hpp"

#include "base/types.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hs::cli {

namespace {

using nlohmann::json;

constexpr int kReadTries = 10000;

// The names of the record kinds (repl/hs_shm.h; the same codes as repl::RecordKind).
std::string kindName(std::uint8_t k) {
    switch (k) {
    case 1:
        return "fan_mode";
    case 2:
        return "fan_floor";
    case 3:
        return "power_request";
    case 4:
        return "preemption";
    case 5:
        return "setting";
    case 16:
        return "journal";
    case 17:
        return "chassis_event";
    case 32:
        return "sensor";
    case 33:
        return "power";
    case 34:
        return "fan";
    case 35:
        return "bmc";
    default:
        return fmt::format("kind_{}", k);
    }
}

template <typename E> std::string codeName(std::int64_t code) {
    if (code < 0 || code > 255) {
        return fmt::format("code_{}", code);
    }
    return snakeCase(toString(static_cast<E>(code)));
}

std::string settingName(std::uint32_t id) {
    switch (id) {
    case 1:
        return "log_level";
    case 2:
        return "switchover_rate_max";
    case 3:
        return "switchover_hold_ms";
    default:
        return fmt::format("setting_{}", id);
    }
}

std::string textOf(const hs_shm_record& r) {
    const char* end = static_cast<const char*>(std::memchr(r.text, '\0', sizeof r.text));
    return {r.text, end ? static_cast<std::size_t>(end - r.text) : sizeof r.text};
}

// The fields of a record by kind, as repl/hs_shm.h documents them.
json fields(const hs_shm_record& r) {
    const std::int64_t* i = r.i;
    switch (r.kind) {
    case 1:
        return {{"mode", codeName<FanMode>(i[0])}};
    case 2:
        return {{"zone", r.index}, {"duty_pct", i[0] < 0 ? json(nullptr) : json(i[0])}};
    case 3:
        return {{"request_id", i[0]},
                {"transition", codeName<PowerControl>(i[1])},
                {"requested_unix_ms", i[2]},
                {"deadline_unix_ms", i[3]},
                {"outcome", codeName<PowerOutcome>(i[4])},
                {"outcome_unix_ms", i[5]}};
    case 4:
        return {{"enabled", i[0] != 0}};
    case 5:
        return {{"setting", settingName(r.index)}, {"value", i[0]}};
    case 16:
        return {{"unix_ms", i[0]},
                {"reason", codeName<SwitchoverReason>(i[1])},
                {"from", codeName<Role>(i[2])},
                {"to", codeName<Role>(i[3])},
                {"epoch", i[4]},
                {"lag_records", i[5]},
                {"lag_ms", i[6]}};
    case 17:
        return {{"unix_ms", i[0]},
                {"type", codeName<EventType>(i[1])},
                {"object", i[2]},
                {"value", r.d[0]},
                {"text", textOf(r)}};
    case 32:
        return {{"sensor", r.index},
                {"value", r.d[0]},
                {"valid", i[0] != 0},
                {"state", codeName<SensorState>(i[1])},
                {"read_unix_ms", i[2]}};
    case 33:
        return {{"state", codeName<PowerState>(i[0])}, {"unix_ms", i[1]}};
    case 34:
        return {{"zone", r.index},
                {"duty_pct", i[0]},
                {"mode", codeName<FanMode>(i[1])},
                {"failed", i[2] != 0},
                {"rpm", i[3] != 0 ? json(r.d[0]) : json(nullptr)}};
    case 35:
        return {{"access", codeName<BmcAccess>(i[0])}, {"last_error", textOf(r)}};
    default:
        return json::object();
    }
}

json recordJson(const hs_shm_record& r) {
    return {{"kind", kindName(r.kind)}, {"kind_code", r.kind},
            {"index", r.index},         {"stream", r.stream == 0 ? "ordered" : "telemetry"},
            {"epoch", r.epoch},         {"seq", r.seq},
            {"fields", fields(r)}};
}

std::string readinessName(std::uint32_t r) {
    switch (r) {
    case 0:
        return "cold";
    case 1:
        return "syncing";
    case 2:
        return "hot";
    default:
        return fmt::format("code_{}", r);
    }
}

// A field's value as one short string for the table.
std::string flat(const json& v) {
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_null()) {
        return "na";
    }
    return v.dump();
}

struct Mapping {
    void* base = MAP_FAILED;
    std::size_t size = 0;
    Mapping() = default;
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() {
        if (base != MAP_FAILED) {
            munmap(base, size);
        }
    }
};

std::string shmErrorText(int rc) {
    switch (rc) {
    case HS_SHM_ETOOSMALL:
        return "the region is smaller than its header says";
    case HS_SHM_EMAGIC:
        return "not a hotstandby region (wrong magic)";
    case HS_SHM_EVERSION:
        return "layout version differs from this hsctl's (" + std::to_string(HS_SHM_VERSION) +
               "): use the hsctl of the running hotstandbyd";
    case HS_SHM_ELAYOUT:
        return "header or record size differ from this hsctl's layout";
    case HS_SHM_EBUSY:
        return "the daemon kept writing through every try";
    default:
        return "error " + std::to_string(rc);
    }
}

} // namespace

ShmCopy readShm(const std::string& name) {
    int fd = shm_open(name.c_str(), O_RDONLY, 0);
    if (fd < 0) {
        int e = errno;
        throw ShmError(fmt::format("shared memory {}: {}{}", name, std::strerror(e),
                                   e == ENOENT ? " (is hotstandbyd running with node.shm_name = "
                                                 "this name? see --shm)"
                                               : ""));
    }
    struct stat st {};
    Mapping m;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        m.size = static_cast<std::size_t>(st.st_size);
        m.base = mmap(nullptr, m.size, PROT_READ, MAP_SHARED, fd, 0);
    }
    int e = errno;
    close(fd);
    if (m.base == MAP_FAILED) {
        throw ShmError(fmt::format("shared memory {}: {}", name,
                                   st.st_size > 0 ? std::strerror(e) : "empty region"));
    }
    ShmCopy c;
    int rc = hs_shm_check(m.base, m.size);
    if (rc != HS_SHM_OK) {
        throw ShmError(fmt::format("shared memory {}: {}", name, shmErrorText(rc)));
    }
    const auto* h = static_cast<const hs_shm_header*>(m.base);
    c.records.resize(std::max<std::uint32_t>(h->capacity, 1));
    rc = hs_shm_read(m.base, m.size, &c.header, c.records.data(),
                     static_cast<std::uint32_t>(c.records.size()), kReadTries);
    if (rc < 0) {
        throw ShmError(fmt::format("shared memory {}: {}", name, shmErrorText(rc)));
    }
    c.records.resize(static_cast<std::size_t>(rc));
    return c;
}

json stateJson(const std::string& name, const ShmCopy& c) {
    const hs_shm_header& h = c.header;
    json records = json::array();
    for (const auto& r : c.records) {
        records.push_back(recordJson(r));
    }
    return {{"shm_name", name},
            {"version", h.version},
            {"generation", h.generation},
            {"published_unix_ms", h.published_unix_ms},
            {"role", codeName<Role>(h.role)},
            {"readiness", readinessName(h.readiness)},
            {"epoch", h.epoch},
            {"seq_ordered", h.seq[0]},
            {"seq_telemetry", h.seq[1]},
            {"digest_ordered", fmt::format("{:016x}", h.digest[0])},
            {"digest_telemetry", fmt::format("{:016x}", h.digest[1])},
            {"lag_records", h.lag_records},
            {"capacity", h.capacity},
            {"count", h.count},
            {"truncated", h.truncated != 0},
            {"records", std::move(records)}};
}

json eventsJson(const ShmCopy& c) {
    json events = json::array();
    for (const auto& r : c.records) {
        if (r.kind != 17) {
            continue;
        }
        json e = fields(r);
        e["number"] = r.index;
        e["epoch"] = r.epoch;
        e["seq"] = r.seq;
        events.push_back(std::move(e));
    }
    return {{"events", std::move(events)}};
}

namespace {
void table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> w;
    for (const auto& row : rows) {
        w.resize(std::max(w.size(), row.size()));
        for (std::size_t i = 0; i < row.size(); ++i) {
            w[i] = std::max(w[i], row[i].size());
        }
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += i + 1 < row.size() ? fmt::format("{:<{}} | ", row[i], w[i]) : row[i];
        }
        out << line << '\n';
    }
}
} // namespace

void renderState(std::ostream& out, const json& s) {
    auto line = [&out](std::string_view k, const std::string& v) {
        out << fmt::format("{:<20}: {}\n", k, v);
    };
    line("Shared Memory", flat(s.at("shm_name")) + " (layout " + flat(s.at("version")) + ")");
    line("Role", flat(s.at("role")));
    line("Readiness", flat(s.at("readiness")));
    line("Epoch", flat(s.at("epoch")));
    line("Ordered Seq",
         flat(s.at("seq_ordered")) + " (digest " + flat(s.at("digest_ordered")) + ")");
    line("Telemetry Seq",
         flat(s.at("seq_telemetry")) + " (digest " + flat(s.at("digest_telemetry")) + ")");
    line("Lag Records", flat(s.at("lag_records")));
    line("Generation", flat(s.at("generation")));
    line("Records", flat(s.at("count")) + " of " + flat(s.at("capacity")) +
                        (s.value("truncated", false) ? " (truncated)" : ""));
    out << '\n';
    std::vector<std::vector<std::string>> rows{{"Kind", "Index", "Epoch", "Seq", "Fields"}};
    for (const auto& r : s.at("records")) {
        std::string f;
        for (const auto& [k, v] : r.at("fields").items()) {
            f += (f.empty() ? "" : " ") + k + "=" + flat(v);
        }
        rows.push_back(
            {flat(r.at("kind")), flat(r.at("index")), flat(r.at("epoch")), flat(r.at("seq")), f});
    }
    table(out, rows);
}

void renderEvents(std::ostream& out, const json& e) {
    const json& events = e.at("events");
    if (events.empty()) {
        out << "No chassis events\n";
        return;
    }
    std::vector<std::vector<std::string>> rows{
        {"Number", "Epoch", "Seq", "Unix ms", "Type", "Object", "Value", "Text"}};
    for (const auto& ev : events) {
        rows.push_back({flat(ev.at("number")), flat(ev.at("epoch")), flat(ev.at("seq")),
                        flat(ev.at("unix_ms")), flat(ev.at("type")), flat(ev.at("object")),
                        flat(ev.at("value")), flat(ev.at("text"))});
    }
    table(out, rows);
}

} // namespace hs::cli

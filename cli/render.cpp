#include "cli/render.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <string>
#include <vector>

namespace hs::cli {
namespace {

using nlohmann::json;
using Row = std::vector<std::string>;

// A scalar as text: strings as they are, numbers, yes/no, "na" for null or missing.
std::string text(const json& j, std::string_view key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        return "na";
    }
    if (it->is_string()) {
        return it->get<std::string>();
    }
    if (it->is_boolean()) {
        return it->get<bool>() ? "yes" : "no";
    }
    return it->dump();
}

void field(std::ostream& out, std::string_view name, std::string_view value) {
    out << fmt::format("{:<21}: {}\n", name, value);
}

// Columns padded to their widest cell, separated by SEP.
void table(std::ostream& out, const std::vector<Row>& rows, std::string_view sep) {
    std::vector<std::size_t> width;
    for (const auto& r : rows) {
        width.resize(std::max(width.size(), r.size()));
        for (std::size_t i = 0; i < r.size(); ++i) {
            width[i] = std::max(width[i], r[i].size());
        }
    }
    for (const auto& r : rows) {
        std::string line;
        for (std::size_t i = 0; i < r.size(); ++i) {
            bool last = i + 1 == r.size();
            line += last ? r[i] : fmt::format("{:<{}}{}", r[i], width[i], sep);
        }
        out << line << '\n';
    }
}

std::string sensorStatus(const std::string& state) {
    if (state == "nominal") {
        return "ok";
    }
    if (state == "warning") {
        return "nc";
    }
    if (state == "critical") {
        return "cr";
    }
    return "na";
}

// ipmitool's unit words (lib/ipmi_sdr.c unit_desc) for the daemon's unit names.
std::string ipmitoolUnit(const std::string& unit) {
    if (unit == "V") {
        return "Volts";
    }
    if (unit == "A") {
        return "Amps";
    }
    if (unit == "W") {
        return "Watts";
    }
    if (unit == "%") {
        return "percent";
    }
    if (unit.empty()) {
        return "unspecified";
    }
    return unit; // "degrees C", "degrees F", "RPM" are ipmitool's words already
}

} // namespace

// One line of `hsctl status`: the store's role and state, as `hsctl replication` details it.
std::string replicationSummary(const json& r) {
    std::string line;
    if (text(r, "store_role") == "writer") {
        line = r.value("standby_joined", false)
                   ? fmt::format("writer, standby joined, lag {} records", text(r, "lag_records"))
                   : std::string("writer, no standby joined");
    } else {
        line =
            fmt::format("mirror, {}, lag {} records", text(r, "readiness"), text(r, "lag_records"));
        if (auto ms = r.find("lag_ms"); ms != r.end() && ms->is_number()) {
            line += fmt::format(" ({} ms)", ms->dump());
        }
    }
    if (r.value("degraded", false)) {
        line += ", DEGRADED";
    }
    return line;
}

void renderStatus(std::ostream& out, const json& s) {
    const json& peer = s.at("peer");
    field(out, "Role", text(s, "role"));
    field(out, "Node", fmt::format("{} (slot {})", text(s, "node_id"), text(s, "slot")));
    field(out, "Epoch", text(s, "epoch"));
    field(out, "Unconfirmed", text(s, "unconfirmed"));
    field(out, "Peer",
          peer.value("alive", false)
              ? fmt::format("alive, {} (node {}, slot {})", text(peer, "role"),
                            text(peer, "node_id"), text(peer, "slot"))
              : std::string("not seen"));
    field(out, "Redundancy", text(s, "redundancy"));
    std::string last;
    if (s.contains("last_switchover")) {
        last = fmt::format(" (last: {})", text(s.at("last_switchover"), "reason"));
    }
    field(out, "Switchovers", text(s, "switchover_count") + last);
    if (auto g = s.find("switchover_guard"); g != s.end() && g->is_object()) {
        const std::int64_t windowS = g->value("window_ms", std::int64_t{0}) / 1000;
        std::string guard;
        if (g->value("limit", 0) == 0) {
            guard = "off";
        } else if (g->value("holding", false)) {
            guard = fmt::format("HOLD-DOWN, {} s left: manual switchovers refused (limit {} in "
                                "{} s)",
                                (g->value("holddown_left_ms", std::int64_t{0}) + 999) / 1000,
                                text(*g, "limit"), windowS);
        } else {
            guard = fmt::format("{} of {} in {} s", text(*g, "recent"), text(*g, "limit"), windowS);
        }
        field(out, "Switchover Guard", guard);
    }
    if (auto r = s.find("replication"); r != s.end() && r->is_object() && !r->empty()) {
        field(out, "Replication", replicationSummary(*r));
    }
    out << '\n';
    renderPaths(out, s);
    if (s.contains("addresses") && !s.at("addresses").empty()) {
        out << '\n';
        renderAddresses(out, s);
    }
}

void renderAddresses(std::ostream& out, const json& s) {
    if (!s.contains("addresses") || s.at("addresses").empty()) {
        out << "No floating addresses configured\n";
        return;
    }
    std::vector<Row> rows{{"Address", "Interface", "Held", "Announced", "Errors", "Last error"}};
    for (const auto& a : s.at("addresses")) {
        rows.push_back(
            {text(a, "address") + "/" + text(a, "prefix"), text(a, "interface"),
             a.value("held", false) ? "yes" : "no", text(a, "announced"), text(a, "errors"),
             a.value("last_error", std::string()).empty() ? std::string("-")
                                                          : a.value("last_error", std::string())});
    }
    table(out, rows, "  ");
}

void renderPaths(std::ostream& out, const json& s) {
    std::vector<Row> rows{{"Path", "Type", "State", "RTT(us)", "RX", "TX", "Missed", "Auth-fail",
                           "Foreign", "Endpoint"}};
    for (const auto& p : s.at("paths")) {
        rows.push_back({text(p, "name"), text(p, "type"), text(p, "state"), text(p, "rtt_us"),
                        text(p, "rx"), text(p, "tx"), text(p, "missed"), text(p, "auth_failures"),
                        text(p, "foreign"), text(p, "endpoint")});
    }
    table(out, rows, "  ");
}

void renderJournal(std::ostream& out, const json& j) {
    std::vector<Row> rows{{"#", "Time (unix ms)", "Reason", "From", "To", "Epoch"}};
    for (const auto& r : j.at("records")) {
        rows.push_back({text(r, "index"), text(r, "unix_ms"), text(r, "reason"), text(r, "from"),
                        text(r, "to"), text(r, "epoch")});
    }
    if (rows.size() == 1) {
        out << "No switchovers recorded\n";
        return;
    }
    table(out, rows, "  ");
}

void renderReplication(std::ostream& out, const json& r) {
    if (r.empty()) {
        out << "No replication status (daemon without replication)\n";
        return;
    }
    field(out, "Store", text(r, "store_role"));
    if (text(r, "store_role") == "mirror") {
        field(out, "Readiness", text(r, "readiness"));
    } else {
        field(out, "Standby Joined", r.value("standby_joined", false) ? "yes" : "no");
    }
    field(out, "Degraded", r.value("degraded", false) ? "yes" : "no");
    field(out, "Epoch", text(r, "epoch"));
    field(out, "Records", text(r, "records"));
    field(out, "Ordered Seq",
          text(r, "seq_ordered") + " (digest " + text(r, "digest_ordered") + ")");
    field(out, "Telemetry Seq",
          text(r, "seq_telemetry") + " (digest " + text(r, "digest_telemetry") + ")");
    field(out, "Lag Records", text(r, "lag_records"));
    field(out, "Lag ms", text(r, "lag_ms"));
    field(out, "Lag At Takeover",
          text(r, "lag_at_takeover_records") + " records, " + text(r, "lag_at_takeover_ms") +
              " ms");
    auto c = r.find("counters");
    if (c != r.end() && c->is_object()) {
        std::vector<Row> rows{{"Counter", "Value"}};
        for (const auto& [k, v] : c->items()) {
            rows.push_back({k, v.dump()});
        }
        out << '\n';
        table(out, rows, "  ");
    }
}

// ipmitool's `chassis status` (lib/ipmi_chassis.c ipmi_chassis_status), line for line, from
// the BMC's Get Chassis Status reply the daemon read ("bmc_status"; before its first reply only
// the power line). Then, after a blank line, the daemon's own fields.
void renderChassisStatus(std::ostream& out, const json& c) {
    auto flag = [](const json& j, std::string_view key, std::string_view yes, std::string_view no) {
        return j.value(key, false) ? yes : no;
    };
    field(out, "System Power", text(c, "power"));
    auto bs = c.find("bmc_status");
    if (bs != c.end() && bs->is_object()) {
        const json& b = *bs;
        field(out, "Power Overload", flag(b, "power_overload", "true", "false"));
        field(out, "Power Interlock", flag(b, "power_interlock", "active", "inactive"));
        field(out, "Main Power Fault", flag(b, "main_power_fault", "true", "false"));
        field(out, "Power Control Fault", flag(b, "power_control_fault", "true", "false"));
        std::string policy = text(b, "power_restore_policy");
        std::replace(policy.begin(), policy.end(), '_', '-');
        field(out, "Power Restore Policy", policy);
        std::string events;
        for (const auto& e : b.value("last_power_event", json::array())) {
            std::string word = e.get<std::string>();
            std::replace(word.begin(), word.end(), '_', '-');
            events += word == "command" ? word : word + " "; // ipmitool's spacing
        }
        field(out, "Last Power Event", events);
        field(out, "Chassis Intrusion", flag(b, "chassis_intrusion", "active", "inactive"));
        field(out, "Front-Panel Lockout", flag(b, "front_panel_lockout", "active", "inactive"));
        field(out, "Drive Fault", flag(b, "drive_fault", "true", "false"));
        field(out, "Cooling/Fan Fault", flag(b, "cooling_fan_fault", "true", "false"));
        auto fp = b.find("front_panel");
        if (fp != b.end() && fp->is_object()) {
            const json& f = *fp;
            bool any = false;
            for (const auto& [key, value] : f.items()) {
                any = any || value.get<bool>();
            }
            if (!any) {
                field(out, "Front Panel Control", "none");
            } else {
                field(out, "Sleep Button Disable",
                      flag(f, "sleep_disable_allowed", "allowed", "not allowed"));
                field(out, "Diag Button Disable",
                      flag(f, "diag_disable_allowed", "allowed", "not allowed"));
                field(out, "Reset Button Disable",
                      flag(f, "reset_disable_allowed", "allowed", "not allowed"));
                field(out, "Power Button Disable",
                      flag(f, "power_disable_allowed", "allowed", "not allowed"));
                field(out, "Sleep Button Disabled", flag(f, "sleep_disabled", "true", "false"));
                field(out, "Diag Button Disabled", flag(f, "diag_disabled", "true", "false"));
                field(out, "Reset Button Disabled", flag(f, "reset_disabled", "true", "false"));
                field(out, "Power Button Disabled", flag(f, "power_disabled", "true", "false"));
            }
        }
    }
    out << '\n';
    field(out, "Requested Transition", text(c, "requested"));
    field(out, "BMC Access", text(c, "bmc_access"));
    field(out, "Fan Profile", text(c, "fan_profile"));
    field(out, "Fan Fail-Safe", text(c, "fail_safe"));
    std::string err = text(c, "last_error");
    field(out, "Last Error", err.empty() ? "none" : err);
}

void renderPowerStatus(std::ostream& out, const json& p) {
    out << "Chassis Power is " << text(p, "power") << '\n';
}

void renderPowerAction(std::ostream& out, std::string_view action) {
    std::string_view what = action == "on"      ? "Up/On"
                            : action == "off"   ? "Down/Off"
                            : action == "cycle" ? "Cycle"
                            : action == "reset" ? "Reset"
                                                : "Soft";
    out << "Chassis Power Control: " << what << '\n';
}

// ipmitool's `sensor list`, byte for byte (lib/ipmi_sensor.c): name "%-16s ", then
// "| %-10.3f " reading, "| %-10s " unit word, "| %-6s" status, and six "| %-10.3f" thresholds in
// the order lnr, lcr, lnc, unc, ucr, unr ("| %-10s" with "na" when the sensor has none). A sensor
// without a reading prints "na" for reading and status.
void renderSensorList(std::ostream& out, const json& j) {
    for (const auto& s : j.at("sensors")) {
        std::string line = fmt::format("{:<16} ", text(s, "name"));
        const std::string unit = ipmitoolUnit(s.contains("unit") && s.at("unit").is_string()
                                                  ? s.at("unit").get<std::string>()
                                                  : std::string());
        auto v = s.find("value");
        if (v != s.end() && v->is_number()) {
            line += fmt::format("| {:<10.3f} | {:<10} | {:<6}", v->get<double>(), unit,
                                sensorStatus(text(s, "state")));
        } else {
            line += fmt::format("| {:<10} | {:<10} | {:<6}", "na", unit, "na");
        }
        for (const char* key : {"lower_non_recoverable", "lower_critical", "lower_non_critical",
                                "upper_non_critical", "upper_critical", "upper_non_recoverable"}) {
            auto t = s.find(key);
            line += t != s.end() && t->is_number() ? fmt::format("| {:<10.3f}", t->get<double>())
                                                   : fmt::format("| {:<10}", "na");
        }
        out << line << '\n';
    }
}

void renderFanStatus(std::ostream& out, const json& f) {
    field(out, "Fan Mode", text(f, "mode"));
    field(out, "Fan Profile", text(f, "profile"));
    field(out, "Fail-Safe", text(f, "fail_safe"));
    std::vector<Row> rows{{"Zone", "Name", "Duty %", "RPM", "Mode", "Status"}};
    for (const auto& z : f.at("fans")) {
        rows.push_back({text(z, "zone"), text(z, "name"), text(z, "duty_pct"), text(z, "rpm"),
                        text(z, "mode"), z.value("failed", false) ? "failed" : "ok"});
    }
    out << '\n';
    table(out, rows, "  ");
}

void renderMessage(std::ostream& out, std::string_view what, const json& result) {
    std::string msg = result.is_object() ? text(result, "message") : std::string("na");
    out << what << (msg == "na" || msg.empty() ? "" : ": " + msg) << '\n';
}

} // namespace hs::cli

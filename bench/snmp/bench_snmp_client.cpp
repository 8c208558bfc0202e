// SNMP client half of bench/snmp: interleaved GETs of one HOTSTANDBY-MIB scalar (through AgentX)
// and of sysUpTime.0 (native to snmpd), then full walks of the MIB. Prints
//   snmp get_median_us=... native_get_median_us=... ratio=...
//   walk_ms=... walk_varbinds=... bulkwalk_ms=...
// Usage: bench_snmp_client HOST:PORT COMMUNITY [GETS] [WALKS]
#include "subagent/mib_oids.hpp"

// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
// clang-format on

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <fmt/core.h>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Session {
    void* handle = nullptr;
};

std::vector<oid> toOid(const hs::subagent::Oid& o) {
    return {o.begin(), o.end()};
}

// One request; returns the response PDU (caller frees) or nullptr.
netsnmp_pdu* request(Session& s, int command, const std::vector<oid>& name, int repeaters = 0) {
    netsnmp_pdu* pdu = snmp_pdu_create(command);
    if (command == SNMP_MSG_GETBULK) {
        pdu->non_repeaters = 0;
        pdu->max_repetitions = repeaters;
    }
    snmp_add_null_var(pdu, name.data(), name.size());
    netsnmp_pdu* response = nullptr;
    int rc = snmp_sess_synch_response(s.handle, pdu, &response);
    if (rc != STAT_SUCCESS || response == nullptr || response->errstat != SNMP_ERR_NOERROR) {
        if (response != nullptr) {
            snmp_free_pdu(response);
        }
        return nullptr;
    }
    return response;
}

double medianUs(std::vector<Clock::duration> v) {
    std::sort(v.begin(), v.end());
    return std::chrono::duration<double, std::micro>(v[v.size() / 2]).count();
}

bool inSubtree(const netsnmp_variable_list* vb, const std::vector<oid>& root) {
    return vb->type != SNMP_ENDOFMIBVIEW && vb->type != SNMP_NOSUCHOBJECT &&
           vb->type != SNMP_NOSUCHINSTANCE && vb->name_length >= root.size() &&
           std::equal(root.begin(), root.end(), vb->name);
}

// Walks ROOT with GETNEXT (bulk == 0) or GETBULK; returns the varbind count, -1 on error.
int walk(Session& s, const std::vector<oid>& root, int bulk) {
    std::vector<oid> cur = root;
    int count = 0;
    for (;;) {
        netsnmp_pdu* r = request(s, bulk ? SNMP_MSG_GETBULK : SNMP_MSG_GETNEXT, cur, bulk);
        if (r == nullptr) {
            return -1;
        }
        bool done = false;
        for (netsnmp_variable_list* vb = r->variables; vb != nullptr; vb = vb->next_variable) {
            if (!inSubtree(vb, root)) {
                done = true;
                break;
            }
            ++count;
            cur.assign(vb->name, vb->name + vb->name_length);
        }
        snmp_free_pdu(r);
        if (done || r == nullptr) {
            return count;
        }
    }
}

int toInt(const char* s, int dflt) {
    int v = dflt;
    std::from_chars(s, s + std::char_traits<char>::length(s), v);
    return v;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        fmt::print(stderr, "usage: {} HOST:PORT COMMUNITY [GETS] [WALKS]\n", argv[0]);
        return 2;
    }
    int gets = argc > 3 ? toInt(argv[3], 2000) : 2000;
    int walks = argc > 4 ? toInt(argv[4], 20) : 20;
    ::setenv("MIBS", "", 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    init_snmp("hs-bench");
    netsnmp_session cfg;
    snmp_sess_init(&cfg);
    cfg.version = SNMP_VERSION_2c;
    std::string peer = argv[1];
    std::string community = argv[2];
    cfg.peername = peer.data();
    cfg.community = reinterpret_cast<u_char*>(community.data());
    cfg.community_len = community.size();
    cfg.timeout = 2'000'000;
    cfg.retries = 0;
    Session s{snmp_sess_open(&cfg)};
    if (s.handle == nullptr) {
        fmt::print(stderr, "bench: cannot open a session to {}\n", peer);
        return 1;
    }
    using namespace hs::subagent;
    std::vector<oid> ours = toOid(scalarOid(mib::kGeneral, mib::LocalRole));
    std::vector<oid> native = {1, 3, 6, 1, 2, 1, 1, 3, 0}; // sysUpTime.0
    std::vector<Clock::duration> tOurs, tNative;
    for (int i = 0; i < gets + 50; ++i) { // 50 warm-up rounds
        for (int k = 0; k < 2; ++k) {
            const auto& name = k == 0 ? ours : native;
            auto t0 = Clock::now();
            netsnmp_pdu* r = request(s, SNMP_MSG_GET, name);
            auto dt = Clock::now() - t0;
            if (r == nullptr) {
                fmt::print(stderr, "bench: GET failed\n");
                return 1;
            }
            snmp_free_pdu(r);
            if (i >= 50) {
                (k == 0 ? tOurs : tNative).push_back(dt);
            }
        }
    }
    double mo = medianUs(tOurs);
    double mn = medianUs(tNative);
    fmt::print("snmp get_median_us={:.0f} native_get_median_us={:.0f} ratio={:.2f}\n", mo, mn,
               mo / mn);

    std::vector<oid> root = toOid(mibRoot());
    std::vector<Clock::duration> tWalk, tBulk;
    int n = 0;
    for (int i = 0; i < walks; ++i) {
        auto t0 = Clock::now();
        n = walk(s, root, 0);
        tWalk.push_back(Clock::now() - t0);
        t0 = Clock::now();
        walk(s, root, 25);
        tBulk.push_back(Clock::now() - t0);
    }
    auto ms = [](std::vector<Clock::duration> v) { return medianUs(std::move(v)) / 1000.0; };
    fmt::print("walk_ms={:.1f} walk_varbinds={} bulkwalk_ms={:.1f} (median of {} walks)\n",
               ms(tWalk), n, ms(tBulk), walks);
    snmp_sess_close(s.handle);
    snmp_shutdown("hs-bench");
    return n > 0 ? 0 : 1;
}

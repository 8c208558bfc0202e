// libFuzzer target: the SNMP SET checks (subagent/set_check with the control API's role checks)
// on any OID, type and value against a snapshot shaped by the input. An accepted SET is in range
// and, at the consistency stage, comes only to a node in the role that may act on it.
#include "subagent/set_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

using hs::Role;
using hs::subagent::Oid;

struct Input {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t byte() {
        if (n == 0) {
            return 0;
        }
        --n;
        return *p++;
    }
    std::uint32_t word() {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            v = (v << 8) | byte();
        }
        return v;
    }
};

hs::Snapshot makeSnapshot(Input& in) {
    hs::Snapshot s;
    std::uint8_t b = in.byte();
    s.local.role = static_cast<Role>(b % 5);
    s.local.slot = (b >> 3) & 1;
    s.unconfirmed = (b & 0x10) != 0;
    s.peerAlive = (b & 0x20) != 0;
    s.chassis.enabled = (b & 0x40) != 0;
    std::uint8_t p = in.byte();
    s.peer.role = static_cast<Role>(p % 5);
    s.peer.slot = 1 - s.local.slot;
    s.peer.nodeId = p >> 3;
    for (std::uint32_t z = 0, fans = in.byte() % 4; z < fans; ++z) {
        hs::FanSnapshot f;
        f.zone = z;
        f.name = "zone" + std::to_string(z);
        s.chassis.fans.push_back(f);
    }
    return s;
}

// Mostly OIDs under HOTSTANDBY-MIB (so the checks are reached), sometimes anything.
Oid makeOid(Input& in) {
    std::uint8_t shape = in.byte();
    Oid oid;
    if (shape & 1) {
        oid = hs::subagent::mibOid({});
    }
    std::size_t arcs = (shape >> 1) % 8;
    for (std::size_t i = 0; i < arcs; ++i) {
        std::uint8_t b = in.byte();
        oid.push_back(b & 0x80 ? in.word() : b);
    }
    return oid;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Input in{data, size};
    const hs::Snapshot snap = makeSnapshot(in);
    const Oid oid = makeOid(in);
    const std::uint8_t type = in.byte();
    const auto value = static_cast<std::int64_t>((std::uint64_t{in.word()} << 32) | in.word());
    for (auto stage : {hs::subagent::SetStage::Syntax, hs::subagent::SetStage::Consistency}) {
        hs::subagent::SetDecision d = hs::subagent::checkSet(oid, type, value, snap, stage);
        if (d.error != hs::subagent::SetError::NoError) {
            if (d.hasRequest || d.reason.empty()) {
                std::abort(); // a refusal acts on nothing and says why
            }
            continue;
        }
        if (!d.hasRequest) {
            continue;
        }
        const hs::ControlRequest& r = d.request;
        if (r.op == hs::ControlOp::FanDuty && (r.value < 0 || r.value > 100)) {
            std::abort();
        }
        if (stage != hs::subagent::SetStage::Consistency) {
            continue;
        }
        const bool takeover = r.op == hs::ControlOp::ForceTakeover;
        if (takeover ? snap.local.role != Role::Standby : snap.local.role != Role::Active) {
            std::abort(); // the role check let a write through to the wrong node
        }
    }
    return 0;
}

// `hsctl state` and `hsctl events`: the replicated store as the local hotstandbyd publishes it in
// POSIX shared memory (layout repl/hs_shm.h), read without the control socket: the region is
// mapped read-only and copied under its seqlock (retried while the daemon writes).
#pragma once

#include "repl/hs_shm.h"

#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace hs::cli {

// The region cannot be read: missing, not readable, or another layout.
struct ShmError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct ShmCopy {
    hs_shm_header header{};
    std::vector<hs_shm_record> records;
};

// Maps NAME ("/hotstandby") read-only and copies a consistent view. Throws ShmError.
ShmCopy readShm(const std::string& name);

// The whole region as JSON (header, then every record with its fields by kind).
nlohmann::json stateJson(const std::string& name, const ShmCopy& c);
// Only the chassis event log (kind 17 records), oldest first.
nlohmann::json eventsJson(const ShmCopy& c);

void renderState(std::ostream& out, const nlohmann::json& state);
void renderEvents(std::ostream& out, const nlohmann::json& events);

} // namespace hs::cli

// Where the replicated store leaves the core thread: its copy in the state directory (the file
// `replica`, written atomically off the core thread at a bounded rate) and its publication in
// POSIX shared memory (repl/hs_shm.h) for other management processes on the module.
#pragma once

#include "base/asio.hpp"
#include "base/types.hpp"
#include "repl/shm_writer.hpp"
#include "repl/store.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hs {

class Replication;

// Reads the store a previous run left in FILE. A missing file is an empty store; an unreadable
// or malformed one is an empty store and ERROR says why (the daemon logs it and goes on: the
// standby fetches the store from the active). Telemetry is not kept across a restart.
repl::Store loadReplica(const std::filesystem::path& file, std::string& error);

class ReplicaFiles {
  public:
    // SHMNAME empty: no shared memory.
    ReplicaFiles(asio::io_context& core, std::filesystem::path file, std::string shmName);
    ~ReplicaFiles();
    ReplicaFiles(const ReplicaFiles&) = delete;
    ReplicaFiles& operator=(const ReplicaFiles&) = delete;

    // Called every few hundred ms on the core thread: publishes the shared memory when the store
    // changed (at most every kShmEvery) and hands a snapshot to the writer thread when it changed
    // (at most every kSaveEvery, never two writes at once). A failed write is logged once (and
    // its recovery), the store in memory stays whole, the daemon keeps running.
    void update(const Replication& r, Role role, TimePoint now);
    // Blocking: the last state written before the daemon stops (clean stop).
    void flush(const Replication& r);

    static constexpr Duration kSaveEvery = milliseconds(1000);
    static constexpr Duration kShmEvery = milliseconds(200);
    static constexpr std::uint32_t kShmCapacity = 4096;

  private:
    void save(std::vector<std::uint8_t> bytes);
    void saved(std::error_code ec);

    asio::io_context& core_;
    std::filesystem::path file_;
    std::string shmName_;
    repl::ShmRegion shm_;
    asio::io_context worker_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::thread thread_;
    bool writing_ = false;
    bool failing_ = false;
    std::optional<std::uint64_t> savedGeneration_;
    std::optional<std::uint64_t> shmGeneration_;
    std::optional<TimePoint> savedAt_;
    std::optional<TimePoint> shmAt_;
    Role shmRole_ = Role::Init;
};

} // namespace hs

// The writer of the shared-memory copy of the store (layout: repl/hs_shm.h). The layout and the
// seqlock work on any byte buffer, so tests use plain memory; ShmRegion is the thin POSIX mapping
// the daemon will use.
#pragma once

#include "repl/hs_shm.h"
#include "repl/protocol.hpp"
#include "repl/store.hpp"

#include <cstdint>
#include <span>
#include <string>

namespace hs::repl {

struct ShmStatus {
    Role role = Role::Init;
    Readiness readiness = Readiness::Cold;
    std::uint64_t lagRecords = 0;
    std::int64_t unixMs = 0;
};

// Lays out an empty region for CAPACITY records in BUF; false if BUF is too small.
bool shmInit(std::span<std::uint8_t> buf, std::uint32_t capacity);
// Publishes STORE under the seqlock (records in key order; beyond capacity they are left out and
// `truncated` is set). False if BUF does not hold an initialised region.
bool shmPublish(std::span<std::uint8_t> buf, const Store& store, const ShmStatus& status);
// One record in the shared layout.
hs_shm_record toShm(const Record& r);

// A named POSIX shared-memory region (shm_open + mmap), created or resized by the writer.
class ShmRegion {
  public:
    ShmRegion() = default;
    ShmRegion(const ShmRegion&) = delete;
    ShmRegion& operator=(const ShmRegion&) = delete;
    ShmRegion(ShmRegion&& o) noexcept;
    ShmRegion& operator=(ShmRegion&& o) noexcept;
    ~ShmRegion();
    // Creates (mode 0644: readable by local processes, written by us only) and maps NAME ("/x").
    static ShmRegion create(const std::string& name, std::uint32_t capacity, std::string& error);
    static void unlink(const std::string& name);
    std::span<std::uint8_t> bytes() const { return {base_, size_}; }
    bool valid() const { return base_ != nullptr; }

  private:
    std::uint8_t* base_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace hs::repl

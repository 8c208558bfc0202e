// Durable node state in state_dir: the epoch (term, raised on every takeover), the incarnation
// (boot counter, raised on every start) and the peer's incarnation last followed (so that after a
// restart frames of older peer incarnations need more than a valid tag). Each lives in its own
// small text file written atomically (temp file, fsync, rename, fsync of the directory), mode 0600.
// A missing file means first start (0); a corrupt file is an error, never silently 0: a lost epoch
// could let a stale node win.
#pragma once

#include "base/asio.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>

namespace hs {

class StateError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A state file holds something other than what this daemon writes. Restarting cannot fix it: the
// daemon exits with kExitCorruptState, which the systemd unit names in RestartPreventExitStatus.
class CorruptStateError : public StateError {
  public:
    using StateError::StateError;
};
inline constexpr int kExitCorruptState = 65; // EX_DATAERR (sysexits.h)

// Writes CONTENT to FILE atomically and durably, mode 0600, through FILE.tmp: whatever is at that
// name (a stale temp file, a symbolic link) is removed first and the temp file is created with
// O_EXCL|O_NOFOLLOW, so nothing placed there is ever followed. Returns the first error.
std::error_code writeFileAtomic(const std::filesystem::path& file, std::string_view content);

class StateFiles {
  public:
    explicit StateFiles(std::filesystem::path dir);

    // Reads both files, raises the incarnation by one and persists it. Throws StateError.
    void load();

    std::uint64_t epoch() const { return m_epoch; }             // as loaded
    std::uint32_t incarnation() const { return m_incarnation; } // this run's (already persisted)
    const std::filesystem::path& dir() const { return m_dir; }
    std::filesystem::path epochFile() const { return m_dir / "epoch"; }
    std::filesystem::path incarnationFile() const { return m_dir / "incarnation"; }

    // Blocking (fsync): call it from a worker thread, never from the core thread. Thread-safe as
    // long as calls are not concurrent with each other (EpochPersister serialises them).
    std::error_code persistEpoch(std::uint64_t epoch) const;

    // Reads peer_incarnation (missing: 0). Throws StateError when it is corrupt.
    void loadPeerIncarnation();
    std::uint32_t peerIncarnation() const { return m_peerIncarnation; } // as loaded
    std::filesystem::path peerIncarnationFile() const { return m_dir / "peer_incarnation"; }
    // Blocking, like persistEpoch.
    std::error_code persistPeerIncarnation(std::uint32_t incarnation) const;

  private:
    std::filesystem::path m_dir;
    std::uint64_t m_epoch = 0;
    std::uint32_t m_incarnation = 0;
    std::uint32_t m_peerIncarnation = 0;
};

// Persists epochs on its own worker thread, in request order; each completion is posted to the
// core io_context. persist() never blocks. The destructor finishes queued writes, then joins.
class EpochPersister {
  public:
    using Done = std::function<void(std::uint64_t epoch, std::error_code ec)>;

    EpochPersister(asio::io_context& core, const StateFiles& files);
    ~EpochPersister();
    EpochPersister(const EpochPersister&) = delete;
    EpochPersister& operator=(const EpochPersister&) = delete;

    void persist(std::uint64_t epoch, Done done);
    // The peer incarnation, on the same worker and in the same order as the epochs.
    using PeerDone = std::function<void(std::uint32_t incarnation, std::error_code ec)>;
    void persistPeerIncarnation(std::uint32_t incarnation, PeerDone done);

  private:
    void write(std::uint64_t epoch, const Done& done);

    asio::io_context& m_core;
    const StateFiles& m_files;
    asio::io_context m_worker;
    asio::executor_work_guard<asio::io_context::executor_type> m_guard;
    std::thread m_thread;
};

} // namespace hs

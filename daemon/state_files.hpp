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

    std::uint64_t epoch() const { return epoch_; }             // as loaded
    std::uint32_t incarnation() const { return incarnation_; } // this run's (already persisted)
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path epochFile() const { return dir_ / "epoch"; }
    std::filesystem::path incarnationFile() const { return dir_ / "incarnation"; }

    // Blocking (fsync): call it from a worker thread, never from the core thread. Thread-safe as
    // long as calls are not concurrent with each other (EpochPersister serialises them).
    std::error_code persistEpoch(std::uint64_t epoch) const;

    // Reads peer_incarnation (missing: 0). Throws StateError when it is corrupt.
    void loadPeerIncarnation();
    std::uint32_t peerIncarnation() const { return peerIncarnation_; } // as loaded
    std::filesystem::path peerIncarnationFile() const { return dir_ / "peer_incarnation"; }
    // Blocking, like persistEpoch.
    std::error_code persistPeerIncarnation(std::uint32_t incarnation) const;

  private:
    std::filesystem::path dir_;
    std::uint64_t epoch_ = 0;
    std::uint32_t incarnation_ = 0;
    std::uint32_t peerIncarnation_ = 0;
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

    asio::io_context& core_;
    const StateFiles& files_;
    asio::io_context worker_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::thread thread_;
};

} // namespace hs

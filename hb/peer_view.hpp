// What this node knows of its peer, as heard over every path. Pure: time and authenticated frames
// in, verdicts out; no I/O, no Asio.
//
// Per path it keeps the receive state: the failure detector (PathMonitor), the replay window
// (highest sequence number of the peer incarnation we follow), freshness (windowed minimum of
// receive time minus the peer's send time, so a burst buffered while a line was cut is seen as
// stale), the echo of the peer's latest frame and the round-trip time it yields, and the streak
// of frames failing authentication. Over all paths it keeps the peer: the incarnation followed
// (a new one is adopted only with proof of liveness), the latest news of its role, epoch and
// flags, whether it is alive (heard on any path) and how redundant the paths are.
//
// The caller (NodeCore) keeps what it sends (sequence numbers, its own send times) and tells
// receive() whether a frame echoes one of its own send times.
#pragma once

#include "base/types.hpp"
#include "hb/frame.hpp"
#include "hb/path_monitor.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace hs::hb {

// What the node knows of the peer from its latest authenticated frame.
struct PeerInfo {
    Role role = Role::Init;
    std::uint64_t epoch = 0;
    std::uint8_t slot = 0;
    bool fit = true;
    bool unconfirmed = false;
    std::uint32_t nodeId = 0;
    bool takingOver = false; // standby persisting a new epoch: about to become active
};

struct PeerViewConfig {
    std::vector<PathMonitorConfig> paths;
    // The role detection time: how long a lower (or repeated) incarnation must answer while the
    // one we follow stays silent before it is adopted.
    Duration detection{milliseconds(30)};
    // The peer incarnation persisted by an earlier run (0: none).
    std::uint32_t storedIncarnation = 0;
};

class PeerView {
  public:
    explicit PeerView(PeerViewConfig cfg);

    // Freshness windows and the silence of the followed incarnation count from `now`.
    void start(TimePoint now);

    enum class Verdict : std::uint8_t {
        Replayed,   // not news from the incarnation we follow (old sequence, or not adopted)
        Stale,      // authentic but sent too long ago (buffered while a line was cut)
        Unverified, // fresh, but nothing shows it was sent after our start: proves the path
                    // alive, changes no role
        Trusted,    // news from the peer: `info` may change roles
    };
    struct Reception {
        Verdict verdict = Verdict::Replayed;
        // A new peer incarnation was adopted and differs from the stored one: persist it.
        std::optional<std::uint32_t> persistIncarnation;
        // Our frames on this path echo nothing of this peer yet: answer on it now.
        bool answer = false;
        // When the peer sent the frame, on our clock (Unverified and Trusted).
        TimePoint sentAt{};
        // Trusted only: what the frame says of the peer, and whether its role changed.
        PeerInfo info;
        bool roleChanged = false;
    };
    // An authenticated frame on `path`; `echoesUs`: its echo time is one of our recent send
    // times on that path (proof that it was sent after our start).
    Reception receive(TimePoint now, std::size_t path, const Frame& f, bool echoesUs);
    // The frame credited at `sentAt` keeps `path` alive. Returns true if the path came up.
    bool pathHeard(std::size_t path, TimePoint sentAt, Duration peerInterval);
    // The peer said it is leaving: `path` down now. Returns true if it changed.
    bool forceDown(TimePoint now, std::size_t path, PathDiag d);
    // Frames over different paths overtake each other: only the newest news about the peer's
    // role counts (its send time orders them, one clock for all its paths). Returns true, and
    // records `info` as the peer, if `f` is the newest heard.
    bool takeNews(const Frame& f, const PeerInfo& info);

    // A frame on `path` failed authentication. Returns the failures in a row on that path.
    std::uint32_t onAuthFailure(std::size_t path);
    // The authentication alarm for `path` may be raised again (rate limit); records it if so.
    bool authAlarmDue(TimePoint now, std::size_t path);
    // The link of `path` reported an I/O error.
    void onLinkError(std::size_t path);
    // Re-evaluate `path`'s failure detector. Returns true if the path went down.
    bool pathTimer(TimePoint now, std::size_t path);
    // After a local stall every path gets a fresh detection window.
    void grace(TimePoint now);

    // Liveness and redundancy recomputed from the paths.
    struct Liveness {
        std::size_t pathsUp = 0;
        Redundancy redundancy = Redundancy::NotRedundant;
        bool lost = false;               // the peer was alive and no path hears it now
        bool heard = false;              // the peer was not alive and is heard now
        bool recovered = false;          // heard, having been lost before (not the first time)
        bool redundancyChanged = false;  // redundancy differs from the last refresh
        bool redundancyRestored = false; // back to Redundant, having been before
        bool redundancyDegraded = false; // no longer Redundant
    };
    Liveness refresh();

    bool alive() const { return alive_; }
    Redundancy redundancy() const { return redundancy_; }
    // The latest news of the peer (nullopt until a trusted frame was heard).
    const std::optional<PeerInfo>& peer() const { return peer_; }
    std::optional<std::uint32_t> incarnation() const { return incarnation_; }
    std::size_t pathCount() const { return paths_.size(); }
    const PathMonitor& monitor(std::size_t path) const { return paths_.at(path).mon; }
    std::uint32_t rttUs(std::size_t path) const { return paths_.at(path).rttUs; }
    // What our next frame on `path` echoes: the peer's send time (0: nothing yet) and when we
    // received it.
    std::uint64_t echoTimeNs(std::size_t path) const { return paths_.at(path).peerSendNs; }
    TimePoint echoReceivedAt(std::size_t path) const { return paths_.at(path).peerRxTime; }
    // When a path goes down if nothing arrives (the earliest over all paths).
    std::optional<TimePoint> deadline() const;

  private:
    struct PathRx {
        PathMonitor mon;
        std::uint64_t lastSeq = 0; // replay window (per peer incarnation)
        // A frame on this path echoed one of our send times: every later sequence number was
        // sent after our start, so its content may change roles.
        bool trusted = false;
        std::uint64_t peerSendNs = 0; // echo
        TimePoint peerRxTime{};
        bool echoAdopted = false; // the echo is of a frame of the adopted peer incarnation
        std::uint32_t rttUs = 0;
        std::optional<std::int64_t> curMin; // freshness: windowed minimum of receive - send
        std::optional<std::int64_t> prevMin;
        TimePoint windowStart{};
        std::uint32_t authStreak = 0;
        std::optional<TimePoint> lastAuthAlarm;
    };
    struct LowerIncarnation {
        std::uint32_t incarnation;
        TimePoint since;
    };

    bool adopt(TimePoint now, const Frame& f, bool echoesUs, Reception& r);
    bool echoUnadopted(TimePoint now, std::size_t path, const Frame& f);
    std::optional<Duration> frameAge(TimePoint now, PathRx& p, const Frame& f);
    std::optional<std::int64_t> offsetFloor(const PathRx& p) const;

    PeerViewConfig cfg_;
    std::vector<PathRx> paths_;
    std::optional<std::uint32_t> incarnation_;
    std::uint32_t storedIncarnation_;
    std::optional<LowerIncarnation> lowerIncarnation_;
    TimePoint lastCurrentHeard_{}; // last trusted frame of the followed incarnation (or start)
    std::optional<std::uint32_t> nodeId_;
    std::optional<Role> lastRole_;
    std::uint64_t newestNs_ = 0;
    std::optional<PeerInfo> peer_;
    bool alive_ = false;
    bool everLost_ = false;
    bool everRedundant_ = false;
    Redundancy redundancy_ = Redundancy::NotRedundant;
};

} // namespace hs::hb

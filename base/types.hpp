// Shared vocabulary of hotstandby: roles, path states, reasons and the snapshot that flows one way
// from the core to the SNMP subagent and the control socket. No I/O here.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hs {

// Monotonic time used by all pure logic. Tests drive it with a virtual clock.
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Values double as wire codes (frame "role" byte) and MIB enumerations (value + 1 in the MIB).
enum class Role : std::uint8_t {
    Init = 0,    // waiting up to init_dead for the peer
    Standby = 1, // mirrors the active, ready to take over
    Active = 2,  // drives the chassis
    Fault = 3,   // unfit to manage (e.g. BMC unreachable while the peer reaches it)
    Stopped = 4, // shut down cleanly / leaving
};

enum class PathType : std::uint8_t { Udp = 0, Tcp = 1, Serial = 2, Ether = 3 };

// BFD-like path states (RFC 5880).
enum class PathState : std::uint8_t { AdminDown = 0, Down = 1, Init = 2, Up = 3 };

// BFD-like diagnostics: why a path is (or last went) down.
enum class PathDiag : std::uint8_t {
    NoDiag = 0,
    DetectTimeExpired = 1,
    NeighborSignaledDown = 2,
    IoError = 3,
    AuthFailure = 4,
    AdminDown = 5,
};

enum class Redundancy : std::uint8_t { Redundant = 0, Degraded = 1, NotRedundant = 2 };

enum class SwitchoverReason : std::uint8_t {
    None = 0,
    PeerLost = 1,      // every path down for the detection time
    Manual = 2,        // operator request (hsctl, SNMP)
    PeerShutdown = 3,  // the active left cleanly and handed over
    LocalFault = 4,    // this node became unfit and handed over
    PeerPreempted = 5, // preemption back to the preferred slot
    SplitBrain = 6,    // stood down after a heal: the peer had the higher epoch
    InitAlone = 7,     // init_dead expired with no peer: became active alone
    InitPreferred = 8, // initial arbitration by slot
    PeerFault = 9,     // the peer reported itself unfit
};

std::string_view toString(Role r);
std::string_view toString(PathType t);
std::string_view toString(PathState s);
std::string_view toString(PathDiag d);
std::string_view toString(Redundancy r);
std::string_view toString(SwitchoverReason r);

struct PathCounters {
    std::uint64_t framesSent = 0;
    std::uint64_t framesReceived = 0; // accepted frames
    std::uint64_t missed = 0;         // intervals that passed without a frame
    std::uint64_t malformed = 0;      // framing/CRC/length/version errors
    std::uint64_t authFailures = 0;   // HMAC mismatch
    std::uint64_t replayed = 0;       // old sequence numbers
    std::uint64_t stale = 0;          // authentic but too old (buffered while the line was cut)
    std::uint64_t sendErrors = 0;
    std::uint64_t ioErrors = 0;
    std::uint64_t garbageBytes = 0; // bytes skipped while resynchronising a stream path
    std::uint64_t foreign = 0;      // datagrams/connections from a source that is not the peer
};

struct PathSnapshot {
    std::uint32_t index = 0; // 1-based, stable (config order)
    std::string name;
    PathType type = PathType::Udp;
    std::string endpoint; // "192.0.2.2:7400" or "/dev/ttyS1@115200"
    PathState state = PathState::Init;
    PathDiag diag = PathDiag::NoDiag;
    std::uint32_t intervalUs = 0;
    std::uint32_t missThreshold = 0;
    std::uint32_t recoveryThreshold = 0;
    std::uint32_t rttUs = 0; // last measured round-trip time
    PathCounters counters;
    std::int64_t lastChangeUnixMs = 0;
};

struct SwitchoverRecord {
    std::uint32_t index = 0;
    std::int64_t unixMs = 0;
    SwitchoverReason reason = SwitchoverReason::None;
    Role from = Role::Init;
    Role to = Role::Init;
    std::uint64_t epoch = 0;
};

struct ModuleSnapshot {
    std::uint32_t slot = 0;
    std::uint32_t nodeId = 0;
    Role role = Role::Init;
    bool present = false; // heard recently (peer) / always true (local)
    bool bmcOk = true;    // can reach its BMC
    std::int64_t lastChangeUnixMs = 0;
};

// ---- Chassis (filled by chassis/, read by subagent/ and the control socket) ----
enum class PowerState : std::uint8_t {
    Unknown = 0,
    On = 1,
    Off = 2,
    TransitioningOn = 3,
    TransitioningOff = 4
};
// IPMI chassis control codes 0h-5h (plus none).
enum class PowerControl : std::uint8_t {
    PowerDown = 0,
    PowerUp = 1,
    PowerCycle = 2,
    HardReset = 3,
    DiagInterrupt = 4,
    SoftShutdown = 5,
    None = 255,
};
enum class BmcAccess : std::uint8_t {
    Unknown = 0,
    Ok = 1,
    Unreachable = 2,
    AuthFailed = 3,
    Busy = 4,
    Error = 5,
    Disabled = 6
};
enum class SensorState : std::uint8_t {
    Unknown = 0,
    Nominal = 1,
    Warning = 2,
    Critical = 3,
    Unavailable = 4
};
enum class FanMode : std::uint8_t { Unknown = 0, Auto = 1, Manual = 2, FailSafe = 3 };
// How a power request ended: the chassis reports it, the replicated power request record carries
// it (wire codes never change).
enum class PowerOutcome : std::uint8_t {
    Pending = 0,    // sent (or about to be), not confirmed by Get Chassis Status yet
    Confirmed = 1,  // the chassis reached the requested state
    Failed = 2,     // the BMC refused it or it was not confirmed before its deadline
    Superseded = 3, // a newer request replaced it
    Dropped = 4,    // a takeover found it could not (or must not) be continued
};

struct SensorSnapshot {
    std::uint32_t index = 0; // 1-based, stable (record id order)
    std::string name;
    std::string type; // "Temperature", "Voltage", "Fan"
    std::string unit; // "degrees C", "V", "RPM"
    double value = 0;
    bool valueValid = false;
    std::optional<double> upperCritical, upperNonCritical, lowerCritical, lowerNonCritical;
    std::optional<double> upperNonRecoverable, lowerNonRecoverable;
    SensorState state = SensorState::Unknown;
};

struct FanSnapshot {
    std::uint32_t zone = 0; // 0-based zone as the OEM profile numbers it; MIB index is zone + 1
    std::string name;
    std::uint32_t dutyPct = 0; // last duty commanded (0-100)
    std::optional<double> rpm; // from the matching fan sensor, when known
    FanMode mode = FanMode::Unknown;
    bool failed = false;
};

struct ChassisSnapshot {
    bool enabled = false; // a BMC is configured
    PowerState power = PowerState::Unknown;
    PowerControl requested = PowerControl::None; // last requested transition not yet confirmed
    BmcAccess access = BmcAccess::Unknown;
    std::string lastError;
    std::int64_t lastErrorUnixMs = 0;
    bool failSafe = false;  // fans forced to the fail-safe duty
    std::string fanProfile; // "supermicro", "dell", "none"
    // The data of the last Get Chassis Status reply (IPMI 2.0 28.2: power state, last power
    // event, misc. chassis state and the optional front panel byte); empty before the first.
    std::vector<std::uint8_t> statusBytes;
    std::vector<SensorSnapshot> sensors;
    std::vector<FanSnapshot> fans;
};

// ---- Requests from operators (hsctl, SNMP SET): one path into the core, one place to check roles
// ----
enum class ControlOp : std::uint8_t {
    Switchover,
    ForceTakeover,
    PowerOn,
    PowerOff,
    PowerCycle,
    HardReset,
    SoftShutdown,
    FanModeAuto,
    FanModeManual,
    FanDuty,
    SetPreemption,
};
struct ControlRequest {
    ControlOp op = ControlOp::Switchover;
    std::uint32_t zone = 0;
    std::int64_t value = 0;
    std::string origin; // "hsctl uid=0", "snmp" (for the log)
};
enum class ControlStatus : std::uint8_t {
    Ok,
    NotActive,
    InvalidArgument,
    Unavailable,
    BmcError,
    Busy
};
struct ControlResult {
    ControlStatus status = ControlStatus::Ok;
    std::string message; // human-readable; on NotActive it names the active node
};

// Every enumeration has its name here, in camelBack ("powerOn", "notActive", "authFailed"), for
// logs (`op=powerOn`, never `op=3`) and the MIB's last-result text. The control socket's JSON
// and the notification texts spell the same names in snake_case: snakeCase(toString(x)).
std::string_view toString(PowerState s);
std::string_view toString(PowerControl c);
std::string_view toString(BmcAccess a);
std::string_view toString(SensorState s);
std::string_view toString(FanMode m);
std::string_view toString(PowerOutcome o); // "pending", "confirmed", ... (logs)
std::string_view toString(ControlOp op);
std::string_view toString(ControlStatus s);

// "adminDown" -> "admin_down", "ACTIVE" -> "active".
std::string snakeCase(std::string_view camel);

// ---- Events: what notifications, logs and the journal are made of ----
enum class EventType : std::uint8_t {
    PathDown,
    PathUp,
    PeerLost,
    PeerRecovered,
    Switchover,
    SplitBrainResolved,
    RedundancyDegraded,
    RedundancyRestored,
    ChassisPowerChanged,
    BmcUnreachable,
    BmcRecovered,
    SensorThreshold,
    FanFailure,
    AuthAlarm,
    StateDirUnwritable, // the next epoch cannot be made durable: this node is unfit
    StateDirRecovered,  // the state directory takes writes again
    // Replication (docs/replication.md) and the floating addresses ([[address]]).
    ReplicationDegraded,       // an acknowledged-intent wait timed out; the change applied
    ReplicationRestored,       // the standby caught up again after ReplicationDegraded
    ReplicationRecordsDropped, // count: records of a partition's losing side dropped at the heal
    AddressAcquired,           // objectIndex: the address's MIB index (config order + 1)
    AddressReleased,           // objectIndex as above
    AddressFailed,             // objectIndex as above; text: the error (add, removal, announcement)
    SwitchoverHoldDown,        // the switchover rate guard holds voluntary switchovers down
    ReplicationHot, // this mirror turned hot or stopped being hot; objectIndex: hsReplReadiness
};
struct Event {
    EventType type = EventType::PathDown;
    std::int64_t unixMs = 0;
    std::uint32_t pathIndex = 0;           // Path*
    PathState pathState = PathState::Down; // Path*
    PathDiag pathDiag = PathDiag::NoDiag;  // Path*
    Role role = Role::Init;                // Switchover: new role
    Role fromRole = Role::Init;            // Switchover: old role
    SwitchoverReason reason = SwitchoverReason::None;
    std::uint64_t epoch = 0;
    Redundancy redundancy = Redundancy::NotRedundant;
    PowerState power = PowerState::Unknown; // ChassisPowerChanged
    std::uint32_t objectIndex = 0;          // sensor or fan index
    double value = 0;                       // sensor reading
    std::string text;                       // detail for logs
    std::uint64_t count = 0;                // ReplicationRecordsDropped: how many
};
std::string_view toString(EventType t);

// Everything the outside world may see, copied once per change and never mutated after posting.
struct Snapshot {
    std::uint64_t generation = 0; // increases on every published change
    ModuleSnapshot local;
    ModuleSnapshot peer;
    std::uint64_t epoch = 0;
    bool peerAlive = false;
    bool unconfirmed = false; // active role not yet re-confirmed after a local stall
    Redundancy redundancy = Redundancy::NotRedundant;
    bool preemption = false;
    std::uint64_t switchoverCount = 0;
    SwitchoverReason lastSwitchoverReason = SwitchoverReason::None;
    std::int64_t lastSwitchoverUnixMs = 0;
    std::vector<PathSnapshot> paths;
    std::vector<SwitchoverRecord> journal; // newest last, bounded
    bool stateDirWritable = true;          // the next epoch is durable in state_dir
    std::string stateDirError;             // why not, when !stateDirWritable
    ChassisSnapshot chassis;
    // The switchover rate guard (core/switchover_guard.hpp) as of its last change.
    struct SwitchoverGuardView {
        std::uint32_t limit = 0; // 0: no guard
        std::int64_t windowMs = 0;
        std::int64_t holdDownMs = 0;
        std::int64_t holdDownUntilUnixMs = 0; // the latest hold-down ends then (0: none yet)
        std::uint64_t holdDowns = 0;
        std::uint64_t refused = 0;
    } switchoverGuard;
    // Replication (docs/replication.md), for the standard views and the metrics.
    struct ReplicationView {
        bool writer = false;     // this node drives the chassis and writes the store
        bool standbyHot = false; // the standby's mirror holds everything acknowledged: writer, the
                                 // standby joined and within the hot bound; mirror, itself hot
        std::uint8_t readiness = 0; // mirror: 0 cold, 1 syncing, 2 hot (writer: 0)
        std::uint64_t lagRecords = 0;
        bool degraded = false;
        // The store's watermark and size, and the protocol's counters (daemon/replication.hpp).
        std::uint64_t storeEpoch = 0;
        std::uint64_t storeSeq = 0; // last ordered sequence number in the store
        std::uint64_t records = 0;  // records in the store
        bool standbyJoined = false; // writer: a standby joined and acknowledges
        std::uint64_t ackedSeq = 0; // writer: the standby's last acknowledged ordered sequence
        std::uint64_t lagMs = 0;    // mirror: age of the newest ordered record it lacks
        std::uint64_t snapshotsSent = 0;
        std::uint64_t snapshotsReceived = 0;
        std::uint64_t resends = 0;
        std::uint64_t gaps = 0;
        std::uint64_t conflicts = 0;         // partition heals that dropped records
        std::uint64_t droppedRecords = 0;    // records dropped by those heals
        std::uint64_t lastDropCount = 0;     // records the last of them dropped
        std::uint64_t waitsTimedOut = 0;     // acknowledged-intent waits that timed out
        std::int64_t lastSnapshotUnixMs = 0; // last full snapshot sent or received; 0 never
    } replication;
    // The floating addresses ([[address]]) in config order, from daemon/float_addr.
    struct AddressView {
        std::string address; // as configured (IPv4 or IPv6 literal)
        bool v6 = false;
        std::uint8_t prefix = 0;
        std::string interfaceName;
        bool held = false;     // the kernel acknowledged the add and no removal since
        std::string lastError; // empty while the last operation succeeded
        std::uint64_t errors = 0;
        std::uint64_t announced = 0;
        std::int64_t lastChangeUnixMs = 0; // held changed last; 0 never
    };
    std::vector<AddressView> addresses;
};

} // namespace hs

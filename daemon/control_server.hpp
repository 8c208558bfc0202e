// The control socket: a unix stream socket on the core io_context speaking one JSON object per
// line each way (docs/control.md). Every peer is checked with SO_PEERCRED and given one of two
// tiers: read-only (members of the read group) or change (root, the daemon's user, members of the
// control group); commands go to registered handlers, which may answer at once or later. Never
// blocks the core thread: reads and writes are asynchronous, buffers are bounded per connection,
// and one request per connection is in flight at a time (responses come back in request order).
#pragma once

#include "base/asio.hpp"
#include "base/control_protocol.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hs {

class ControlServerError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct PeerCred {
    std::int32_t pid = 0;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
};

// What a command needs, and what a peer may do.
enum class ControlAccess : std::uint8_t {
    Read,   // status and the other read-only commands
    Change, // commands that change the node or the chassis
};

// {"ok":true,"result":RESULT} and {"ok":false,"code":CODE,"error":MESSAGE}.
// Codes: not_active, invalid, unavailable, bmc_error, busy, denied.
nlohmann::json controlOk(nlohmann::json result = nlohmann::json::object());
nlohmann::json controlError(std::string_view code, std::string_view message);

// How a handler answers: call it once with the whole response (controlOk/controlError), from any
// thread, now or later. Copyable. Later calls are ignored; if every copy is dropped unanswered the
// client gets an "unavailable" error. Answers to a closed connection are discarded.
class ControlReply {
  public:
    struct State;
    explicit ControlReply(std::shared_ptr<State> state) : state_(std::move(state)) {}

    void operator()(nlohmann::json response) const;
    const PeerCred& peer() const;
    ControlAccess access() const; // the peer's tier
    std::string origin() const;   // "hsctl uid=0 pid=1234", for ControlRequest::origin and logs
    // For a command that changes something only for some arguments ("chassis.power off"): when
    // the peer may only read, answers "denied" naming WHAT and the group it needs, returns false.
    bool requireChange(std::string_view what) const;

  private:
    std::shared_ptr<State> state_;
};

namespace detail {
class ControlCore;
}

class ControlServer {
  public:
    using Reply = ControlReply;
    using Handler = std::function<void(const nlohmann::json& request, Reply reply)>;

    struct Options {
        std::string socketPath = std::string(protocol::kDefaultSocket);
        std::string controlGroup; // may change things; empty: only root and the daemon's euid
        std::string readGroup;    // may use read-only commands; empty: nobody else. When set,
                                  // the socket file is 0666 and SO_PEERCRED alone decides.
        std::size_t maxLine = 64UL * 1024; // longer request lines are refused
        std::size_t maxClients = 64;       // further connections get "busy" (root and the
                                           // daemon's own user are not counted nor refused)
        std::size_t maxQueuedOutput = 1024UL * 1024; // a client that stops reading is dropped
        // A connection with no complete request for this long is closed (a request being
        // answered does not count as idle). Zero: never.
        std::chrono::milliseconds idleTimeout{30000};
    };

    ControlServer(asio::io_context& io, Options options);
    // stop() closes and cancels (it throws only if memory runs out, and then terminating is right).
    // NOLINTNEXTLINE(bugprone-exception-escape)
    ~ControlServer(); // stop()
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Register before or after start(); "cmd" is matched exactly ("chassis.power"). A command
    // that NEEDS Change is refused with "denied" for read-only peers before its handler runs.
    void addHandler(std::string cmd, Handler handler, ControlAccess need = ControlAccess::Change);

    // Creates the parent directory (0755) if missing, replaces a stale socket, refuses to start
    // when a live daemon answers on the path, binds with mode 0660 (group = control_group; 0666
    // when a read group is set) and starts accepting. Throws ControlServerError. Call on the core
    // thread before run().
    void start();
    // Closes the listener and every connection and removes the socket file. Idempotent.
    void stop();

    std::size_t connectionCount() const; // every open connection, root's too

  private:
    std::shared_ptr<detail::ControlCore> core_;
};

} // namespace hs

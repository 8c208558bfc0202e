#include "daemon/control_server.hpp"

#include "base/log.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fmt/format.h>
#include <grp.h>
#include <map>
#include <optional>
#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

namespace hs {

using nlohmann::json;
using UnixSocket = asio::local::stream_protocol::socket;

namespace {

std::string dumpLine(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::vector<gid_t> peerGroups(int fd) {
    std::vector<gid_t> groups(32);
    for (int attempt = 0; attempt < 3; ++attempt) {
        socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
            groups.resize(len / sizeof(gid_t));
            return groups;
        }
        if (errno != ERANGE) {
            break;
        }
        groups.resize(len / sizeof(gid_t) + 1);
    }
    return {};
}

} // namespace

json controlOk(json result) {
    return json{{"ok", true}, {"result", std::move(result)}};
}

json controlError(std::string_view code, std::string_view message) {
    return json{{"ok", false}, {"code", code}, {"error", message}};
}

namespace detail {
class ControlSession;
}

struct ControlReply::State {
    std::weak_ptr<detail::ControlSession> session;
    asio::any_io_executor executor;
    PeerCred peer;
    ControlAccess access = ControlAccess::Read;
    std::string changeGroup; // for the "denied" message
    std::atomic<bool> used{false};
    ~State();
};

namespace detail {

class ControlCore : public std::enable_shared_from_this<ControlCore> {
  public:
    ControlCore(asio::io_context& io, ControlServer::Options opts)
        : opts_(std::move(opts)), acceptor_(io), retry_(io) {}

    void start();
    void stop();
    void addHandler(std::string cmd, ControlServer::Handler h, ControlAccess need) {
        handlers_[std::move(cmd)] = Entry{std::move(h), need};
    }
    const ControlServer::Options& options() const { return opts_; }
    bool stopped() const { return stopped_; }
    std::size_t count() const { return sessions_.size(); }
    void dispatch(const json& req, const std::string& cmd, const ControlReply& reply);
    void forget(ControlSession* s);

  private:
    struct Entry {
        ControlServer::Handler handler;
        ControlAccess need = ControlAccess::Change;
    };

    void prepareSocketPath();
    void doAccept();
    void afterAccept(const boost::system::error_code& ec, UnixSocket sock);
    std::optional<ControlAccess> tierOf(const PeerCred& cred, int fd) const;

    ControlServer::Options opts_;
    asio::local::stream_protocol::acceptor acceptor_;
    asio::steady_timer retry_;
    std::map<std::string, Entry, std::less<>> handlers_;
    std::map<ControlSession*, std::shared_ptr<ControlSession>> sessions_; // open ones
    std::set<ControlSession*> limited_; // open ones counted against maxClients
    std::optional<gid_t> groupId_;
    std::optional<gid_t> readGroupId_;
    ino_t inode_ = 0;
    bool started_ = false;
    bool stopped_ = false;
};

class ControlSession : public std::enable_shared_from_this<ControlSession> {
  public:
    ControlSession(std::shared_ptr<ControlCore> core, UnixSocket sock, PeerCred cred,
                   ControlAccess access)
        : core_(std::move(core)), sock_(std::move(sock)), idle_(sock_.get_executor()), cred_(cred),
          access_(access) {}

    void start() {
        touch();
        readMore();
    }
    void refuse(const json& response) {
        closeAfterWrite_ = true;
        send(response);
    }
    void deliver(const json& response) {
        if (closed_ || !busy_) {
            return;
        }
        busy_ = false;
        touch();
        send(response);
        pump();
    }
    void close();

  private:
    void touch();
    void afterIdle(const boost::system::error_code& ec);
    void readMore();
    void afterRead(const boost::system::error_code& ec, std::size_t n);
    void pump();
    void handleLine(std::string_view line);
    void send(const json& response);
    void writeNext();
    void afterWrite(const boost::system::error_code& ec, std::size_t n);
    void maybeFinish();

    std::shared_ptr<ControlCore> core_;
    UnixSocket sock_;
    asio::steady_timer idle_;
    std::chrono::steady_clock::time_point idleDeadline_{};
    bool idleArmed_ = false;
    PeerCred cred_;
    ControlAccess access_;
    std::array<char, 4096> chunk_{};
    std::string in_;
    std::deque<std::string> out_;
    std::size_t outBytes_ = 0;
    bool reading_ = false;
    bool writing_ = false;
    bool busy_ = false;
    bool discarding_ = false;
    bool eof_ = false;
    bool closed_ = false;
    bool closeAfterWrite_ = false;
};

void ControlSession::close() {
    if (closed_) {
        return;
    }
    closed_ = true;
    auto self = shared_from_this(); // forget() drops the core's reference
    boost::system::error_code ignored;
    sock_.close(ignored);
    idle_.cancel();
    core_->forget(this);
}

// A complete request came in or was answered: the idle clock starts again.
void ControlSession::touch() {
    const auto timeout = core_->options().idleTimeout;
    if (timeout.count() <= 0 || closed_) {
        return;
    }
    idleDeadline_ = std::chrono::steady_clock::now() + timeout;
    if (idleArmed_) {
        return; // the waiting timer sees the new deadline when it fires
    }
    idleArmed_ = true;
    idle_.expires_at(idleDeadline_);
    idle_.async_wait(std::bind_front(&ControlSession::afterIdle, shared_from_this()));
}

void ControlSession::afterIdle(const boost::system::error_code& ec) {
    idleArmed_ = false;
    if (ec || closed_) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (busy_) {
        idleDeadline_ = now + core_->options().idleTimeout; // the daemon is still answering
    }
    if (now < idleDeadline_) {
        idleArmed_ = true;
        idle_.expires_at(idleDeadline_);
        idle_.async_wait(std::bind_front(&ControlSession::afterIdle, shared_from_this()));
        return;
    }
    HS_INFO("control connection closed uid={} pid={} reason=idle timeout_ms={}", cred_.uid,
            cred_.pid, core_->options().idleTimeout.count());
    close();
}

void ControlSession::readMore() {
    std::size_t bound = core_->options().maxLine + chunk_.size() + 1;
    if (reading_ || closed_ || eof_ || closeAfterWrite_ || in_.size() >= bound) {
        return;
    }
    reading_ = true;
    sock_.async_read_some(asio::buffer(chunk_),
                          std::bind_front(&ControlSession::afterRead, shared_from_this()));
}

void ControlSession::afterRead(const boost::system::error_code& ec, std::size_t n) {
    reading_ = false;
    if (ec) {
        if (ec != asio::error::eof) {
            close();
            return;
        }
        eof_ = true;
    }
    if (closed_) {
        return;
    }
    in_.append(chunk_.data(), n);
    pump();
}

void ControlSession::pump() {
    const std::size_t maxLine = core_->options().maxLine;
    while (!busy_ && !closed_ && !core_->stopped()) {
        auto nl = in_.find('\n');
        if (discarding_) {
            if (nl == std::string::npos) {
                in_.clear();
                break;
            }
            in_.erase(0, nl + 1);
            discarding_ = false;
            continue;
        }
        if (nl == std::string::npos && in_.size() > maxLine) {
            in_.clear();
            discarding_ = true;
            send(
                controlError("invalid", fmt::format("request line longer than {} bytes", maxLine)));
            continue;
        }
        if (nl == std::string::npos && !(eof_ && !in_.empty())) {
            break;
        }
        std::string line = in_.substr(0, nl);
        in_.erase(0, nl == std::string::npos ? in_.size() : nl + 1);
        handleLine(line);
    }
    readMore();
    maybeFinish();
}

void ControlSession::handleLine(std::string_view line) {
    const std::size_t maxLine = core_->options().maxLine;
    if (line.size() > maxLine) {
        send(controlError("invalid", fmt::format("request line longer than {} bytes", maxLine)));
        return;
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
        line.remove_suffix(1);
    }
    if (line.empty()) {
        return;
    }
    json req;
    try {
        req = json::parse(line);
    } catch (const json::parse_error& e) {
        send(controlError("invalid", fmt::format("malformed JSON request: {}", e.what())));
        return;
    }
    auto cmd = req.is_object() ? req.find("cmd") : req.end();
    if (!req.is_object() || cmd == req.end() || !cmd->is_string()) {
        send(controlError("invalid", "a request is a JSON object with a string \"cmd\""));
        return;
    }
    auto state = std::make_shared<ControlReply::State>();
    state->session = weak_from_this();
    state->executor = sock_.get_executor();
    state->peer = cred_;
    state->access = access_;
    state->changeGroup = core_->options().controlGroup;
    busy_ = true;
    touch();
    core_->dispatch(req, cmd->get<std::string>(), ControlReply(std::move(state)));
}

void ControlSession::send(const json& response) {
    if (closed_) {
        return;
    }
    out_.push_back(dumpLine(response));
    outBytes_ += out_.back().size();
    if (outBytes_ > core_->options().maxQueuedOutput) {
        HS_WARN("control client dropped uid={} pid={} reason=not_reading queued={}", cred_.uid,
                cred_.pid, outBytes_);
        close();
        return;
    }
    writeNext();
}

void ControlSession::writeNext() {
    if (writing_ || closed_ || out_.empty()) {
        return;
    }
    writing_ = true;
    asio::async_write(sock_, asio::buffer(out_.front()),
                      std::bind_front(&ControlSession::afterWrite, shared_from_this()));
}

void ControlSession::afterWrite(const boost::system::error_code& ec, std::size_t /*n*/) {
    writing_ = false;
    if (ec) {
        close();
        return;
    }
    if (closed_) {
        return;
    }
    outBytes_ -= out_.front().size();
    out_.pop_front();
    if (!out_.empty()) {
        writeNext();
        return;
    }
    if (closeAfterWrite_) {
        close();
        return;
    }
    maybeFinish();
}

void ControlSession::maybeFinish() {
    if (eof_ && !busy_ && in_.empty() && out_.empty() && !writing_) {
        close();
    }
}

void ControlCore::dispatch(const json& req, const std::string& cmd, const ControlReply& reply) {
    auto it = handlers_.find(cmd);
    if (it == handlers_.end()) {
        std::string known;
        for (const auto& [name, entry] : handlers_) {
            known += (known.empty() ? "" : ", ") + name;
        }
        reply(controlError("invalid", fmt::format("unknown command '{}' (known: {})", cmd, known)));
        return;
    }
    if (it->second.need == ControlAccess::Change && !reply.requireChange(cmd)) {
        return;
    }
    HS_DEBUG("control request cmd={} {}", cmd, reply.origin());
    try {
        it->second.handler(req, reply);
    } catch (const json::exception& e) {
        reply(controlError("invalid", fmt::format("bad request for '{}': {}", cmd, e.what())));
    } catch (const std::exception& e) {
        HS_ERROR("control handler failed cmd={} error={}", cmd, e.what());
        reply(controlError("unavailable", fmt::format("'{}' failed: {}", cmd, e.what())));
    }
}

void ControlCore::forget(ControlSession* s) {
    sessions_.erase(s);
    limited_.erase(s);
}

} // namespace detail

ControlReply::State::~State() {
    if (!used.load()) {
        auto weak = session;
        asio::post(executor, [weak]() {
            if (auto s = weak.lock()) {
                s->deliver(controlError("unavailable", "the daemon dropped the request"));
            }
        });
    }
}

void ControlReply::operator()(json response) const {
    if (state_->used.exchange(true)) {
        return;
    }
    asio::post(state_->executor,
               [weak = state_->session, response = std::move(response)]() mutable {
                   if (auto s = weak.lock()) {
                       s->deliver(response);
                   }
               });
}

const PeerCred& ControlReply::peer() const {
    return state_->peer;
}

ControlAccess ControlReply::access() const {
    return state_->access;
}

bool ControlReply::requireChange(std::string_view what) const {
    if (state_->access == ControlAccess::Change) {
        return true;
    }
    HS_WARN("control request denied what=\"{}\" uid={} pid={} reason=read_only", what,
            state_->peer.uid, state_->peer.pid);
    const std::string& group = state_->changeGroup;
    (*this)(controlError(
        "denied",
        group.empty()
            ? fmt::format("permission denied: '{}' needs root or the daemon's user; uid {} may "
                          "only read (node.control_read_group)",
                          what, state_->peer.uid)
            : fmt::format("permission denied: '{}' needs group {} (node.control_group); uid {} "
                          "may only read (node.control_read_group)",
                          what, group, state_->peer.uid)));
    return false;
}

std::string ControlReply::origin() const {
    return fmt::format("hsctl uid={} pid={}", state_->peer.uid, state_->peer.pid);
}

ControlServer::ControlServer(asio::io_context& io, Options options)
    : core_(std::make_shared<detail::ControlCore>(io, std::move(options))) {}

ControlServer::~ControlServer() { // NOLINT(bugprone-exception-escape): see the declaration
    stop();
}

void ControlServer::addHandler(std::string cmd, Handler handler, ControlAccess need) {
    core_->addHandler(std::move(cmd), std::move(handler), need);
}

void ControlServer::start() {
    core_->start();
}
void ControlServer::stop() {
    core_->stop();
}
std::size_t ControlServer::connectionCount() const {
    return core_->count();
}

} // namespace hs

namespace hs::detail {

void ControlCore::prepareSocketPath() {
    const std::filesystem::path path(opts_.socketPath);
    if (opts_.socketPath.size() >= sizeof(sockaddr_un::sun_path)) {
        throw ControlServerError(fmt::format("control socket path {} is longer than {} bytes",
                                             opts_.socketPath, sizeof(sockaddr_un::sun_path) - 1));
    }
    std::error_code ec;
    auto parent = path.parent_path();
    if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
        std::filesystem::create_directories(parent, ec);
        if (ec || ::chmod(parent.c_str(), 0755) != 0) {
            throw ControlServerError(fmt::format("cannot create directory {} for the control "
                                                 "socket: {}",
                                                 parent.string(),
                                                 ec ? ec.message() : std::strerror(errno)));
        }
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return; // nothing there
    }
    if (!S_ISSOCK(st.st_mode)) {
        throw ControlServerError(fmt::format(
            "{} exists and is not a socket; remove it or set node.control_socket", path.string()));
    }
    // Is a daemon listening there? A unix-socket connect answers at once (no network wait).
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw ControlServerError(fmt::format("socket(): {}", std::strerror(errno)));
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, opts_.socketPath.c_str(), opts_.socketPath.size() + 1);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int err = errno;
    ::close(fd);
    if (rc == 0) {
        throw ControlServerError(fmt::format("another hotstandbyd is already serving {}; stop it "
                                             "first (two daemons on one module must not run)",
                                             path.string()));
    }
    if (err != ECONNREFUSED && err != ENOENT) {
        throw ControlServerError(
            fmt::format("cannot probe existing socket {}: {}", path.string(), std::strerror(err)));
    }
    HS_INFO("control socket stale path={} action=replace", path.string());
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        throw ControlServerError(
            fmt::format("cannot remove stale socket {}: {}", path.string(), std::strerror(errno)));
    }
}

void ControlCore::start() {
    if (started_) {
        return;
    }
    auto groupId = [](const std::string& name, const char* key) {
        std::vector<char> buf(16384);
        group gr{};
        group* found = nullptr;
        if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || !found) {
            throw ControlServerError(fmt::format("{} '{}' does not exist", key, name));
        }
        return found->gr_gid;
    };
    if (!opts_.controlGroup.empty()) {
        groupId_ = groupId(opts_.controlGroup, "control_group");
    }
    if (!opts_.readGroup.empty()) {
        readGroupId_ = groupId(opts_.readGroup, "control_read_group");
    }
    prepareSocketPath();
    boost::system::error_code ec;
    asio::local::stream_protocol::endpoint ep(opts_.socketPath);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) {
        // The process's umask (main() sets 0077 before any thread starts) decides the mode bind
        // gives the file; it is set explicitly below, never by changing the umask here (a
        // process-wide setting other threads' file creation would see change).
        acceptor_.bind(ep, ec);
    }
    if (!ec) {
        acceptor_.listen(16, ec);
    }
    if (ec) {
        throw ControlServerError(
            fmt::format("cannot listen on {}: {}", opts_.socketPath, ec.message()));
    }
    if (groupId_ && ::chown(opts_.socketPath.c_str(), static_cast<uid_t>(-1), *groupId_) != 0) {
        throw ControlServerError(fmt::format("cannot give {} to group {}: {}", opts_.socketPath,
                                             opts_.controlGroup, std::strerror(errno)));
    }
    // With a read group, two groups must reach the socket: the file lets everyone connect and
    // SO_PEERCRED decides (a peer in neither group is refused before a request is read).
    if (::chmod(opts_.socketPath.c_str(), readGroupId_ ? 0666 : 0660) != 0) {
        throw ControlServerError(
            fmt::format("cannot set the mode of {}: {}", opts_.socketPath, std::strerror(errno)));
    }
    struct stat st {};
    if (::stat(opts_.socketPath.c_str(), &st) == 0) {
        inode_ = st.st_ino;
    }
    started_ = true;
    HS_INFO("control socket listening path={} group={} read_group={}", opts_.socketPath,
            opts_.controlGroup.empty() ? "-" : opts_.controlGroup,
            opts_.readGroup.empty() ? "-" : opts_.readGroup);
    doAccept();
}

void ControlCore::stop() {
    if (!started_ || stopped_) {
        stopped_ = true;
        return;
    }
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
    auto sessions = sessions_;
    for (auto& [raw, session] : sessions) {
        session->close();
    }
    sessions_.clear();
    limited_.clear();
    handlers_.clear();
    struct stat st {};
    if (::stat(opts_.socketPath.c_str(), &st) == 0 && st.st_ino == inode_) {
        ::unlink(opts_.socketPath.c_str());
    }
}

void ControlCore::doAccept() {
    acceptor_.async_accept(std::bind_front(&ControlCore::afterAccept, shared_from_this()));
}

std::optional<ControlAccess> ControlCore::tierOf(const PeerCred& cred, int fd) const {
    if (cred.uid == 0 || cred.uid == ::geteuid()) {
        return ControlAccess::Change;
    }
    if (!groupId_ && !readGroupId_) {
        return std::nullopt;
    }
    auto groups = peerGroups(fd);
    auto member = [&](const std::optional<gid_t>& g) {
        return g && (cred.gid == *g || std::find(groups.begin(), groups.end(), *g) != groups.end());
    };
    if (member(groupId_)) {
        return ControlAccess::Change;
    }
    if (member(readGroupId_)) {
        return ControlAccess::Read;
    }
    return std::nullopt;
}

void ControlCore::afterAccept(const boost::system::error_code& ec, UnixSocket sock) {
    if (ec) {
        if (ec == asio::error::operation_aborted || stopped_) {
            return;
        }
        HS_WARN("control accept failed error={} retry_ms=100", ec.message());
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
            if (!e && !self->stopped_) {
                self->doAccept();
            }
        });
        return;
    }
    if (stopped_) {
        return;
    }
    doAccept();
    ucred uc{};
    socklen_t len = sizeof uc;
    PeerCred cred;
    const int fd = sock.native_handle();
    bool haveCred = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0;
    if (haveCred) {
        cred = PeerCred{uc.pid, uc.uid, uc.gid};
    }
    std::optional<ControlAccess> tier;
    if (haveCred) {
        tier = tierOf(cred, fd);
    }
    auto session = std::make_shared<ControlSession>(shared_from_this(), std::move(sock), cred,
                                                    tier.value_or(ControlAccess::Read));
    sessions_.emplace(session.get(), session);
    if (!tier) {
        HS_WARN("control connection denied uid={} gid={} pid={}", cred.uid, cred.gid, cred.pid);
        session->refuse(controlError(
            "denied", fmt::format("uid {} may not use this socket (root, the daemon's user, "
                                  "members of node.control_group or node.control_read_group "
                                  "only)",
                                  cred.uid)));
        return;
    }
    // Root and the daemon's own user are never counted nor refused: idle connections of other
    // users cannot lock the administrator out.
    const bool privileged = cred.uid == 0 || cred.uid == ::geteuid();
    if (!privileged) {
        if (limited_.size() >= opts_.maxClients) {
            HS_WARN("control connection refused uid={} pid={} reason=too_many_clients", cred.uid,
                    cred.pid);
            session->refuse(controlError("busy", "too many control connections; try again"));
            return;
        }
        limited_.insert(session.get());
    }
    HS_DEBUG("control connection uid={} pid={} access={}", cred.uid, cred.pid,
             *tier == ControlAccess::Change ? "change" : "read");
    session->start();
}

} // namespace hs::detail

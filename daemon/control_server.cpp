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
        : m_opts(std::move(opts)), m_acceptor(io), m_retry(io) {}

    void start();
    void stop();
    void addHandler(std::string cmd, ControlServer::Handler h, ControlAccess need) {
        m_handlers[std::move(cmd)] = Entry{std::move(h), need};
    }
    const ControlServer::Options& options() const { return m_opts; }
    bool stopped() const { return m_stopped; }
    std::size_t count() const { return m_sessions.size(); }
    void dispatch(const json& req, const std::string& cmd, ControlReply reply);
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

    ControlServer::Options m_opts;
    asio::local::stream_protocol::acceptor m_acceptor;
    asio::steady_timer m_retry;
    std::map<std::string, Entry, std::less<>> m_handlers;
    std::map<ControlSession*, std::shared_ptr<ControlSession>> m_sessions; // open ones
    std::set<ControlSession*> m_limited; // open ones counted against maxClients
    std::optional<gid_t> m_groupId;
    std::optional<gid_t> m_readGroupId;
    ino_t m_inode = 0;
    bool m_started = false;
    bool m_stopped = false;
};

class ControlSession : public std::enable_shared_from_this<ControlSession> {
  public:
    ControlSession(std::shared_ptr<ControlCore> core, UnixSocket sock, PeerCred cred,
                   ControlAccess access)
        : m_core(std::move(core)), m_sock(std::move(sock)), m_idle(m_sock.get_executor()),
          m_cred(cred), m_access(access) {}

    void start() {
        touch();
        readMore();
    }
    void refuse(const json& response) {
        m_closeAfterWrite = true;
        send(response);
    }
    void deliver(json response) {
        if (m_closed || !m_busy) {
            return;
        }
        m_busy = false;
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

    std::shared_ptr<ControlCore> m_core;
    UnixSocket m_sock;
    asio::steady_timer m_idle;
    std::chrono::steady_clock::time_point m_idleDeadline{};
    bool m_idleArmed = false;
    PeerCred m_cred;
    ControlAccess m_access;
    std::array<char, 4096> m_chunk{};
    std::string m_in;
    std::deque<std::string> m_out;
    std::size_t m_outBytes = 0;
    bool m_reading = false;
    bool m_writing = false;
    bool m_busy = false;
    bool m_discarding = false;
    bool m_eof = false;
    bool m_closed = false;
    bool m_closeAfterWrite = false;
};

void ControlSession::close() {
    if (m_closed) {
        return;
    }
    m_closed = true;
    auto self = shared_from_this(); // forget() drops the core's reference
    boost::system::error_code ignored;
    m_sock.close(ignored);
    m_idle.cancel();
    m_core->forget(this);
}

// A complete request came in or was answered: the idle clock starts again.
void ControlSession::touch() {
    const auto timeout = m_core->options().idleTimeout;
    if (timeout.count() <= 0 || m_closed) {
        return;
    }
    m_idleDeadline = std::chrono::steady_clock::now() + timeout;
    if (m_idleArmed) {
        return; // the waiting timer sees the new deadline when it fires
    }
    m_idleArmed = true;
    m_idle.expires_at(m_idleDeadline);
    m_idle.async_wait(std::bind_front(&ControlSession::afterIdle, shared_from_this()));
}

void ControlSession::afterIdle(const boost::system::error_code& ec) {
    m_idleArmed = false;
    if (ec || m_closed) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (m_busy) {
        m_idleDeadline = now + m_core->options().idleTimeout; // the daemon is still answering
    }
    if (now < m_idleDeadline) {
        m_idleArmed = true;
        m_idle.expires_at(m_idleDeadline);
        m_idle.async_wait(std::bind_front(&ControlSession::afterIdle, shared_from_this()));
        return;
    }
    HS_INFO("control connection closed uid={} pid={} reason=idle timeout_ms={}", m_cred.uid,
            m_cred.pid, m_core->options().idleTimeout.count());
    close();
}

void ControlSession::readMore() {
    std::size_t bound = m_core->options().maxLine + m_chunk.size() + 1;
    if (m_reading || m_closed || m_eof || m_closeAfterWrite || m_in.size() >= bound) {
        return;
    }
    m_reading = true;
    m_sock.async_read_some(asio::buffer(m_chunk),
                           std::bind_front(&ControlSession::afterRead, shared_from_this()));
}

void ControlSession::afterRead(const boost::system::error_code& ec, std::size_t n) {
    m_reading = false;
    if (ec) {
        if (ec != asio::error::eof) {
            close();
            return;
        }
        m_eof = true;
    }
    if (m_closed) {
        return;
    }
    m_in.append(m_chunk.data(), n);
    pump();
}

void ControlSession::pump() {
    const std::size_t maxLine = m_core->options().maxLine;
    while (!m_busy && !m_closed && !m_core->stopped()) {
        auto nl = m_in.find('\n');
        if (m_discarding) {
            if (nl == std::string::npos) {
                m_in.clear();
                break;
            }
            m_in.erase(0, nl + 1);
            m_discarding = false;
            continue;
        }
        if (nl == std::string::npos && m_in.size() > maxLine) {
            m_in.clear();
            m_discarding = true;
            send(
                controlError("invalid", fmt::format("request line longer than {} bytes", maxLine)));
            continue;
        }
        if (nl == std::string::npos && !(m_eof && !m_in.empty())) {
            break;
        }
        std::string line = m_in.substr(0, nl);
        m_in.erase(0, nl == std::string::npos ? m_in.size() : nl + 1);
        handleLine(line);
    }
    readMore();
    maybeFinish();
}

void ControlSession::handleLine(std::string_view line) {
    const std::size_t maxLine = m_core->options().maxLine;
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
    state->executor = m_sock.get_executor();
    state->peer = m_cred;
    state->access = m_access;
    state->changeGroup = m_core->options().controlGroup;
    m_busy = true;
    touch();
    m_core->dispatch(req, cmd->get<std::string>(), ControlReply(std::move(state)));
}

void ControlSession::send(const json& response) {
    if (m_closed) {
        return;
    }
    m_out.push_back(dumpLine(response));
    m_outBytes += m_out.back().size();
    if (m_outBytes > m_core->options().maxQueuedOutput) {
        HS_WARN("control client dropped uid={} pid={} reason=not_reading queued={}", m_cred.uid,
                m_cred.pid, m_outBytes);
        close();
        return;
    }
    writeNext();
}

void ControlSession::writeNext() {
    if (m_writing || m_closed || m_out.empty()) {
        return;
    }
    m_writing = true;
    asio::async_write(m_sock, asio::buffer(m_out.front()),
                      std::bind_front(&ControlSession::afterWrite, shared_from_this()));
}

void ControlSession::afterWrite(const boost::system::error_code& ec, std::size_t /*n*/) {
    m_writing = false;
    if (ec) {
        close();
        return;
    }
    if (m_closed) {
        return;
    }
    m_outBytes -= m_out.front().size();
    m_out.pop_front();
    if (!m_out.empty()) {
        writeNext();
        return;
    }
    if (m_closeAfterWrite) {
        close();
        return;
    }
    maybeFinish();
}

void ControlSession::maybeFinish() {
    if (m_eof && !m_busy && m_in.empty() && m_out.empty() && !m_writing) {
        close();
    }
}

void ControlCore::dispatch(const json& req, const std::string& cmd, ControlReply reply) {
    auto it = m_handlers.find(cmd);
    if (it == m_handlers.end()) {
        std::string known;
        for (const auto& [name, entry] : m_handlers) {
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
    m_sessions.erase(s);
    m_limited.erase(s);
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
    if (m_state->used.exchange(true)) {
        return;
    }
    asio::post(m_state->executor,
               [weak = m_state->session, response = std::move(response)]() mutable {
                   if (auto s = weak.lock()) {
                       s->deliver(std::move(response));
                   }
               });
}

const PeerCred& ControlReply::peer() const {
    return m_state->peer;
}

ControlAccess ControlReply::access() const {
    return m_state->access;
}

bool ControlReply::requireChange(std::string_view what) const {
    if (m_state->access == ControlAccess::Change) {
        return true;
    }
    HS_WARN("control request denied what=\"{}\" uid={} pid={} reason=read_only", what,
            m_state->peer.uid, m_state->peer.pid);
    const std::string& group = m_state->changeGroup;
    (*this)(controlError(
        "denied",
        group.empty()
            ? fmt::format("permission denied: '{}' needs root or the daemon's user; uid {} may "
                          "only read (node.control_read_group)",
                          what, m_state->peer.uid)
            : fmt::format("permission denied: '{}' needs group {} (node.control_group); uid {} "
                          "may only read (node.control_read_group)",
                          what, group, m_state->peer.uid)));
    return false;
}

std::string ControlReply::origin() const {
    return fmt::format("hsctl uid={} pid={}", m_state->peer.uid, m_state->peer.pid);
}

ControlServer::ControlServer(asio::io_context& io, Options options)
    : m_core(std::make_shared<detail::ControlCore>(io, std::move(options))) {}

ControlServer::~ControlServer() {
    stop();
}

void ControlServer::addHandler(std::string cmd, Handler handler, ControlAccess need) {
    m_core->addHandler(std::move(cmd), std::move(handler), need);
}

void ControlServer::start() {
    m_core->start();
}
void ControlServer::stop() {
    m_core->stop();
}
std::size_t ControlServer::connectionCount() const {
    return m_core->count();
}

} // namespace hs

namespace hs::detail {

void ControlCore::prepareSocketPath() {
    const std::filesystem::path path(m_opts.socketPath);
    if (m_opts.socketPath.size() >= sizeof(sockaddr_un::sun_path)) {
        throw ControlServerError(fmt::format("control socket path {} is longer than {} bytes",
                                             m_opts.socketPath, sizeof(sockaddr_un::sun_path) - 1));
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
    std::memcpy(addr.sun_path, m_opts.socketPath.c_str(), m_opts.socketPath.size() + 1);
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
    if (m_started) {
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
    if (!m_opts.controlGroup.empty()) {
        m_groupId = groupId(m_opts.controlGroup, "control_group");
    }
    if (!m_opts.readGroup.empty()) {
        m_readGroupId = groupId(m_opts.readGroup, "control_read_group");
    }
    prepareSocketPath();
    boost::system::error_code ec;
    asio::local::stream_protocol::endpoint ep(m_opts.socketPath);
    m_acceptor.open(ep.protocol(), ec);
    if (!ec) {
        // The process's umask (main() sets 0077 before any thread starts) decides the mode bind
        // gives the file; it is set explicitly below, never by changing the umask here (a
        // process-wide setting other threads' file creation would see change).
        m_acceptor.bind(ep, ec);
    }
    if (!ec) {
        m_acceptor.listen(16, ec);
    }
    if (ec) {
        throw ControlServerError(
            fmt::format("cannot listen on {}: {}", m_opts.socketPath, ec.message()));
    }
    if (m_groupId && ::chown(m_opts.socketPath.c_str(), static_cast<uid_t>(-1), *m_groupId) != 0) {
        throw ControlServerError(fmt::format("cannot give {} to group {}: {}", m_opts.socketPath,
                                             m_opts.controlGroup, std::strerror(errno)));
    }
    // With a read group, two groups must reach the socket: the file lets everyone connect and
    // SO_PEERCRED decides (a peer in neither group is refused before a request is read).
    if (::chmod(m_opts.socketPath.c_str(), m_readGroupId ? 0666 : 0660) != 0) {
        throw ControlServerError(
            fmt::format("cannot set the mode of {}: {}", m_opts.socketPath, std::strerror(errno)));
    }
    struct stat st {};
    if (::stat(m_opts.socketPath.c_str(), &st) == 0) {
        m_inode = st.st_ino;
    }
    m_started = true;
    HS_INFO("control socket listening path={} group={} read_group={}", m_opts.socketPath,
            m_opts.controlGroup.empty() ? "-" : m_opts.controlGroup,
            m_opts.readGroup.empty() ? "-" : m_opts.readGroup);
    doAccept();
}

void ControlCore::stop() {
    if (!m_started || m_stopped) {
        m_stopped = true;
        return;
    }
    m_stopped = true;
    boost::system::error_code ignored;
    m_acceptor.close(ignored);
    m_retry.cancel();
    auto sessions = m_sessions;
    for (auto& [raw, session] : sessions) {
        session->close();
    }
    m_sessions.clear();
    m_limited.clear();
    m_handlers.clear();
    struct stat st {};
    if (::stat(m_opts.socketPath.c_str(), &st) == 0 && st.st_ino == m_inode) {
        ::unlink(m_opts.socketPath.c_str());
    }
}

void ControlCore::doAccept() {
    m_acceptor.async_accept(std::bind_front(&ControlCore::afterAccept, shared_from_this()));
}

std::optional<ControlAccess> ControlCore::tierOf(const PeerCred& cred, int fd) const {
    if (cred.uid == 0 || cred.uid == ::geteuid()) {
        return ControlAccess::Change;
    }
    if (!m_groupId && !m_readGroupId) {
        return std::nullopt;
    }
    auto groups = peerGroups(fd);
    auto member = [&](const std::optional<gid_t>& g) {
        return g && (cred.gid == *g || std::find(groups.begin(), groups.end(), *g) != groups.end());
    };
    if (member(m_groupId)) {
        return ControlAccess::Change;
    }
    if (member(m_readGroupId)) {
        return ControlAccess::Read;
    }
    return std::nullopt;
}

void ControlCore::afterAccept(const boost::system::error_code& ec, UnixSocket sock) {
    if (ec) {
        if (ec == asio::error::operation_aborted || m_stopped) {
            return;
        }
        HS_WARN("control accept failed error={} retry_ms=100", ec.message());
        m_retry.expires_after(std::chrono::milliseconds(100));
        m_retry.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
            if (!e && !self->m_stopped) {
                self->doAccept();
            }
        });
        return;
    }
    if (m_stopped) {
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
    m_sessions.emplace(session.get(), session);
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
        if (m_limited.size() >= m_opts.maxClients) {
            HS_WARN("control connection refused uid={} pid={} reason=too_many_clients", cred.uid,
                    cred.pid);
            session->refuse(controlError("busy", "too many control connections; try again"));
            return;
        }
        m_limited.insert(session.get());
    }
    HS_DEBUG("control connection uid={} pid={} access={}", cred.uid, cred.pid,
             *tier == ControlAccess::Change ? "change" : "read");
    session->start();
}

} // namespace hs::detail

#include "metrics/metrics_server.hpp"

#include "base/asio.hpp"
#include "base/log.hpp"
#include "metrics/metrics_text.hpp"

#include <atomic>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace hs::metrics {

namespace beast = boost::beast;
namespace http = beast::http;
using Tcp = asio::ip::tcp;

namespace {

// Everything the server thread owns (MetricsServer::Impl is this).
struct Server : std::enable_shared_from_this<Server> {
    explicit Server(MetricsConfig c) : cfg(std::move(c)) {}

    MetricsConfig cfg;
    asio::io_context io{1};
    Tcp::acceptor acceptor{io};
    std::thread thread;
    bool started = false;

    // Shared with the core thread: the latest posted snapshot, behind a short lock.
    std::mutex mu;
    std::shared_ptr<const Snapshot> posted;
    std::atomic<bool> wakePending{false};

    std::atomic<std::uint64_t> scrapes{0};
    std::atomic<std::uint64_t> refused{0};
    std::atomic<std::uint64_t> rejected{0};

    // Server thread only.
    std::shared_ptr<const Snapshot> latest;
    SwitchoverTally tally;
    // Open connections; shared with the sessions, which may outlive the server at destruction
    // (the io_context destroys their pending handlers).
    std::shared_ptr<std::size_t> active = std::make_shared<std::size_t>(0);

    void ingest() {
        wakePending = false;
        std::shared_ptr<const Snapshot> s;
        {
            std::lock_guard lock(mu);
            s = std::move(posted);
            posted.reset();
        }
        if (s) {
            tally.add(*s);
            latest = std::move(s);
        }
    }

    void accept() {
        acceptor.async_accept(
            [w = weak_from_this()](const boost::system::error_code& ec, Tcp::socket sock) {
                auto self = w.lock();
                if (!self || ec == asio::error::operation_aborted) {
                    return;
                }
                if (!ec) {
                    self->onAccept(std::move(sock));
                } else {
                    HS_WARN("metrics accept failed error=\"{}\"", ec.message());
                }
                self->accept();
            });
    }

    void onAccept(Tcp::socket sock);
};

// One connection: read one request (bounded in size and time), answer it, close.
class Session : public std::enable_shared_from_this<Session> {
  public:
    // SERVER owns the io_context this session runs on: it outlives every handler that runs.
    Session(Server* server, Tcp::socket sock)
        : server_(server), active_(server->active), stream_(std::move(sock)),
          buffer_(kMaxRequestBytes) {
        ++*active_;
    }
    ~Session() { --*active_; }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(kMaxRequestBytes));
        parser_->body_limit(0);
        stream_.expires_after(server_->cfg.requestTimeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](const boost::system::error_code& ec,
                                                     std::size_t) { self->onRead(ec); });
    }

  private:
    void onRead(const boost::system::error_code& ec) {
        if (ec) {
            ++server_->rejected;
            if (ec == http::error::header_limit || ec == http::error::buffer_overflow ||
                ec == beast::error::timeout) {
                // Too large (or too slow to be worth waiting for): refuse and close.
                if (ec == beast::error::timeout) {
                    close();
                    return;
                }
                reply(http::status::request_header_fields_too_large, "request too large\n");
                return;
            }
            if (ec == http::error::body_limit || ec == http::error::unexpected_body) {
                reply(http::status::payload_too_large, "no request body expected\n");
                return;
            }
            if (ec == http::error::end_of_stream) {
                close();
                return;
            }
            reply(http::status::bad_request, "bad request\n");
            return;
        }
        const auto& req = parser_->get();
        std::string_view target(req.target().data(), req.target().size());
        target = target.substr(0, target.find('?'));
        if (target != "/metrics") {
            ++server_->rejected;
            reply(http::status::not_found, "only /metrics is served here\n");
            return;
        }
        if (req.method() != http::verb::get) {
            ++server_->rejected;
            reply(http::status::method_not_allowed, "GET only\n");
            return;
        }
        server_->ingest(); // the newest snapshot, should a wake-up still be on its way
        std::string body =
            server_->latest ? renderMetrics(*server_->latest, server_->tally) : std::string();
        ++server_->scrapes;
        reply(http::status::ok, std::move(body), "text/plain; version=0.0.4; charset=utf-8");
    }

    void reply(http::status status, std::string body,
               std::string_view type = "text/plain; charset=utf-8") {
        res_.result(status);
        res_.version(11);
        res_.set(http::field::server, "hotstandbyd");
        res_.set(http::field::content_type, beast::string_view(type.data(), type.size()));
        if (status == http::status::method_not_allowed) {
            res_.set(http::field::allow, "GET");
        }
        res_.keep_alive(false);
        res_.body() = std::move(body);
        res_.prepare_payload();
        stream_.expires_after(server_->cfg.requestTimeout);
        http::async_write(stream_, res_,
                          [self = shared_from_this()](const boost::system::error_code&,
                                                      std::size_t) { self->close(); });
    }

    void close() {
        boost::system::error_code ignored;
        stream_.socket().shutdown(Tcp::socket::shutdown_send, ignored);
        stream_.close();
    }

    Server* server_;
    std::shared_ptr<std::size_t> active_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::empty_body>> parser_;
    http::response<http::string_body> res_;
};

void Server::onAccept(Tcp::socket sock) {
    if (*active >= cfg.maxConnections) {
        std::uint64_t n = ++refused;
        if (n % 100 == 1) { // first, then every 100th
            HS_WARN("metrics connection refused: {} already open (max_connections) refused={}",
                    *active, n);
        }
        boost::system::error_code ignored;
        sock.close(ignored);
        return;
    }
    std::make_shared<Session>(this, std::move(sock))->start();
}

} // namespace

struct MetricsServer::Impl : Server {
    using Server::Server;
};

MetricsServer::MetricsServer(MetricsConfig cfg) : impl_(std::make_shared<Impl>(std::move(cfg))) {}

MetricsServer::~MetricsServer() {
    stop();
}

void MetricsServer::start() {
    if (impl_->started || !impl_->cfg.enabled) {
        return;
    }
    boost::system::error_code ec;
    Tcp::endpoint ep(asio::ip::make_address(impl_->cfg.listen, ec), impl_->cfg.port);
    if (!ec) {
        impl_->acceptor.open(ep.protocol(), ec);
    }
    if (!ec) {
        impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        impl_->acceptor.bind(ep, ec);
    }
    if (!ec) {
        impl_->acceptor.listen(static_cast<int>(impl_->cfg.maxConnections), ec);
    }
    if (ec) {
        throw std::runtime_error(fmt::format("metrics: cannot listen on {}:{}: {}",
                                             impl_->cfg.listen, impl_->cfg.port, ec.message()));
    }
    impl_->started = true;
    impl_->accept();
    impl_->thread = std::thread([self = impl_] {
        self->ingest();
        self->io.run();
    });
    HS_INFO("metrics endpoint listening on http://{}:{}/metrics max_connections={}",
            impl_->cfg.listen, impl_->cfg.port, impl_->cfg.maxConnections);
}

void MetricsServer::stop() {
    if (!impl_ || !impl_->started || !impl_->thread.joinable()) {
        return;
    }
    asio::post(impl_->io, [self = impl_] {
        boost::system::error_code ignored;
        self->acceptor.close(ignored);
    });
    impl_->io.stop();
    impl_->thread.join();
}

void MetricsServer::publish(std::shared_ptr<const Snapshot> snapshot) {
    if (!snapshot) {
        return;
    }
    {
        std::lock_guard lock(impl_->mu);
        std::swap(impl_->posted, snapshot);
    }
    snapshot.reset();
    if (!impl_->started || impl_->wakePending.exchange(true)) {
        return;
    }
    asio::post(impl_->io, [w = std::weak_ptr<Server>(impl_)] {
        if (auto self = w.lock()) {
            self->ingest();
        }
    });
}

ServerStats MetricsServer::stats() const {
    return {impl_->scrapes.load(), impl_->refused.load(), impl_->rejected.load()};
}

} // namespace hs::metrics

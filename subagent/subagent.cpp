#include "subagent/subagent.hpp"

#include "base/asio.hpp"
#include "base/log.hpp"
#include "subagent/entity_view.hpp"
#include "subagent/mib_view.hpp"
#include "subagent/netsnmp_loop.hpp"
#include "subagent/notification.hpp"
#include "subagent/set_check.hpp"

// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>
// clang-format on

#include <atomic>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>

// Net-SNMP's AgentX session with the master (agent/mibgroup/agentx/subagent.c): exported by
// libnetsnmpagent, declared in no installed header.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables,readability-identifier-naming)
extern "C" netsnmp_session* main_session;

namespace hs::subagent {
namespace {

constexpr const char* kAppName = "hotstandbyd";
std::atomic<bool> gNetSnmpInUse{false};
std::atomic<int> gNetSnmpLogLevel{static_cast<int>(log::Level::Info)};

std::vector<oid> toNetSnmp(const Oid& o) {
    return std::vector<oid>(o.begin(), o.end());
}

Oid fromNetSnmp(const oid* name, size_t len) {
    Oid o;
    o.reserve(len);
    for (size_t i = 0; i < len; ++i) {
        o.push_back(static_cast<std::uint32_t>(name[i]));
    }
    return o;
}

// Puts VALUE into a Net-SNMP varbind (GET answers) or a notification's varbind list.
void setValue(netsnmp_variable_list* vb, const SmiValue& v) {
    auto type = static_cast<u_char>(v.type);
    switch (v.type) {
    case SmiType::Integer: {
        long i = static_cast<long>(v.integer);
        snmp_set_var_typed_value(vb, type, &i, sizeof i);
        break;
    }
    case SmiType::Counter32:
    case SmiType::Gauge32:
    case SmiType::TimeTicks: {
        u_long u = static_cast<u_long>(v.unsignedValue & 0xffffffffu);
        snmp_set_var_typed_value(vb, type, &u, sizeof u);
        break;
    }
    case SmiType::Counter64: {
        counter64 c{};
        c.high = static_cast<u_long>(v.unsignedValue >> 32);
        c.low = static_cast<u_long>(v.unsignedValue & 0xffffffffu);
        snmp_set_var_typed_value(vb, type, &c, sizeof c);
        break;
    }
    case SmiType::OctetString:
        snmp_set_var_typed_value(vb, type, v.octets.data(), v.octets.size());
        break;
    case SmiType::ObjectId: {
        std::vector<oid> o = toNetSnmp(v.objectId);
        snmp_set_var_typed_value(vb, type, o.data(), o.size() * sizeof(oid));
        break;
    }
    }
}

log::Level levelOf(int priority) {
    if (priority <= LOG_ERR) {
        return log::Level::Error;
    }
    if (priority == LOG_WARNING) {
        return log::Level::Warn;
    }
    if (priority == LOG_DEBUG) {
        return log::Level::Debug;
    }
    return log::Level::Info;
}

// Net-SNMP's logging goes to ours (SNMP_CALLBACK_LOGGING).
int onNetSnmpLog(int, int, void* serverarg, void*) {
    const auto* m = static_cast<const snmp_log_message*>(serverarg);
    if (m == nullptr || m->msg == nullptr) {
        return 0;
    }
    log::Level l = levelOf(m->priority);
    std::string_view text(m->msg);
    // Our notifications go to the master over AgentX as SNMPv2 notifications; Net-SNMP still tries
    // a v1 copy for v1 sinks the subagent does not have and complains about Counter64 varbinds.
    if (text.rfind("send_trap: v1 traps can't carry", 0) == 0 ||
        text.rfind("send_trap: failed to convert v2->v1", 0) == 0) {
        l = log::Level::Debug;
    }
    if (static_cast<int>(l) < gNetSnmpLogLevel.load()) {
        return 0;
    }
    std::string_view msg(m->msg);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) {
        msg.remove_suffix(1);
    }
    if (!msg.empty()) {
        HS_LOG(l, "netsnmp: {}", msg);
    }
    return 0;
}

} // namespace

// What the PDU being handled says about who sent it. In a subagent the request arrives from the
// AgentX master through Net-SNMP's internal callback session: the master forwards only the context
// and its transaction id (RFC 2741), so user, community and manager address are unknown here and
// the transport address is only that internal pipe.
SetRequester requesterOf(const netsnmp_agent_request_info* reqinfo) {
    SetRequester r;
    r.agentx = netsnmp_ds_get_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE) != 0;
    const netsnmp_agent_session* asp = reqinfo != nullptr ? reqinfo->asp : nullptr;
    const netsnmp_pdu* pdu = asp != nullptr ? asp->pdu : nullptr;
    if (pdu == nullptr) {
        return r;
    }
    auto text = [](const void* p, size_t n) {
        return p != nullptr ? std::string(static_cast<const char*>(p), n) : std::string();
    };
    r.transactionId = static_cast<std::uint32_t>(pdu->transid);
    r.context = text(pdu->contextName, pdu->contextNameLen);
    if (pdu->securityName != nullptr && pdu->securityNameLen > 0 &&
        pdu->securityModel == SNMP_SEC_MODEL_USM) {
        r.securityName = text(pdu->securityName, pdu->securityNameLen);
    }
    if (r.agentx) {
        return r;
    }
    if (pdu->version == SNMP_VERSION_1 || pdu->version == SNMP_VERSION_2c) {
        r.community = text(pdu->community, pdu->community_len);
    }
    if (asp->session != nullptr && pdu->transport_data != nullptr) {
        netsnmp_transport* t = snmp_sess_transport(snmp_sess_pointer(asp->session));
        if (t != nullptr) {
            char* a =
                netsnmp_transport_peer_string(t, pdu->transport_data, pdu->transport_data_length);
            if (a != nullptr) {
                r.address = a;
                free(a); // NOLINT: allocated by Net-SNMP
            }
        }
    }
    return r;
}

struct Subagent::Impl : std::enable_shared_from_this<Impl> {
    Impl(SnmpConfig c, RequestHandler h) : cfg(std::move(c)), handler(std::move(h)) {}

    SnmpConfig cfg;
    RequestHandler handler;
    asio::io_context io{1}; // one thread runs it: no reactor interrupts for our own handlers
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
    bool started = false;

    // Shared with the core's threads: short critical sections, never held across Net-SNMP calls.
    mutable std::mutex mu;
    std::shared_ptr<const Snapshot> posted;
    std::deque<PendingNotification> queue;
    std::uint32_t seq = 0;
    std::uint64_t dropped = 0;
    std::atomic<bool> wakePending{false};
    std::atomic<bool> connected{false};
    std::atomic<std::uint64_t> connects{0};
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> requests{0};

    // SNMP thread only.
    std::unique_ptr<NetSnmpLoop> loop;
    asio::steady_timer retry{io};
    bool retryPending = false;
    std::shared_ptr<const Snapshot> snap = std::make_shared<Snapshot>();
    MibView view;
    bool viewDirty = true;
    std::uint32_t viewSeq = 0;
    std::string lastControlResult;
    netsnmp_handler_registration* registration = nullptr;
    // The standard ENTITY views (entity_view.hpp): one registration per region.
    struct EntityRegion {
        Impl* self = nullptr;
        Oid region;
    };
    std::vector<std::unique_ptr<EntityRegion>> entityRegions;
    entity::EntityTracker entityTracker{HS_VERSION};
    entity::EntityView entityView;
    bool entityDirty = false; // a posted snapshot not yet in entityView (none before the first)
    asio::steady_timer configChangeTimer{io};
    std::deque<Notification> entityQueue; // waiting for the master

    // ---- any thread ----
    void wake() {
        if (wakePending.exchange(true)) {
            return;
        }
        asio::post(io, [w = weak_from_this()] {
            if (auto self = w.lock()) {
                self->drain();
            }
        });
    }

    std::uint32_t enqueue(PendingNotification q) {
        std::uint32_t s = 0;
        bool overflow = false;
        std::uint64_t droppedNow = 0;
        std::size_t limit = 0;
        {
            std::lock_guard lock(mu);
            limit = cfg.notifyQueue;
            s = q.seq = ++seq;
            while (!queue.empty() && queue.size() >= cfg.notifyQueue) {
                queue.pop_front();
                droppedNow = ++dropped;
                overflow = true;
            }
            queue.push_back(std::move(q));
        }
        if (overflow && (droppedNow % 100) == 1) { // first drop, then every 100th
            HS_WARN("snmp notification queue full (master away or not reading): dropping the "
                    "oldest queue={} seq={} dropped={}",
                    limit, s, droppedNow);
        }
        return s;
    }

    // ---- SNMP thread ----
    void run() {
        initNetSnmp();
        loop = std::make_unique<NetSnmpLoop>(io);
        loop->reschedule();
        drain();
        io.run();
        loop->shutdown();
        retry.cancel();
        configChangeTimer.cancel();
        // snmp_shutdown() free()s the client argument of every callback still registered: ours is
        // `this`, so take them out first.
        snmp_unregister_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START,
                                 &Impl::onIndexStart, this, 1);
        snmp_unregister_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP,
                                 &Impl::onIndexStop, this, 1);
        // Closes the AgentX session (bounded by the AgentX timeout) and frees the registrations.
        snmp_shutdown(kAppName);
        registration = nullptr;
        loop.reset();
        HS_INFO("snmp subagent stopped");
    }

    void initNetSnmp() {
        {
            std::lock_guard lock(mu); // reconfigure() may change it
            gNetSnmpLogLevel.store(static_cast<int>(cfg.netsnmpLogLevel));
        }
        snmp_disable_log();
        snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, onNetSnmpLog, nullptr);
        snmp_enable_calllog();

        netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
        netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET,
                              cfg.agentxSocket.c_str());
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);

        init_agent(kAppName);
        // init_agent() resets these; they must be set before init_snmp() opens the session.
        netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
                           static_cast<int>(cfg.pingInterval.count()));
        netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_TIMEOUT,
                           static_cast<int>(cfg.agentxTimeout.count() * 1000));
        netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_RETRIES, 0);

        snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START,
                               &Impl::onIndexStart, this);
        snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP,
                               &Impl::onIndexStop, this);
        registerMib();
        registerEntity();
        init_snmp(kAppName);
        HS_INFO("snmp subagent started agentx_socket={} ping_interval_s={} timeout_ms={}",
                cfg.agentxSocket, cfg.pingInterval.count(), cfg.agentxTimeout.count());
    }

    void registerMib() {
        std::vector<oid> root = toNetSnmp(mibRoot());
        registration = netsnmp_create_handler_registration(
            "hotStandbyMIB", &Impl::onMibRequest, root.data(), root.size(), HANDLER_CAN_RWRITE);
        if (registration == nullptr) {
            HS_ERROR("snmp: cannot create the HOTSTANDBY-MIB registration");
            return;
        }
        registration->handler->myvoid = this;
        int rc = netsnmp_register_handler(registration);
        if (rc != MIB_REGISTERED_OK) {
            HS_ERROR("snmp: registering HOTSTANDBY-MIB at {} failed rc={}", oidToString(mibRoot()),
                     rc);
            registration = nullptr; // freed by Net-SNMP on failure
        }
    }

    // ENTITY-MIB, ENTITY-SENSOR-MIB and ENTITY-STATE-MIB, read-only (docs/monitoring.md).
    void registerEntity() {
        const std::pair<const char*, const Oid*> regions[] = {
            {"entityMIBObjects", &entity::entityMibObjects()},
            {"entitySensorObjects", &entity::entitySensorObjects()},
            {"entStateObjects", &entity::entityStateObjects()},
        };
        for (const auto& [name, region] : regions) {
            auto r = std::make_unique<EntityRegion>(EntityRegion{this, *region});
            std::vector<oid> root = toNetSnmp(*region);
            netsnmp_handler_registration* reg = netsnmp_create_handler_registration(
                name, &Impl::onEntityRequest, root.data(), root.size(), HANDLER_CAN_RONLY);
            if (reg == nullptr) {
                HS_ERROR("snmp: cannot create the {} registration", name);
                continue;
            }
            reg->handler->myvoid = r.get();
            if (int rc = netsnmp_register_handler(reg); rc != MIB_REGISTERED_OK) {
                HS_ERROR("snmp: registering {} at {} failed rc={}", name, oidToString(*region), rc);
                continue;
            }
            entityRegions.push_back(std::move(r));
        }
    }

    // The subagent's sysUpTime (hundredths of a second): the ENTITY TimeStamps count in it.
    static std::uint64_t uptimeTicks() { return netsnmp_get_agent_uptime(); }

    void updateEntity() {
        entityDirty = false;
        std::vector<Notification> out;
        // entStateStandby: the standby module is hotStandby while its mirror is hot.
        const std::uint32_t standbySlot =
            snap->replication.writer ? snap->peer.slot : snap->local.slot;
        entityTracker.setReplicationReady(snap->local.slot, std::nullopt);
        entityTracker.setReplicationReady(snap->peer.slot, std::nullopt);
        entityTracker.setReplicationReady(standbySlot, snap->replication.standbyHot);
        entityTracker.update(*snap, uptimeTicks(), out);
        entityView = entity::EntityView(*snap, entityTracker.extras());
        sendEntity(out);
        scheduleConfigChange();
    }

    void scheduleConfigChange() {
        auto due = entityTracker.configChangeDue();
        if (!due) {
            return;
        }
        std::uint64_t now = uptimeTicks();
        auto wait = std::chrono::milliseconds(*due > now ? (*due - now) * 10 : 0);
        configChangeTimer.expires_after(wait);
        configChangeTimer.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
            if (ec) {
                return;
            }
            if (auto self = w.lock()) {
                std::vector<Notification> out;
                self->entityTracker.takeConfigChange(uptimeTicks(), out);
                self->sendEntity(out);
                self->scheduleConfigChange();
            }
        });
    }

    // ENTITY notifications carry no hsNotificationSeq. They wait for the master in a queue of
    // their own, bounded by kEntityQueue (the oldest dropped: entLastChangeTime and entStateTable
    // tell the state anyway).
    static constexpr std::size_t kEntityQueue = 32;

    void sendEntity(const std::vector<Notification>& out) {
        for (const Notification& n : out) {
            if (entityQueue.size() >= kEntityQueue) {
                entityQueue.pop_front();
                HS_DEBUG("snmp entity notification queue full: dropping the oldest");
            }
            entityQueue.push_back(n);
        }
        if (connected) {
            flushEntity();
        }
    }

    void flushEntity() {
        while (!entityQueue.empty()) {
            if (!loop || !loop->canSend()) {
                scheduleRetry();
                return;
            }
            send(entityQueue.front());
            ++sent;
            HS_DEBUG("snmp entity notification sent {}", oidToString(entityQueue.front().trapOid));
            entityQueue.pop_front();
        }
    }

    static int onEntityRequest(netsnmp_mib_handler* handler, netsnmp_handler_registration*,
                               netsnmp_agent_request_info* reqinfo,
                               netsnmp_request_info* requests) {
        auto* region = static_cast<EntityRegion*>(handler->myvoid);
        Impl* self = region->self;
        if (self->entityDirty) {
            self->updateEntity();
        }
        for (netsnmp_request_info* r = requests; r != nullptr; r = r->next) {
            if (r->processed) {
                continue;
            }
            netsnmp_variable_list* vb = r->requestvb;
            Oid name = fromNetSnmp(vb->name, vb->name_length);
            if (reqinfo->mode == MODE_GET) {
                if (const VarBind* e = self->entityView.get(name); e != nullptr) {
                    setValue(vb, e->value);
                } else {
                    netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHINSTANCE);
                }
            } else if (reqinfo->mode == MODE_GETNEXT) {
                const VarBind* e = self->entityView.next(name, r->inclusive != 0, region->region);
                if (e != nullptr) {
                    std::vector<oid> next = toNetSnmp(e->oid);
                    snmp_set_var_objid(vb, next.data(), next.size());
                    setValue(vb, e->value);
                } else {
                    netsnmp_set_request_error(reqinfo, r, SNMP_ENDOFMIBVIEW);
                }
            }
        }
        return SNMP_ERR_NOERROR;
    }

    // New AgentX settings (a reload). Net-SNMP reads them whenever it opens the session to the
    // master; the open session is shut down here (its socket, as if the master went away), and
    // Net-SNMP opens a new one with them after ping_interval_s, as after a restart of snmpd
    // (onIndexStop, then onIndexStart registers the MIB again and a stateResync goes out).
    void applyAgentx(const SnmpConfig& next) {
        netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET,
                              next.agentxSocket.c_str());
        netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
                           static_cast<int>(next.pingInterval.count()));
        netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_TIMEOUT,
                           static_cast<int>(next.agentxTimeout.count() * 1000));
        {
            std::lock_guard lock(mu); // written here only; reconfigure() compares under the lock
            cfg.agentxSocket = next.agentxSocket;
            cfg.pingInterval = next.pingInterval;
            cfg.agentxTimeout = next.agentxTimeout;
        }
        bool open = false;
        if (main_session != nullptr) {
            netsnmp_transport* t = snmp_sess_transport(snmp_sess_pointer(main_session));
            if (t != nullptr && t->sock >= 0) {
                ::shutdown(t->sock, SHUT_RDWR); // Net-SNMP reads EOF: the master went away
                open = true;
            }
        }
        HS_INFO("snmp event=agentx_reconfigured agentx_socket={} ping_interval_s={} timeout_ms={} "
                "reconnect={}",
                cfg.agentxSocket, cfg.pingInterval.count(), cfg.agentxTimeout.count(),
                open ? "now" : "at the next retry");
        if (loop) {
            loop->invalidate();
            loop->reschedule();
        }
    }

    static int onIndexStart(int, int, void* server, void* client) {
        auto* self = static_cast<Impl*>(client);
        // AgentX retries of 0 in the default store mean "library default" (several resends, so
        // a slow master gets duplicates): set none on the open session itself.
        if (auto* session = static_cast<netsnmp_session*>(server); session != nullptr) {
            session->retries = 0;
        }
        self->connected = true;
        ++self->connects;
        if (self->loop) {
            self->loop->invalidate(); // the AgentX socket may have its old fd number
        }
        HS_INFO("snmp agentx connected to master socket={} connects={}", self->cfg.agentxSocket,
                self->connects.load());
        // Resync after the registrations that follow this callback: queue it, send on drain.
        self->enqueue(PendingNotification{true, {}, 0, nullptr});
        self->wake();
        return 0;
    }

    static int onIndexStop(int, int, void*, void* client) {
        auto* self = static_cast<Impl*>(client);
        if (self->loop) {
            self->loop->invalidate();
        }
        if (self->connected.exchange(false)) {
            HS_WARN("snmp agentx master went away socket={}; retrying every {}s",
                    self->cfg.agentxSocket, self->cfg.pingInterval.count());
        }
        return 0;
    }

    void drain() {
        wakePending = false;
        {
            std::lock_guard lock(mu);
            if (posted) {
                snap = std::move(posted);
                posted.reset();
                viewDirty = true;
                entityDirty = true;
            }
        }
        if (entityDirty) {
            updateEntity();
        }
        if (connected) {
            flushEntity();
            flush();
        }
        // else: onIndexStart() wakes us when the master is back.
        if (loop) {
            loop->reschedule();
        }
    }

    void flush() {
        for (;;) {
            if (!loop || !loop->canSend()) {
                scheduleRetry(); // the master is not reading: keep the queue, try again soon
                return;
            }
            PendingNotification q;
            {
                std::lock_guard lock(mu);
                if (queue.empty()) {
                    return;
                }
                q = std::move(queue.front());
                queue.pop_front();
            }
            send(render(q, *snap));
            ++sent;
            HS_DEBUG("snmp notification sent seq={} type={}", q.seq,
                     q.resync ? std::string_view("stateResync") : toString(q.event.type));
        }
    }

    void scheduleRetry() {
        if (retryPending) {
            return;
        }
        retryPending = true;
        retry.expires_after(std::chrono::milliseconds(100));
        retry.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
            if (ec) {
                return;
            }
            if (auto self = w.lock()) {
                self->retryPending = false;
                self->drain();
            }
        });
    }

    static void send(const Notification& n) {
        static const oid kSnmpTrapOid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
        netsnmp_variable_list* vars = nullptr;
        std::vector<oid> trap = toNetSnmp(n.trapOid);
        snmp_varlist_add_variable(&vars, kSnmpTrapOid, OID_LENGTH(kSnmpTrapOid), ASN_OBJECT_ID,
                                  trap.data(), trap.size() * sizeof(oid));
        for (const VarBind& vb : n.varbinds) {
            std::vector<oid> name = toNetSnmp(vb.oid);
            netsnmp_variable_list* v =
                snmp_varlist_add_variable(&vars, name.data(), name.size(), ASN_NULL, nullptr, 0);
            if (v != nullptr) {
                setValue(v, vb.value);
            }
        }
        send_v2trap(vars);
        snmp_free_varbind(vars);
    }

    const MibView& currentView() {
        std::uint32_t currentSeq = 0;
        {
            std::lock_guard lock(mu);
            currentSeq = seq;
        }
        if (viewDirty || currentSeq != viewSeq) {
            ViewExtras x;
            x.notificationSeq = viewSeq = currentSeq;
            x.lastControlResult = lastControlResult;
            view = MibView(*snap, x);
            viewDirty = false;
        }
        return view;
    }

    static int onMibRequest(netsnmp_mib_handler* handler, netsnmp_handler_registration*,
                            netsnmp_agent_request_info* reqinfo, netsnmp_request_info* requests) {
        auto* self = static_cast<Impl*>(handler->myvoid);
        for (netsnmp_request_info* r = requests; r != nullptr; r = r->next) {
            if (r->processed) {
                continue;
            }
            self->onOneRequest(reqinfo, r);
        }
        return SNMP_ERR_NOERROR;
    }

    void onOneRequest(netsnmp_agent_request_info* reqinfo, netsnmp_request_info* r) {
        netsnmp_variable_list* vb = r->requestvb;
        Oid name = fromNetSnmp(vb->name, vb->name_length);
        switch (reqinfo->mode) {
        case MODE_GET: {
            const VarBind* e = currentView().get(name);
            if (e != nullptr) {
                setValue(vb, e->value);
            } else {
                netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHINSTANCE);
            }
            return;
        }
        case MODE_GETNEXT: {
            const VarBind* e = currentView().next(name, r->inclusive != 0);
            if (e != nullptr) {
                std::vector<oid> next = toNetSnmp(e->oid);
                snmp_set_var_objid(vb, next.data(), next.size());
                setValue(vb, e->value);
            } else {
                // Past our last object: the master moves on to the next registration.
                netsnmp_set_request_error(reqinfo, r, SNMP_ENDOFMIBVIEW);
            }
            return;
        }
        case MODE_SET_RESERVE1:
        case MODE_SET_RESERVE2: {
            SetStage stage =
                reqinfo->mode == MODE_SET_RESERVE1 ? SetStage::Syntax : SetStage::Consistency;
            SetDecision d = decide(name, vb, stage);
            if (d.error != SetError::NoError) {
                HS_WARN("snmp set refused oid={} error={} reason=\"{}\" origin={}",
                        oidToString(name), toString(d.error), d.reason,
                        setOrigin(requesterOf(reqinfo)));
                netsnmp_set_request_error(reqinfo, r, static_cast<int>(d.error));
            }
            return;
        }
        case MODE_SET_COMMIT: {
            SetDecision d = decide(name, vb, SetStage::Syntax);
            if (d.error == SetError::NoError) {
                std::string origin = setOrigin(requesterOf(reqinfo));
                HS_INFO("snmp set accepted oid={} value={} action=\"{}\" origin={}",
                        oidToString(name), valueOf(vb), d.reason, origin);
                if (d.hasRequest) {
                    d.request.origin = std::move(origin);
                    dispatch(std::move(d.request));
                }
            }
            return;
        }
        default:
            return; // ACTION, UNDO, FREE: nothing is changed locally
        }
    }

    // The varbind's integer value; 0 for other types (checkSet reports a wrong type).
    static std::int64_t valueOf(const netsnmp_variable_list* vb) {
        std::int64_t value = 0;
        switch (vb->type) {
        case ASN_INTEGER:
            value = *vb->val.integer;
            break;
        case ASN_UNSIGNED:
        case ASN_COUNTER:
        case ASN_TIMETICKS:
            value = static_cast<std::int64_t>(*reinterpret_cast<const u_long*>(vb->val.integer));
            break;
        default:
            break;
        }
        return value;
    }

    SetDecision decide(const Oid& name, const netsnmp_variable_list* vb, SetStage stage) {
        return checkSet(name, vb->type, valueOf(vb), *snap, stage);
    }

    void dispatch(ControlRequest req) {
        ++requests;
        HS_INFO("snmp control request op={} zone={} value={} origin={}", toString(req.op), req.zone,
                req.value, req.origin);
        if (!handler) {
            onControlResult(req.op, {ControlStatus::Unavailable, "no request handler"});
            return;
        }
        ControlOp op = req.op;
        handler(std::move(req), [w = weak_from_this(), op](ControlResult res) {
            auto self = w.lock();
            if (!self) {
                return;
            }
            asio::post(self->io, [w, op, res = std::move(res)] {
                if (auto s = w.lock()) {
                    s->onControlResult(op, res);
                }
            });
        });
    }

    void onControlResult(ControlOp op, const ControlResult& res) {
        lastControlResult = fmt::format("{}: {}", toString(res.status), toString(op));
        if (!res.message.empty()) {
            lastControlResult += ": " + res.message;
        }
        viewDirty = true;
        if (res.status == ControlStatus::Ok) {
            HS_INFO("snmp control result op={} status=ok message=\"{}\"", toString(op),
                    res.message);
        } else {
            HS_WARN("snmp control result op={} status={} message=\"{}\"", toString(op),
                    toString(res.status), res.message);
        }
    }
};

Subagent::Subagent(SnmpConfig cfg, RequestHandler onRequest)
    : impl_(std::make_shared<Impl>(std::move(cfg), std::move(onRequest))) {}

Subagent::~Subagent() {
    stop();
}

void Subagent::start() {
    if (impl_->started) {
        return;
    }
    if (!impl_->cfg.enabled) {
        HS_INFO("snmp subagent disabled ([snmp] enabled = false)");
        return; // publish() and notify() stay cheap: the latest snapshot and a bounded queue
    }
    if (gNetSnmpInUse.exchange(true)) {
        throw std::logic_error("hs::subagent::Subagent: Net-SNMP is already used by another "
                               "Subagent in this process");
    }
    impl_->started = true;
    impl_->work.emplace(asio::make_work_guard(impl_->io));
    impl_->thread = std::thread([self = impl_] { self->run(); });
}

void Subagent::stop() {
    if (!impl_ || !impl_->started || !impl_->thread.joinable()) {
        return;
    }
    impl_->work.reset();
    impl_->io.stop();
    impl_->thread.join();
    gNetSnmpInUse = false;
}

void Subagent::publish(std::shared_ptr<const Snapshot> snapshot) {
    if (!snapshot) {
        return;
    }
    {
        std::lock_guard lock(impl_->mu);
        std::swap(impl_->posted, snapshot);
    }
    snapshot.reset(); // an unread older snapshot is freed outside the lock
    impl_->wake();
}

std::uint32_t Subagent::notify(const Event& event, std::shared_ptr<const Snapshot> snapshot) {
    std::uint32_t s = impl_->enqueue(PendingNotification{false, event, 0, std::move(snapshot)});
    impl_->wake();
    return s;
}

void Subagent::reconfigure(const SnmpConfig& next) {
    gNetSnmpLogLevel.store(static_cast<int>(next.netsnmpLogLevel));
    bool agentx = false;
    {
        std::lock_guard lock(impl_->mu);
        impl_->cfg.notifyQueue = next.notifyQueue;
        impl_->cfg.netsnmpLogLevel = next.netsnmpLogLevel;
        agentx = next.agentxSocket != impl_->cfg.agentxSocket ||
                 next.pingInterval != impl_->cfg.pingInterval ||
                 next.agentxTimeout != impl_->cfg.agentxTimeout;
        if (agentx && !impl_->started) { // no SNMP thread (disabled): nothing to reconnect
            impl_->cfg.agentxSocket = next.agentxSocket;
            impl_->cfg.pingInterval = next.pingInterval;
            impl_->cfg.agentxTimeout = next.agentxTimeout;
            agentx = false;
        }
    }
    if (!agentx) {
        return;
    }
    asio::post(impl_->io, [w = std::weak_ptr<Impl>(impl_), next] {
        if (auto self = w.lock()) {
            self->applyAgentx(next);
        }
    });
}

SubagentStats Subagent::stats() const {
    SubagentStats st;
    st.connected = impl_->connected;
    st.connects = impl_->connects;
    st.notificationsSent = impl_->sent;
    st.requests = impl_->requests;
    std::lock_guard lock(impl_->mu);
    st.notificationsDropped = impl_->dropped;
    st.notificationsQueued = impl_->queue.size();
    st.lastSeq = impl_->seq;
    return st;
}

} // namespace hs::subagent

// Net-SNMP's sockets and alarms folded into an asio::io_context. Net-SNMP owns its fds: they are
// release()d, never closed by Asio. On reconnect the AgentX socket comes back with the SAME fd
// number and an old registration would silently never fire, so the descriptors are registered
// afresh whenever the fd set changes, a session opens or closes (invalidate()), and on every alarm
// tick (a safety net); between those, a GET costs one re-armed wait, not a re-registration.
// Use on the SNMP thread only.
#pragma once

#include "base/asio.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace hs::subagent {

class NetSnmpLoop {
  public:
    explicit NetSnmpLoop(asio::io_context& io);
    // shutdown() only cancels and releases (no throw in practice); if it ever threw, terminating
    // would be right: Net-SNMP's fds would stay watched.
    // NOLINTNEXTLINE(bugprone-exception-escape)
    ~NetSnmpLoop();
    NetSnmpLoop(const NetSnmpLoop&) = delete;
    NetSnmpLoop& operator=(const NetSnmpLoop&) = delete;

    // Re-reads snmp_select_info2() and re-arms the descriptor waits and the alarm timer.
    void reschedule();
    // The next reschedule() registers every descriptor afresh (call on session open/close).
    void invalidate() { invalid_ = true; }
    // True when every Net-SNMP socket has room to send (poll POLLOUT, no wait). A master that
    // stopped reading (SIGSTOP) fills the AgentX socket; Net-SNMP's sends would then fail (EAGAIN).
    bool canSend() const;
    // Releases every descriptor and cancels the timer; reschedule() does nothing afterwards.
    void shutdown();

  private:
    struct Watch {
        int fd = -1;
        std::unique_ptr<asio::posix::stream_descriptor> desc;
        bool waiting = false;
    };

    void releaseAll();
    void arm(std::size_t i);
    void processReady();
    void onReadable(std::uint64_t gen, std::size_t i, const boost::system::error_code& ec);
    void onTimer(const boost::system::error_code& ec);

    asio::io_context& io_;
    asio::steady_timer timer_;
    bool timerArmed_ = false;
    std::vector<Watch> watches_;
    std::uint64_t gen_ = 0;
    bool invalid_ = true;
    bool stopped_ = false;
};

} // namespace hs::subagent

// Net-SNMP's sockets and alarms folded into an asio::io_context. After every event the descriptors
// are registered afresh: on reconnect the AgentX socket comes back with the SAME fd number, and an
// old registration would silently never fire. Net-SNMP owns its fds: they are release()d, never
// closed by Asio. Use on the SNMP thread only.
#pragma once

#include "core/asio.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace hs::subagent {

class NetSnmpLoop {
  public:
    // afterEvent runs on the thread after Net-SNMP processed input or alarms.
    NetSnmpLoop(asio::io_context& io, std::function<void()> afterEvent);
    ~NetSnmpLoop();
    NetSnmpLoop(const NetSnmpLoop&) = delete;
    NetSnmpLoop& operator=(const NetSnmpLoop&) = delete;

    // Re-reads snmp_select_info2() and re-arms the descriptor waits and the alarm timer.
    void reschedule();
    // True when every Net-SNMP socket has room to send (poll POLLOUT, no wait). A master that
    // stopped reading (SIGSTOP) fills the AgentX socket; Net-SNMP's sends would then fail (EAGAIN).
    bool canSend() const;
    // Releases every descriptor and cancels the timer; reschedule() does nothing afterwards.
    void shutdown();

  private:
    void releaseAll();
    void onReadable(std::uint64_t gen, int fd, const boost::system::error_code& ec);
    void onTimer(std::uint64_t gen, const boost::system::error_code& ec);

    asio::io_context& io_;
    std::function<void()> afterEvent_;
    asio::steady_timer timer_;
    std::vector<std::unique_ptr<asio::posix::stream_descriptor>> fds_;
    std::uint64_t gen_ = 0;
    bool stopped_ = false;
};

} // namespace hs::subagent

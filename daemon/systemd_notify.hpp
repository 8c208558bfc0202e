// sd_notify(3) that never blocks. libsystemd's sd_notify() sends with a blocking sendmsg(): when
// the notify socket's queue is full (the service manager does not read it: hung, or a test's
// socket nobody drains), the sender waits, and the core thread would stop heartbeating. Here every
// message is sent with MSG_DONTWAIT; one that would block is dropped and counted (the next
// WATCHDOG=1 or STATUS= goes out as usual once the queue drains). Thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace hs {

// Sends msg to $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). Returns true when
// sent; false without NOTIFY_SOCKET, or when the message was dropped (queue full, error).
bool notifySystemd(std::string_view msg);

// Messages dropped because the socket's queue was full (or the send failed) since the start.
std::uint64_t notifyDropped();

} // namespace hs

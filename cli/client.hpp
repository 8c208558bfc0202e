// hsctl's side of the control socket: connect, send one JSON request line, read one response line.
// Blocking with a deadline; it is a command-line tool.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace hs::cli {

// Could not talk to the daemon at all (exit code 2).
class ConnectError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class ControlClient {
  public:
    explicit ControlClient(std::string socketPath) : path_(std::move(socketPath)) {}
    ~ControlClient();
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;

    void connect(); // throws ConnectError naming the socket path
    // Sends REQUEST and returns the daemon's response object. Throws ConnectError.
    nlohmann::json call(const nlohmann::json& request, std::chrono::milliseconds timeout);

  private:
    std::string readLine(std::chrono::milliseconds timeout);

    std::string path_;
    int fd_ = -1;
    std::string buffer_;
};

} // namespace hs::cli

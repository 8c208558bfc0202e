// Serial path over RS-232 (real UARTs) or pseudo-terminals (socat in tests). Opens the device with
// libserialport when it accepts it (real UARTs) and with termios otherwise (ptys, which
// libserialport refuses). Either way the descriptor is non-blocking and driven by an
// asio::posix::stream_descriptor. Frames are wrapped with wrapStream() and split by a
// StreamDeframer. On hang-up or any read/write error the device is closed and reopened by path
// every reopenInterval (a restarted socat puts a new pty behind the same symlink).
#include "hb/link_common.hpp"
#include "hb/serial_ports.hpp"

#include <cerrno>
#include <fcntl.h>
#include <functional>
#include <libserialport.h>
#include <termios.h>
#include <unistd.h>

namespace hs::hb::detail {
namespace {

bool baudConstant(std::uint32_t baud, speed_t& out) {
    switch (baud) {
    case 1200:
        out = B1200;
        return true;
    case 2400:
        out = B2400;
        return true;
    case 4800:
        out = B4800;
        return true;
    case 9600:
        out = B9600;
        return true;
    case 19200:
        out = B19200;
        return true;
    case 38400:
        out = B38400;
        return true;
    case 57600:
        out = B57600;
        return true;
    case 115200:
        out = B115200;
        return true;
    case 230400:
        out = B230400;
        return true;
    case 460800:
        out = B460800;
        return true;
    case 921600:
        out = B921600;
        return true;
    default:
        return false;
    }
}

std::error_code lastErrno() {
    return {errno, std::generic_category()};
}

class SerialLink final : public LinkCore, public std::enable_shared_from_this<SerialLink> {
  public:
    SerialLink(asio::io_context& io, LinkConfig cfg)
        : LinkCore(io, std::move(cfg)), desc_(io), reopenTimer_(io),
          deframer_(std::bind_front(&SerialLink::onFrame, this)) {}

    ~SerialLink() { closeDevice(); }
    SerialLink(const SerialLink&) = delete;
    SerialLink& operator=(const SerialLink&) = delete;

    void start(Link::RxHandler onRx, Link::ErrorHandler onError) {
        if (started_ || stopped_) {
            return;
        }
        started_ = true;
        setCallbacks(std::move(onRx), std::move(onError));
        open();
    }

    void send(std::span<const std::uint8_t> frame) {
        if (stopped_) {
            return;
        }
        std::vector<std::uint8_t> wrapped;
        wrapStream(frame, wrapped);
        stats_.dropped += queue_.push(std::move(wrapped));
        startWrite();
    }

    void stop() {
        if (stopped_) {
            return;
        }
        stopped_ = true;
        reopenTimer_.cancel();
        closeDevice();
        queue_.clear();
        dropCallbacks();
    }

    std::string endpoint() const { return cfg_.device + "@" + std::to_string(cfg_.baud); }
    LinkStats stats() const {
        LinkStats s = stats_;
        s.streamGarbage = deframer_.garbageBytes();
        s.streamCrcErrors = deframer_.crcErrors();
        return s;
    }
    bool connected() const { return desc_.is_open(); }

  private:
    std::string where() const { return "serial " + cfg_.name + ": " + cfg_.device + ": "; }

    // ---- open / close ----
    void open() {
        std::string spMessage;
        int fd = openWithLibserialport(spMessage);
        if (fd < 0) {
            std::error_code ec;
            fd = openWithTermios(ec, spMessage);
            if (fd < 0) {
                reportError("open", ec, where() + spMessage);
                scheduleReopen();
                return;
            }
        }
        ::tcflush(fd, TCIFLUSH); // bytes buffered while we were away are stale
        deframer_.reset();
        boost::system::error_code ec;
        desc_.assign(fd, ec);
        if (ec) {
            closeFd(fd);
            reportError("open", ec, where() + "cannot watch descriptor: " + ec.message());
            scheduleReopen();
            return;
        }
        if (opened_) {
            ++stats_.reopens;
        }
        opened_ = true;
        markHealthy();
        startRead();
        startWrite();
    }

    // Real UARTs: libserialport opens and configures them (8N1, no flow control). Returns the fd or
    // -1 (ptys and missing devices end up here; the termios path then reports the error).
    int openWithLibserialport(std::string& message) {
        sp_port* port = nullptr;
        bool opened = false;
        auto fail = [&](const char* step, sp_return ret) {
            std::string text;
            const auto ec = lastSerialPortError(ret, text);
            message =
                std::string("libserialport ") + step + ": " + (text.empty() ? ec.message() : text);
            if (opened) {
                sp_close(port);
            }
            if (port != nullptr) {
                sp_free_port(port);
            }
            return -1;
        };
        sp_return ret = sp_get_port_by_name(cfg_.device.c_str(), &port);
        if (ret != SP_OK) {
            return fail("sp_get_port_by_name", ret);
        }
        if ((ret = sp_open(port, SP_MODE_READ_WRITE)) != SP_OK) {
            return fail("sp_open", ret);
        }
        opened = true;
        if ((ret = configure(port)) != SP_OK) {
            return fail("configure 8N1", ret);
        }
        int fd = -1;
        if ((ret = sp_get_port_handle(port, &fd)) != SP_OK) {
            return fail("sp_get_port_handle", ret);
        }
        const int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
            return fail("fcntl O_NONBLOCK", SP_ERR_SUPP);
        }
        spPort_ = port;
        return fd;
    }

    sp_return configure(sp_port* port) const {
        sp_return ret = sp_set_baudrate(port, static_cast<int>(cfg_.baud));
        if (ret == SP_OK) {
            ret = sp_set_bits(port, 8);
        }
        if (ret == SP_OK) {
            ret = sp_set_parity(port, SP_PARITY_NONE);
        }
        if (ret == SP_OK) {
            ret = sp_set_stopbits(port, 1);
        }
        if (ret == SP_OK) {
            ret = sp_set_flowcontrol(port, SP_FLOWCONTROL_NONE);
        }
        return ret;
    }

    // Ptys and anything libserialport refuses: plain open + raw termios.
    int openWithTermios(std::error_code& ec, std::string& message) {
        const std::string spNote = message.empty() ? "" : " (" + message + ")";
        speed_t speed = B0;
        if (!baudConstant(cfg_.baud, speed)) {
            ec = std::make_error_code(std::errc::invalid_argument);
            message = "unsupported baud rate " + std::to_string(cfg_.baud);
            return -1;
        }
        const int fd = ::open(cfg_.device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            ec = lastErrno();
            message = "cannot open: " + ec.message() + spNote;
            return -1;
        }
        termios tio{};
        if (::tcgetattr(fd, &tio) != 0) {
            ec = lastErrno();
            message = "not a serial device: " + ec.message() + spNote;
            closeFd(fd);
            return -1;
        }
        ::cfmakeraw(&tio);
        tio.c_cflag |= CLOCAL | CREAD;
        tio.c_cflag &= ~static_cast<tcflag_t>(CRTSCTS | CSTOPB);
        tio.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY);
        tio.c_cc[VMIN] = 1;
        tio.c_cc[VTIME] = 0;
        if (::cfsetispeed(&tio, speed) != 0 || ::cfsetospeed(&tio, speed) != 0 ||
            ::tcsetattr(fd, TCSANOW, &tio) != 0) {
            ec = lastErrno();
            message = "cannot configure " + std::to_string(cfg_.baud) +
                      " 8N1 raw: " + ec.message() + spNote;
            closeFd(fd);
            return -1;
        }
        return fd;
    }

    static void closeFd(int fd) {
        if (fd >= 0) {
            ::close(fd);
        }
    }

    // Closes the device; pending handlers see operation_aborted and a stale generation.
    void closeDevice() {
        ++gen_;
        if (desc_.is_open()) {
            if (spPort_ != nullptr) {
                desc_.release(); // sp_close() owns the descriptor
            } else {
                boost::system::error_code ignored;
                desc_.close(ignored);
            }
        }
        if (spPort_ != nullptr) {
            sp_close(spPort_);
            sp_free_port(spPort_);
            spPort_ = nullptr;
        }
        queue_.abortWrite();
    }

    void closeAndReopen() {
        closeDevice();
        scheduleReopen();
    }

    void scheduleReopen() {
        reopenTimer_.expires_after(cfg_.reopenInterval);
        reopenTimer_.async_wait(std::bind_front(&SerialLink::onReopenTimer, shared_from_this()));
    }

    void onReopenTimer(const boost::system::error_code& ec) {
        if (ec || stopped_) {
            return;
        }
        open();
    }

    // ---- read ----
    void startRead() {
        desc_.async_read_some(asio::buffer(rxBuf_),
                              std::bind_front(&SerialLink::onRead, shared_from_this(), gen_));
    }

    void onRead(std::uint64_t gen, const boost::system::error_code& ec, std::size_t n) {
        if (stopped_ || gen != gen_) {
            return;
        }
        if (ec) {
            // EIO / EOF: the other end hung up (socat gone, USB adapter unplugged).
            ++stats_.ioErrors;
            reportError("read", ec,
                        where() + (ec == asio::error::eof ? "hang-up" : "read failed") + ": " +
                            ec.message() + "; reopening every " +
                            std::to_string(cfg_.reopenInterval.count()) + " ms");
            closeAndReopen();
            return;
        }
        rxTime_ = Clock::now();
        deframer_.feed(std::span<const std::uint8_t>(rxBuf_.data(), n));
        if (!stopped_ && gen == gen_) {
            startRead();
        }
    }

    void onFrame(std::span<const std::uint8_t> frame) { deliver(frame, rxTime_); }

    // ---- write: one write in flight, the rest in the bounded queue ----
    void startWrite() {
        if (!desc_.is_open() || !queue_.beginWrite()) {
            return;
        }
        asio::async_write(desc_, asio::buffer(queue_.inFlight()),
                          std::bind_front(&SerialLink::onWritten, shared_from_this(), gen_));
    }

    void onWritten(std::uint64_t gen, const boost::system::error_code& ec, std::size_t) {
        if (stopped_ || gen != gen_) {
            return;
        }
        if (ec) {
            ++stats_.sendErrors;
            reportError("write", ec, where() + "write failed: " + ec.message() + "; reopening");
            closeAndReopen();
            return;
        }
        queue_.endWrite();
        startWrite();
    }

    asio::posix::stream_descriptor desc_;
    asio::steady_timer reopenTimer_;
    sp_port* spPort_ = nullptr;
    StreamDeframer deframer_;
    TimePoint rxTime_{};
    std::array<std::uint8_t, 2048> rxBuf_{};
    std::uint64_t gen_ = 0;
    bool opened_ = false;
};

} // namespace

std::unique_ptr<Link> makeSerialLink(asio::io_context& io, const LinkConfig& cfg) {
    return std::make_unique<LinkHandle<SerialLink>>(std::make_shared<SerialLink>(io, cfg));
}

} // namespace hs::hb::detail

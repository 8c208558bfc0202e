#include "daemon/state_files.hpp"

#include "base/log.hpp"

#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <fmt/format.h>
#include <limits>
#include <optional>
#include <string>
#include <unistd.h>

namespace hs {
namespace {

std::error_code lastError() {
    return {errno, std::generic_category()};
}

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

std::error_code writeAll(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return lastError();
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

// Returns nullopt when the file does not exist; throws StateError when it is unreadable/corrupt.
std::optional<std::uint64_t> readCounter(const std::filesystem::path& file, std::uint64_t max) {
    Fd f(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (f.fd < 0) {
        if (errno == ENOENT) {
            return std::nullopt;
        }
        throw StateError(fmt::format("{}: cannot open: {}", file.string(), lastError().message()));
    }
    char buf[64];
    ssize_t n = 0;
    do {
        n = ::read(f.fd, buf, sizeof buf);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        throw StateError(fmt::format("{}: cannot read: {}", file.string(), lastError().message()));
    }
    std::string_view text(buf, static_cast<std::size_t>(n));
    if (!text.empty() && text.back() == '\n') {
        text.remove_suffix(1);
    }
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > max) {
        throw CorruptStateError(
            fmt::format("{} is corrupt (expected one decimal number, found '{}'); "
                        "restore it from the peer's value or remove it only if "
                        "you know this node must start from 0",
                        file.string(), std::string(text.substr(0, 24))));
    }
    return v;
}

} // namespace

std::error_code writeFileAtomic(const std::filesystem::path& file, std::string_view content) {
    auto tmp = file;
    tmp += ".tmp";
    // A temp file left by a crash, or anything placed at its name, is removed, never written
    // through: O_EXCL|O_NOFOLLOW create a new file or fail.
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {
        return lastError();
    }
    {
        Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (f.fd < 0) {
            return lastError();
        }
        if (::fchmod(f.fd, 0600) != 0) {
            return lastError();
        }
        if (auto ec = writeAll(f.fd, content)) {
            return ec;
        }
        if (::fsync(f.fd) != 0) {
            return lastError();
        }
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        auto ec = lastError();
        ::unlink(tmp.c_str());
        return ec;
    }
    auto parent = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
    Fd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.fd < 0) {
        return lastError();
    }
    if (::fsync(dir.fd) != 0) {
        return lastError();
    }
    return {};
}

StateFiles::StateFiles(std::filesystem::path dir) : dir_(std::move(dir)) {}

void StateFiles::load() {
    epoch_ = readCounter(epochFile(), std::numeric_limits<std::uint64_t>::max()).value_or(0);
    auto inc = readCounter(incarnationFile(), std::numeric_limits<std::uint32_t>::max() - 1);
    incarnation_ = static_cast<std::uint32_t>(inc.value_or(0) + 1);
    if (auto ec = writeFileAtomic(incarnationFile(), fmt::format("{}\n", incarnation_))) {
        throw StateError(fmt::format("{}: cannot persist incarnation: {}",
                                     incarnationFile().string(), ec.message()));
    }
    HS_INFO("state loaded dir={} epoch={} incarnation={}", dir_.string(), epoch_, incarnation_);
}

std::error_code StateFiles::persistEpoch(std::uint64_t epoch) const {
    return writeFileAtomic(epochFile(), fmt::format("{}\n", epoch));
}

void StateFiles::loadPeerIncarnation() {
    peerIncarnation_ = static_cast<std::uint32_t>(
        readCounter(peerIncarnationFile(), std::numeric_limits<std::uint32_t>::max()).value_or(0));
}

std::error_code StateFiles::persistPeerIncarnation(std::uint32_t incarnation) const {
    return writeFileAtomic(peerIncarnationFile(), fmt::format("{}\n", incarnation));
}

EpochPersister::EpochPersister(asio::io_context& core, const StateFiles& files)
    : core_(core), files_(files), guard_(worker_.get_executor()),
      thread_([this] { worker_.run(); }) {}

EpochPersister::~EpochPersister() {
    guard_.reset();
    thread_.join();
}

void EpochPersister::persist(std::uint64_t epoch, Done done) {
    asio::post(worker_, [this, epoch, done = std::move(done)]() { write(epoch, done); });
}

void EpochPersister::write(std::uint64_t epoch, const Done& done) {
    std::error_code ec = files_.persistEpoch(epoch);
    asio::post(core_, [done, epoch, ec]() { done(epoch, ec); });
}

void EpochPersister::persistPeerIncarnation(std::uint32_t incarnation, PeerDone done) {
    asio::post(worker_, [this, incarnation, done = std::move(done)]() {
        std::error_code ec = files_.persistPeerIncarnation(incarnation);
        asio::post(core_, [done, incarnation, ec]() { done(incarnation, ec); });
    });
}

} // namespace hs

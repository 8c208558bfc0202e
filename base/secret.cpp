#include "base/secret.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace hs {
namespace {

std::string errnoText(int err) {
    return std::error_code(err, std::generic_category()).message();
}

} // namespace

void wipeMemory(void* p, std::size_t n) noexcept {
    if (p != nullptr && n > 0) {
        ::explicit_bzero(p, n);
    }
}

// ---- SecretBytes ----

SecretBytes::SecretBytes(std::size_t size)
    : data_(std::make_unique<std::uint8_t[]>(size + 1)), size_(size) {}

SecretBytes::SecretBytes(std::span<const std::uint8_t> bytes) : SecretBytes(bytes.size()) {
    std::copy(bytes.begin(), bytes.end(), data_.get());
}

SecretBytes::SecretBytes(std::string_view text) : SecretBytes(text.size()) {
    std::copy(text.begin(), text.end(), data_.get());
}

SecretBytes::~SecretBytes() {
    wipe();
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(other.size_) {
    other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
        wipe();
        data_ = std::move(other.data_);
        size_ = other.size_;
        other.size_ = 0;
    }
    return *this;
}

void SecretBytes::truncate(std::size_t n) {
    if (n >= size_) {
        return;
    }
    wipeMemory(data_.get() + n, size_ - n);
    size_ = n;
}

void SecretBytes::wipe() noexcept {
    if (data_) {
        wipeMemory(data_.get(), size_ + 1);
    }
    size_ = 0;
}

// ---- SharedSecret ----

SharedSecret::SharedSecret(SecretBytes bytes)
    : secret_(std::make_shared<const SecretBytes>(std::move(bytes))) {}

SharedSecret::SharedSecret(const char* text) : SharedSecret(SecretBytes(std::string_view(text))) {}

SharedSecret::SharedSecret(const std::string& text) : SharedSecret(SecretBytes(text)) {}

// ---- Files ----

int openSecretFile(const std::string& path, std::string_view label, std::string& error) {
    error.clear();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) {
        const int err = errno;
        if (err == ELOOP) {
            error = fmt::format("{} {}: is a symbolic link, which is not followed for a secret; "
                                "point the setting at the file itself",
                                label, path);
        } else {
            error = fmt::format("{} {}: cannot open: {}", label, path, errnoText(err));
        }
        return -1;
    }
    struct stat st {};
    std::string why;
    if (::fstat(fd, &st) != 0) {
        why = fmt::format("cannot stat: {}", errnoText(errno));
    } else if (!S_ISREG(st.st_mode)) {
        why = "not a regular file";
    } else if ((st.st_mode & 077) != 0) {
        why = fmt::format("mode {:04o} lets group/world access it; run 'chmod 600 {}'",
                          st.st_mode & 07777, path);
    } else if (st.st_uid != ::geteuid() && st.st_uid != 0) {
        why = fmt::format("owned by uid {}, neither the daemon's user (uid {}) nor root; run "
                          "'chown {} {}'",
                          st.st_uid, ::geteuid(), ::geteuid(), path);
    }
    if (!why.empty()) {
        ::close(fd);
        error = fmt::format("{} {}: {}", label, path, why);
        return -1;
    }
    return fd;
}

SecretBytes readSecretFile(const std::string& path, std::string_view label, std::size_t maxBytes,
                           std::string& error) {
    const int fd = openSecretFile(path, label, error);
    if (fd < 0) {
        return {};
    }
    // One buffer, allocated once: no reallocation leaves copies of the secret behind.
    SecretBytes buf(maxBytes + 1);
    std::size_t used = 0;
    while (used < buf.size()) {
        const ssize_t n = ::read(fd, buf.mutableBytes().data() + used, buf.size() - used);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error = fmt::format("{} {}: read failed: {}", label, path, errnoText(errno));
            ::close(fd);
            return {};
        }
        if (n == 0) {
            break;
        }
        used += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (used > maxBytes) {
        error = fmt::format("{} {}: larger than {} bytes", label, path, maxBytes);
        return {};
    }
    buf.truncate(used);
    return buf;
}

std::string checkPrivateDir(const std::filesystem::path& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        return fmt::format("{}: cannot stat: {}", dir.string(), errnoText(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return fmt::format("{} is not a directory", dir.string());
    }
    if (st.st_uid != ::geteuid()) {
        return fmt::format("{} is owned by uid {}, not by the daemon's user (uid {}); run "
                           "'chown {} {}' or choose a directory of the daemon's own",
                           dir.string(), st.st_uid, ::geteuid(), ::geteuid(), dir.string());
    }
    if ((st.st_mode & 022) != 0) {
        return fmt::format("{} is writable by group/other (mode {:04o}): another user could "
                           "replace the files in it; run 'chmod go-w {}'",
                           dir.string(), st.st_mode & 07777, dir.string());
    }
    return {};
}

} // namespace hs

// Secrets in memory and the files the daemon trusts.
//
// SecretBytes holds key or password material exactly once: it cannot be copied, a move leaves the
// source empty, and the bytes are wiped (explicit_bzero) when it is destroyed. SharedSecret is a
// read-only handle on one SecretBytes for configuration structs that are copied between threads:
// copying the handle shares the one buffer, which is wiped when the last handle goes.
//
// openSecretFile/readSecretFile open a key or password file without following a symbolic link and
// check the open descriptor (fstat), so what is checked is what is read: a regular file, owned by
// the daemon's user or root, not readable or writable by group or other. checkPrivateDir checks a
// directory the daemon writes state or caches into: owned by the daemon's user, not writable by
// group or other. Every message names the path and what to do; none contains secret material.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace hs {

class SecretBytes {
  public:
    SecretBytes() = default;
    explicit SecretBytes(std::size_t size); // zero-filled
    explicit SecretBytes(std::span<const std::uint8_t> bytes);
    explicit SecretBytes(std::string_view text);
    ~SecretBytes();
    SecretBytes(SecretBytes&& other) noexcept;
    SecretBytes& operator=(SecretBytes&& other) noexcept;
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;

    std::span<const std::uint8_t> bytes() const { return {data_.get(), size_}; }
    std::span<std::uint8_t> mutableBytes() { return {data_.get(), size_}; }
    std::string_view view() const { return {reinterpret_cast<const char*>(data_.get()), size_}; }
    // NUL-terminated (the buffer always has one byte more than size()); "" when empty. Named as
    // std::string's, which it stands in for.
    // NOLINTNEXTLINE(readability-identifier-naming)
    const char* c_str() const { return data_ ? reinterpret_cast<const char*>(data_.get()) : ""; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    // Keeps the first n bytes and wipes the rest (n <= size()).
    void truncate(std::size_t n);

  private:
    void wipe() noexcept;

    std::unique_ptr<std::uint8_t[]> data_;
    std::size_t size_ = 0;
};

// Wipes memory the compiler may not optimise the write away from.
void wipeMemory(void* p, std::size_t n) noexcept;

class SharedSecret {
  public:
    SharedSecret() = default;
    explicit SharedSecret(SecretBytes bytes);
    // For tests and benchmarks that hold a literal; the daemon reads secrets from files.
    SharedSecret(const char* text);        // NOLINT(google-explicit-constructor)
    SharedSecret(const std::string& text); // NOLINT(google-explicit-constructor)

    // NOLINTNEXTLINE(readability-identifier-naming): named as std::string's
    const char* c_str() const { return secret_ ? secret_->c_str() : ""; }
    std::string_view view() const { return secret_ ? secret_->view() : std::string_view(); }
    std::size_t size() const { return secret_ ? secret_->size() : 0; }
    bool empty() const { return size() == 0; }

  private:
    std::shared_ptr<const SecretBytes> secret_;
};

// Opens PATH read-only with O_NOFOLLOW|O_CLOEXEC and checks the descriptor: a regular file, owned
// by the effective uid or root, mode without any group/other bits. Returns the descriptor (the
// caller closes it) or -1 with ERROR set to "LABEL PATH: reason; what to do".
int openSecretFile(const std::string& path, std::string_view label, std::string& error);

// openSecretFile, then reads at most maxBytes (more is an error). An empty file is returned as
// empty SecretBytes without an error; the caller decides whether that is allowed.
SecretBytes readSecretFile(const std::string& path, std::string_view label, std::size_t maxBytes,
                           std::string& error);

// Checks an existing directory (symbolic links followed): owned by the effective uid, not writable
// by group or other. Returns "" or the reason with the chown/chmod that fixes it.
std::string checkPrivateDir(const std::filesystem::path& dir);

} // namespace hs

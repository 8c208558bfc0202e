// Byte codec shared by the replication records and messages: unsigned LEB128 varints, zigzag for
// signed values, fixed-width big-endian integers and IEEE doubles, and short strings. The reader
// never reads past its span: every get* returns false once the input is exhausted or malformed,
// and the failure sticks, so a decoder checks ok() once at the end.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hs::repl {

class WireWriter {
  public:
    explicit WireWriter(std::vector<std::uint8_t>& out) : out_(out) {}
    void u8(std::uint8_t v) { out_.push_back(v); }
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<std::uint8_t>(v | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<std::uint8_t>(v));
    }
    void svarint(std::int64_t v) {
        varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
    }
    void u32(std::uint32_t v) { fixed(v, 4); }
    void u64(std::uint64_t v) { fixed(v, 8); }
    void f64(double v) { fixed(std::bit_cast<std::uint64_t>(v), 8); }
    // Length (one byte) and bytes; the caller keeps text at most 255 bytes.
    void text(std::string_view s) {
        const auto n = s.size() > 255 ? std::size_t{255} : s.size();
        u8(static_cast<std::uint8_t>(n));
        out_.insert(out_.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
    }

  private:
    void fixed(std::uint64_t v, int bytes) {
        for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
            out_.push_back(static_cast<std::uint8_t>((v >> shift) & 0xFFu));
        }
    }
    std::vector<std::uint8_t>& out_;
};

class WireReader {
  public:
    explicit WireReader(std::span<const std::uint8_t> in) : in_(in) {}
    bool ok() const { return ok_; }
    bool atEnd() const { return pos_ == in_.size(); }
    std::size_t remaining() const { return in_.size() - pos_; }
    std::size_t position() const { return pos_; }
    void fail() { ok_ = false; }

    bool u8(std::uint8_t& v) {
        if (!need(1)) {
            return false;
        }
        v = in_[pos_++];
        return true;
    }
    bool varint(std::uint64_t& v) {
        v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            std::uint8_t b = 0;
            if (!u8(b)) {
                return false;
            }
            // The tenth byte may carry only the top bit of a 64-bit value.
            if (shift == 63 && b > 1) {
                return failed();
            }
            v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                // Reject overlong encodings (a trailing zero byte), so every value has one form.
                if (b == 0 && shift != 0) {
                    return failed();
                }
                return true;
            }
        }
        return failed();
    }
    bool svarint(std::int64_t& v) {
        std::uint64_t u = 0;
        if (!varint(u)) {
            return false;
        }
        v = static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
        return true;
    }
    template <typename T> bool varintTo(T& v, std::uint64_t max) {
        std::uint64_t u = 0;
        if (!varint(u)) {
            return false;
        }
        if (u > max) {
            return failed();
        }
        v = static_cast<T>(u);
        return true;
    }
    bool u32(std::uint32_t& v) {
        std::uint64_t u = 0;
        if (!fixed(u, 4)) {
            return false;
        }
        v = static_cast<std::uint32_t>(u);
        return true;
    }
    bool u64(std::uint64_t& v) { return fixed(v, 8); }
    bool f64(double& v) {
        std::uint64_t u = 0;
        if (!fixed(u, 8)) {
            return false;
        }
        v = std::bit_cast<double>(u);
        return true;
    }
    bool text(std::string& s, std::size_t maxLen) {
        std::uint8_t n = 0;
        if (!u8(n)) {
            return false;
        }
        if (n > maxLen || !need(n)) {
            return failed();
        }
        s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
        pos_ += n;
        return true;
    }

  private:
    bool need(std::size_t n) {
        if (!ok_ || in_.size() - pos_ < n) {
            return failed();
        }
        return true;
    }
    bool failed() {
        ok_ = false;
        return false;
    }
    bool fixed(std::uint64_t& v, int bytes) {
        if (!need(static_cast<std::size_t>(bytes))) {
            return false;
        }
        v = 0;
        for (int i = 0; i < bytes; ++i) {
            v = (v << 8) | in_[pos_++];
        }
        return true;
    }
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

} // namespace hs::repl

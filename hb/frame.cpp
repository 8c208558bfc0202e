// Heartbeat wire format: encode/decode with HMAC-SHA256-128, CRC-32C, stream (de)framing, key
// loading. Pure apart from Key::fromFile. All integers are read and written with explicit shifts.
#include "hb/frame.hpp"

#include <algorithm>
#include <fmt/core.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <stdexcept>

namespace hs::hb {
namespace {

constexpr std::uint8_t kMagic0 = 0x48;
constexpr std::uint8_t kMagic1 = 0x53;
constexpr std::uint8_t kSync0 = 0xA5;
constexpr std::uint8_t kSync1 = 0x5A;
constexpr std::size_t kMinFrame = kHeaderSize + kTagSize;
constexpr std::size_t kMinKeyBytes = 16;
constexpr std::size_t kMaxKeyFileBytes = 4096;

void putU8(std::vector<std::uint8_t>& out, std::uint8_t v) {
    out.push_back(v);
}

template <typename T> void putBe(std::vector<std::uint8_t>& out, T v) {
    for (int shift = static_cast<int>(sizeof(T) * 8) - 8; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>((v >> shift) & 0xFFu));
    }
}

template <typename T> T getBe(std::span<const std::uint8_t> b, std::size_t off) {
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        v = static_cast<T>((v << 8) | static_cast<T>(b[off + i]));
    }
    return v;
}

using Tag = std::array<std::uint8_t, EVP_MAX_MD_SIZE>;

// Keyed HMAC contexts, per thread, for the last two keys used (the frame key, and the other one
// during a key change). OpenSSL 3's one-shot HMAC() fetches the algorithm and derives the pads on
// every call (name lookups under a lock, allocations): at 100 frames per second per path that was
// most of the daemon's user CPU. EVP_MAC_init with no key reuses the pads derived once per key.
class MacCache {
  public:
    MacCache() = default;
    MacCache(const MacCache&) = delete;
    MacCache& operator=(const MacCache&) = delete;
    ~MacCache() {
        for (auto& e : entries_) {
            EVP_MAC_CTX_free(e.ctx);
        }
        EVP_MAC_free(mac_);
    }

    // A context ready for EVP_MAC_update under `key`, or nullptr (OpenSSL failure).
    EVP_MAC_CTX* get(std::span<const std::uint8_t> key) {
        for (auto& e : entries_) {
            if (e.ctx != nullptr && e.key.size() == key.size() &&
                CRYPTO_memcmp(e.key.bytes().data(), key.data(), key.size()) == 0) {
                return EVP_MAC_init(e.ctx, nullptr, 0, nullptr) == 1 ? e.ctx : nullptr;
            }
        }
        if (mac_ == nullptr) {
            mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
            if (mac_ == nullptr) {
                return nullptr;
            }
        }
        Entry& e = entries_[next_];
        next_ = (next_ + 1) % entries_.size();
        EVP_MAC_CTX_free(e.ctx);
        e.key = SecretBytes();
        e.ctx = EVP_MAC_CTX_new(mac_);
        if (e.ctx == nullptr) {
            return nullptr;
        }
        std::array<char, 7> digest{'S', 'H', 'A', '2', '5', '6', '\0'};
        std::array<OSSL_PARAM, 2> params{
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest.data(), 0),
            OSSL_PARAM_construct_end()};
        if (EVP_MAC_init(e.ctx, key.data(), key.size(), params.data()) != 1) {
            EVP_MAC_CTX_free(e.ctx);
            e.ctx = nullptr;
            return nullptr;
        }
        e.key = SecretBytes(key);
        return e.ctx;
    }

  private:
    struct Entry {
        SecretBytes key; // a copy, wiped when replaced (SecretBytes)
        EVP_MAC_CTX* ctx = nullptr;
    };
    EVP_MAC* mac_ = nullptr;
    std::array<Entry, 2> entries_{};
    std::size_t next_ = 0;
};

// HMAC-SHA256 of data under key; false if OpenSSL fails (never expected).
bool hmacSha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data, Tag& md) {
    static const std::uint8_t kNoKey = 0;
    const unsigned char* d = data.empty() ? &kNoKey : data.data();
    if (key.empty()) { // EVP_MAC_init refuses an empty key: the one-shot form takes it
        unsigned int mdLen = 0;
        if (HMAC(EVP_sha256(), &kNoKey, 0, d, data.size(), md.data(), &mdLen) == nullptr) {
            return false;
        }
        return mdLen >= kTagSize;
    }
    thread_local MacCache cache;
    EVP_MAC_CTX* ctx = cache.get(key);
    std::size_t mdLen = 0;
    if (ctx == nullptr || EVP_MAC_update(ctx, d, data.size()) != 1 ||
        EVP_MAC_final(ctx, md.data(), &mdLen, md.size()) != 1) {
        return false;
    }
    return mdLen >= kTagSize;
}

constexpr std::array<std::uint32_t, 256> makeCrcTable() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        t[i] = c;
    }
    return t;
}
constexpr auto kCrcTable = makeCrcTable();

bool isHexDigit(std::uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
std::uint8_t hexValue(std::uint8_t c) {
    if (c >= '0' && c <= '9') {
        return static_cast<std::uint8_t>(c - '0');
    }
    if (c >= 'a' && c <= 'f') {
        return static_cast<std::uint8_t>(c - 'a' + 10);
    }
    return static_cast<std::uint8_t>(c - 'A' + 10);
}
bool isSpace(std::uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Hex text (whitespace around it trimmed, even number of digits) decodes; anything else is raw.
// WARNING is set when raw content looks like hex text with a typo.
SecretBytes keyMaterial(const SecretBytes& content, std::string& warning) {
    const auto bytes = content.bytes();
    auto first = std::find_if_not(bytes.begin(), bytes.end(), isSpace);
    auto last = std::find_if_not(std::make_reverse_iterator(bytes.end()),
                                 std::make_reverse_iterator(first), isSpace)
                    .base();
    const auto length = static_cast<std::size_t>(last - first);
    const auto digits = static_cast<std::size_t>(std::count_if(first, last, isHexDigit));
    if (length > 0 && digits == length && length % 2 == 0) {
        SecretBytes key(length / 2);
        auto out = key.mutableBytes().begin();
        for (auto it = first; it != last; it += 2) {
            *out++ = static_cast<std::uint8_t>((hexValue(*it) << 4) | hexValue(*(it + 1)));
        }
        return key;
    }
    // Raw. Random bytes are hex digits only 22 times in 256, so mostly-hex content is a typo.
    const std::size_t others = length - digits;
    const bool separatorsOnly = std::all_of(first, last, [](std::uint8_t c) {
        return isHexDigit(c) || isSpace(c) || c == ':' || c == '-' || c == ',';
    });
    if (digits >= 2 * kMinKeyBytes - 1 &&
        (others <= std::max<std::size_t>(2, length / 16) || separatorsOnly)) {
        std::string why;
        if (others == 0) {
            why = fmt::format("an odd number of hex digits ({})", digits);
        } else if (separatorsOnly) {
            why = "hex digits with separators (write them without ':', '-', ',' or spaces)";
        } else {
            why = fmt::format("{} hex digits and {} other character(s), such as a typo or a "
                              "'0x' prefix",
                              digits, others);
        }
        warning = fmt::format("looks like hex text but is not: {}; it is used as {} bytes of raw "
                              "key material. If it was meant as hex, fix the file on both nodes",
                              why, content.size());
    }
    return SecretBytes(bytes);
}

} // namespace

std::string_view toString(DecodeError e) {
    switch (e) {
    case DecodeError::Ok:
        return "ok";
    case DecodeError::TooShort:
        return "too short";
    case DecodeError::BadMagic:
        return "bad magic";
    case DecodeError::BadVersion:
        return "bad version";
    case DecodeError::BadType:
        return "bad type";
    case DecodeError::BadLength:
        return "bad length";
    case DecodeError::BadRole:
        return "bad role";
    case DecodeError::AuthFailure:
        return "authentication failure";
    }
    return "unknown";
}

// ---- Key ----

Key::Key(std::vector<std::uint8_t> bytes) : bytes_(std::span<const std::uint8_t>(bytes)) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
}

Key Key::fromFile(const std::string& path, std::string& error, std::string* warning) {
    error.clear();
    if (warning != nullptr) {
        warning->clear();
    }
    const SecretBytes content = readSecretFile(path, "key file", kMaxKeyFileBytes, error);
    if (!error.empty()) {
        return {};
    }
    if (content.empty()) {
        error = fmt::format("key file {}: empty", path);
        return {};
    }
    std::string typo;
    SecretBytes key = keyMaterial(content, typo);
    if (key.size() < kMinKeyBytes) {
        error = fmt::format("key file {}: {} bytes of key material, at least {} needed", path,
                            key.size(), kMinKeyBytes);
        if (!typo.empty()) {
            error += " (the content " + typo + ")";
        }
        return {};
    }
    if (warning != nullptr && !typo.empty()) {
        *warning = fmt::format("key file {}: {}", path, typo);
    }
    return Key(std::move(key));
}

Key Key::forCluster(std::string_view clusterId) const {
    static constexpr std::string_view kLabel = "hotstandby cluster ";
    std::string info;
    info.reserve(kLabel.size() + clusterId.size());
    info.append(kLabel).append(clusterId);
    SecretBytes derived(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    static const std::uint8_t kNoKey = 0;
    const void* k = bytes_.empty() ? &kNoKey : bytes_.bytes().data();
    if (HMAC(EVP_sha256(), k, static_cast<int>(bytes_.size()),
             reinterpret_cast<const unsigned char*>(info.data()), info.size(),
             derived.mutableBytes().data(), &len) == nullptr ||
        len < kTagSize) {
        return {}; // cannot happen with a working libcrypto; an empty key never verifies
    }
    derived.truncate(len);
    return Key(std::move(derived));
}

std::string Key::fingerprint() const {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    static const std::uint8_t kNone = 0;
    const void* data = bytes_.empty() ? &kNone : bytes_.bytes().data();
    if (EVP_Digest(data, bytes_.size(), md.data(), &len, EVP_sha256(), nullptr) != 1 || len < 4) {
        return "unavailable";
    }
    return fmt::format("{:02x}{:02x}{:02x}{:02x}", md[0], md[1], md[2], md[3]);
}

// ---- Codec ----

void encode(const Frame& f, const Key& key, std::vector<std::uint8_t>& out) {
    if (f.payload.size() > kMaxPayload) {
        throw std::length_error("hb::encode: payload larger than kMaxPayload");
    }
    const std::size_t start = out.size();
    out.reserve(start + kMinFrame + f.payload.size());
    putU8(out, kMagic0);
    putU8(out, kMagic1);
    putU8(out, kVersion);
    putU8(out, static_cast<std::uint8_t>(f.type));
    putU8(out, f.flags);
    putU8(out, f.slot);
    putU8(out, static_cast<std::uint8_t>(f.role));
    putU8(out, f.pathIndex);
    putBe<std::uint32_t>(out, f.nodeId);
    putBe<std::uint32_t>(out, f.incarnation);
    putBe<std::uint64_t>(out, f.epoch);
    putBe<std::uint64_t>(out, f.seq);
    putBe<std::uint64_t>(out, f.sendTimeNs);
    putBe<std::uint64_t>(out, f.echoTimeNs);
    putBe<std::uint32_t>(out, f.echoHoldUs);
    putBe<std::uint32_t>(out, f.intervalUs);
    putBe<std::uint16_t>(out, static_cast<std::uint16_t>(f.payload.size()));
    out.insert(out.end(), f.payload.begin(), f.payload.end());
    Tag md{};
    const std::span<const std::uint8_t> body(out.data() + start, out.size() - start);
    if (!hmacSha256(key.bytes(), body, md)) {
        md.fill(0); // cannot happen with a working libcrypto; such a frame never verifies
    }
    out.insert(out.end(), md.begin(), md.begin() + kTagSize);
}

std::vector<std::uint8_t> encode(const Frame& f, const Key& key) {
    std::vector<std::uint8_t> out;
    encode(f, key, out);
    return out;
}

DecodeError decode(std::span<const std::uint8_t> bytes, const Key& key, Frame& out) {
    // Structural checks that need no trust in any field.
    if (bytes.size() < kMinFrame) {
        return DecodeError::TooShort;
    }
    if (bytes.size() > kMaxFrame) {
        return DecodeError::BadLength;
    }
    if (bytes[0] != kMagic0 || bytes[1] != kMagic1) {
        return DecodeError::BadMagic;
    }
    if (bytes[2] != kVersion) {
        return DecodeError::BadVersion;
    }
    // Authenticate everything before the tag, which is always the last kTagSize bytes.
    if (key.empty()) {
        return DecodeError::AuthFailure;
    }
    const std::size_t bodyLen = bytes.size() - kTagSize;
    Tag md{};
    if (!hmacSha256(key.bytes(), bytes.first(bodyLen), md) ||
        CRYPTO_memcmp(md.data(), bytes.data() + bodyLen, kTagSize) != 0) {
        return DecodeError::AuthFailure;
    }
    // Authentic from here on; still validate every field.
    const auto payloadLen = getBe<std::uint16_t>(bytes, 56);
    if (payloadLen > kMaxPayload || kHeaderSize + payloadLen != bodyLen) {
        return DecodeError::BadLength;
    }
    const std::uint8_t type = bytes[3];
    if (type < static_cast<std::uint8_t>(FrameType::Heartbeat) ||
        type > static_cast<std::uint8_t>(FrameType::Replication)) {
        return DecodeError::BadType;
    }
    const std::uint8_t role = bytes[6];
    if (role > static_cast<std::uint8_t>(Role::Stopped)) {
        return DecodeError::BadRole;
    }

    out.type = static_cast<FrameType>(type);
    out.flags = bytes[4];
    out.slot = bytes[5];
    out.role = static_cast<Role>(role);
    out.pathIndex = bytes[7];
    out.nodeId = getBe<std::uint32_t>(bytes, 8);
    out.incarnation = getBe<std::uint32_t>(bytes, 12);
    out.epoch = getBe<std::uint64_t>(bytes, 16);
    out.seq = getBe<std::uint64_t>(bytes, 24);
    out.sendTimeNs = getBe<std::uint64_t>(bytes, 32);
    out.echoTimeNs = getBe<std::uint64_t>(bytes, 40);
    out.echoHoldUs = getBe<std::uint32_t>(bytes, 48);
    out.intervalUs = getBe<std::uint32_t>(bytes, 52);
    out.payload.assign(bytes.begin() + kHeaderSize, bytes.begin() + kHeaderSize + payloadLen);
    return DecodeError::Ok;
}

// ---- Stream framing ----

std::uint32_t crc32c(std::span<const std::uint8_t> data) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (const std::uint8_t b : data) {
        c = kCrcTable[(c ^ b) & 0xFFu] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

void wrapStream(std::span<const std::uint8_t> frame, std::vector<std::uint8_t>& out) {
    if (frame.size() > kMaxFrame) {
        throw std::length_error("hb::wrapStream: frame larger than kMaxFrame");
    }
    out.reserve(out.size() + frame.size() + kStreamOverhead);
    out.push_back(kSync0);
    out.push_back(kSync1);
    putBe<std::uint16_t>(out, static_cast<std::uint16_t>(frame.size()));
    out.insert(out.end(), frame.begin(), frame.end());
    putBe<std::uint32_t>(out, crc32c(frame));
}

void StreamDeframer::feed(std::span<const std::uint8_t> bytes) {
    // The buffer never holds more than one maximal wrapped frame: input is taken in slices that
    // fit, and every pass consumes what it can before the next slice is appended.
    constexpr std::size_t kCap = kMaxFrame + kStreamOverhead;
    std::array<std::uint8_t, kMaxFrame> frame{};
    while (!bytes.empty()) {
        const std::size_t take = std::min(bytes.size(), kCap - buf_.size());
        buf_.insert(buf_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
        bytes = bytes.subspan(take);

        for (;;) {
            if (buf_.empty()) {
                break;
            }
            if (buf_[0] != kSync0 || (buf_.size() >= 2 && buf_[1] != kSync1)) {
                // Skip to the next candidate sync byte.
                auto next = std::find(buf_.begin() + 1, buf_.end(), kSync0);
                garbageBytes_ += static_cast<std::uint64_t>(next - buf_.begin());
                buf_.erase(buf_.begin(), next);
                continue;
            }
            if (buf_.size() < 4) {
                break;
            }
            const std::size_t len = (static_cast<std::size_t>(buf_[2]) << 8) | buf_[3];
            if (len < kMinFrame || len > kMaxFrame) {
                ++badLengths_;
                ++garbageBytes_;
                buf_.erase(buf_.begin());
                continue;
            }
            if (buf_.size() < len + kStreamOverhead) {
                break;
            }
            const std::span<const std::uint8_t> body(buf_.data() + 4, len);
            const auto crc = getBe<std::uint32_t>(buf_, 4 + len);
            if (crc32c(body) != crc) {
                ++crcErrors_;
                ++garbageBytes_;
                buf_.erase(buf_.begin());
                continue;
            }
            std::copy(body.begin(), body.end(), frame.begin());
            buf_.erase(buf_.begin(),
                       buf_.begin() + static_cast<std::ptrdiff_t>(len + kStreamOverhead));
            // The handler may call reset(); nothing here refers to buf_ across the call.
            onFrame_(std::span<const std::uint8_t>(frame.data(), len));
        }
    }
}

} // namespace hs::hb

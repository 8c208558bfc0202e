// Frame codec and key loading: layout, round trips, every DecodeError, tamper and key checks.
#include "hb/frame.hpp"
#include "test_util.hpp"

#include <array>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <type_traits>
#include <unistd.h>

namespace hs::hb {
namespace {

using test::sampleFrame;
using test::testKey;

// Recomputes the tag over a modified body, as an attacker holding the key could.
void retag(std::vector<std::uint8_t>& bytes, const Key& key) {
    ASSERT_GE(bytes.size(), kTagSize);
    const std::size_t body = bytes.size() - kTagSize;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ASSERT_NE(HMAC(EVP_sha256(), key.bytes().data(), static_cast<int>(key.bytes().size()),
                   bytes.data(), body, md, &len),
              nullptr);
    std::copy(md, md + kTagSize, bytes.begin() + static_cast<std::ptrdiff_t>(body));
}

TEST(FrameCodec, LayoutIsBigEndianAtDocumentedOffsets) {
    const Key key = testKey();
    Frame f = sampleFrame(0x0A0B0C0D0E0F1011ULL, 3);
    f.sendTimeNs = 0x2122232425262728ULL;
    f.echoTimeNs = 0x3132333435363738ULL;
    f.echoHoldUs = 0x41424344;
    f.intervalUs = 0x51525354;
    const auto b = encode(f, key);
    ASSERT_EQ(b.size(), kHeaderSize + 3 + kTagSize);
    EXPECT_EQ(b[0], 0x48);
    EXPECT_EQ(b[1], 0x53);
    EXPECT_EQ(b[2], kVersion);
    EXPECT_EQ(b[3], 1);    // Heartbeat
    EXPECT_EQ(b[4], 0x05); // BmcOk | Fit
    EXPECT_EQ(b[5], 1);    // slot
    EXPECT_EQ(b[6], 1);    // Standby
    EXPECT_EQ(b[7], 2);    // path index
    EXPECT_EQ((std::vector<std::uint8_t>(b.begin() + 8, b.begin() + 12)),
              (std::vector<std::uint8_t>{1, 2, 3, 4}));
    EXPECT_EQ(b[15], 7); // incarnation low byte
    EXPECT_EQ(b[16], 0x11);
    EXPECT_EQ(b[23], 0x88);
    EXPECT_EQ(b[24], 0x0A);
    EXPECT_EQ(b[31], 0x11);
    EXPECT_EQ(b[32], 0x21);
    EXPECT_EQ(b[40], 0x31);
    EXPECT_EQ(b[48], 0x41);
    EXPECT_EQ(b[52], 0x51);
    EXPECT_EQ(b[56], 0);
    EXPECT_EQ(b[57], 3);
    // The tag is HMAC-SHA256 over everything before it, truncated to 16 bytes.
    auto copy = b;
    retag(copy, key);
    EXPECT_EQ(copy, b);
}

// The tag's keyed contexts are cached per thread for the last two keys: three keys used in turn
// (more than the cache holds) and one key twice in a row must each give that key's own HMAC.
TEST(FrameCodec, TagIsTheKeysOwnWhenKeysAlternate) {
    const Key base = testKey();
    const std::array<Key, 3> keys{base.forCluster("a"), base.forCluster("b"), base.forCluster("c")};
    for (int round = 0; round < 3; ++round) {
        for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{1}, std::size_t{2}}) {
            const auto bytes = encode(sampleFrame(7 + k, 5), keys.at(k));
            auto copy = bytes;
            retag(copy, keys.at(k));
            EXPECT_EQ(copy, bytes) << "key " << k << " round " << round;
            Frame f;
            EXPECT_EQ(decode(bytes, keys.at(k), f), DecodeError::Ok);
            EXPECT_EQ(decode(bytes, keys.at((k + 1) % keys.size()), f), DecodeError::AuthFailure);
        }
    }
}

TEST(FrameCodec, RoundTripsAllFieldsAndPayloadSizes) {
    const Key key = testKey();
    for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{100}, kMaxPayload}) {
        Frame f = sampleFrame(99, len);
        f.type = FrameType::Handover;
        f.role = Role::Active;
        f.flags = 0xFF;
        f.epoch = ~0ULL;
        f.nodeId = 0xFFFFFFFFu;
        const auto bytes = encode(f, key);
        Frame out;
        ASSERT_EQ(decode(bytes, key, out), DecodeError::Ok) << "payload " << len;
        EXPECT_EQ(out, f);
    }
}

TEST(FrameCodec, EncodeAppends) {
    const Key key = testKey();
    std::vector<std::uint8_t> out{0xEE};
    encode(sampleFrame(1), key, out);
    ASSERT_EQ(out.size(), 1 + kHeaderSize + kTagSize);
    Frame f;
    EXPECT_EQ(decode(std::span(out).subspan(1), key, f), DecodeError::Ok);
}

TEST(FrameCodec, OversizedPayloadIsRefusedAtEncode) {
    EXPECT_THROW(encode(sampleFrame(1, kMaxPayload + 1), testKey()), std::length_error);
}

TEST(FrameCodec, TooShort) {
    const Key key = testKey();
    const auto bytes = encode(sampleFrame(1), key);
    Frame f;
    for (std::size_t n = 0; n < kHeaderSize + kTagSize; ++n)
        EXPECT_EQ(decode(std::span(bytes).first(n), key, f), DecodeError::TooShort) << n;
}

TEST(FrameCodec, BadMagicAndVersionEvenWithValidTag) {
    const Key key = testKey();
    Frame f;
    for (std::size_t off : {0u, 1u}) {
        auto b = encode(sampleFrame(1), key);
        b[off] ^= 0x01;
        EXPECT_EQ(decode(b, key, f), DecodeError::BadMagic);
        retag(b, key);
        EXPECT_EQ(decode(b, key, f), DecodeError::BadMagic);
    }
    auto b = encode(sampleFrame(1), key);
    b[2] = 2;
    retag(b, key);
    EXPECT_EQ(decode(b, key, f), DecodeError::BadVersion);
}

// A replication frame (docs/replication.md "How it rides"): one message as the payload, the
// same header and tag as every frame; a forged or altered one never decodes.
TEST(FrameCodec, ReplicationFrameRoundTripsAndIsAuthenticated) {
    const Key key = testKey();
    Frame f = sampleFrame(7, kMaxPayload);
    f.type = FrameType::Replication;
    auto bytes = encode(f, key);
    Frame out;
    ASSERT_EQ(decode(bytes, key, out), DecodeError::Ok);
    EXPECT_EQ(out, f);
    bytes[kHeaderSize + 3] ^= 0x01; // one bit of the message
    EXPECT_EQ(decode(bytes, key, out), DecodeError::AuthFailure);
}

TEST(FrameCodec, BadTypeAndRoleOnlyAfterAuthentication) {
    const Key key = testKey();
    Frame f;
    for (std::uint8_t t : {0, 5, 255}) {
        auto b = encode(sampleFrame(1), key);
        b[3] = t;
        EXPECT_EQ(decode(b, key, f), DecodeError::AuthFailure); // untrusted until authentic
        retag(b, key);
        EXPECT_EQ(decode(b, key, f), DecodeError::BadType) << int(t);
    }
    for (std::uint8_t r : {5, 200}) {
        auto b = encode(sampleFrame(1), key);
        b[6] = r;
        retag(b, key);
        EXPECT_EQ(decode(b, key, f), DecodeError::BadRole) << int(r);
    }
}

TEST(FrameCodec, BadLength) {
    const Key key = testKey();
    Frame f;
    // Payload length field disagrees with the frame size (both directions), authentic tag.
    for (std::uint16_t claimed : {0, 4, 6, 1024, 0xFFFF}) {
        auto b = encode(sampleFrame(1, 5), key);
        b[56] = static_cast<std::uint8_t>(claimed >> 8);
        b[57] = static_cast<std::uint8_t>(claimed & 0xFF);
        retag(b, key);
        EXPECT_EQ(decode(b, key, f), DecodeError::BadLength) << claimed;
    }
    // Larger than any frame can be.
    auto big = encode(sampleFrame(1, kMaxPayload), key);
    big.insert(big.end() - kTagSize, 0);
    retag(big, key);
    EXPECT_EQ(decode(big, key, f), DecodeError::BadLength);
}

TEST(FrameCodec, EveryFlippedByteFails) {
    const Key key = testKey();
    const auto good = encode(sampleFrame(5, 9), key);
    Frame f;
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (std::uint8_t bit : {0x01, 0x80}) {
            auto b = good;
            b[i] ^= bit;
            const auto r = decode(b, key, f);
            EXPECT_NE(r, DecodeError::Ok) << "byte " << i;
            if (i >= 3) { // bytes 0-2 fail as BadMagic/BadVersion
                EXPECT_EQ(r, DecodeError::AuthFailure) << "byte " << i;
            }
        }
    }
}

TEST(FrameCodec, WrongOrEmptyKeyFails) {
    const auto bytes = encode(sampleFrame(1), testKey());
    const Key good = testKey();
    std::vector<std::uint8_t> k2(good.bytes().begin(), good.bytes().end());
    k2.back() ^= 1;
    Frame f;
    EXPECT_EQ(decode(bytes, Key(k2), f), DecodeError::AuthFailure);
    EXPECT_EQ(decode(bytes, Key(), f), DecodeError::AuthFailure);
}

TEST(FrameCodec, ErrorNames) {
    EXPECT_EQ(toString(DecodeError::AuthFailure), "authentication failure");
    EXPECT_EQ(toString(DecodeError::TooShort), "too short");
}

TEST(Crc32c, KnownVectors) {
    const std::string s = "123456789";
    EXPECT_EQ(crc32c(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())),
              0xE3069283u);
    EXPECT_EQ(crc32c({}), 0u);
    std::vector<std::uint8_t> zeros(32, 0);
    EXPECT_EQ(crc32c(zeros), 0x8A9136AAu); // RFC 3720 B.4
}

// ---- Key::fromFile ----

class KeyFile : public ::testing::Test {
  protected:
    std::string write(const std::string& name, const std::string& content, mode_t mode) {
        const std::string path = dir_.path() + "/" + name;
        {
            std::ofstream o(path, std::ios::binary);
            o << content;
        }
        ::chmod(path.c_str(), mode);
        return path;
    }
    test::TempDir dir_;
};

const std::string kHex = "00112233445566778899aabbccddeeff0123456789ABCDEF";

TEST_F(KeyFile, HexTextWithWhitespace) {
    std::string err;
    const Key k = Key::fromFile(write("k", "  " + kHex + "\n\n", 0600), err);
    ASSERT_TRUE(err.empty()) << err;
    ASSERT_EQ(k.bytes().size(), 24u);
    EXPECT_EQ(k.bytes()[0], 0x00);
    EXPECT_EQ(k.bytes()[1], 0x11);
    EXPECT_EQ(k.bytes()[15], 0xFF);
    EXPECT_EQ(k.bytes()[23], 0xEF);
}

TEST_F(KeyFile, RawBytes) {
    std::string raw;
    for (int i = 0; i < 32; ++i)
        raw.push_back(static_cast<char>(i * 37 + 1));
    std::string err;
    const Key k = Key::fromFile(write("k", raw, 0600), err);
    ASSERT_TRUE(err.empty()) << err;
    ASSERT_EQ(k.bytes().size(), 32u);
    EXPECT_TRUE(std::equal(raw.begin(), raw.end(), k.bytes().begin(), [](char a, std::uint8_t b) {
        return static_cast<std::uint8_t>(a) == b;
    }));
}

TEST_F(KeyFile, GroupOrWorldAccessRefused) {
    for (mode_t mode : {0644, 0640, 0604, 0660, 0601}) {
        std::string err;
        const std::string path = write("k" + std::to_string(mode), kHex, mode);
        const Key k = Key::fromFile(path, err);
        EXPECT_TRUE(k.empty());
        EXPECT_NE(err.find(path), std::string::npos) << err;
        EXPECT_NE(err.find("chmod 600"), std::string::npos) << err;
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
        EXPECT_NE(err.find(octal), std::string::npos) << err;
        EXPECT_EQ(err.find(kHex.substr(0, 8)), std::string::npos) << "key material leaked";
    }
    std::string err;
    EXPECT_FALSE(Key::fromFile(write("ok", kHex, 0600), err).empty());
    EXPECT_TRUE(err.empty()) << err;
    EXPECT_FALSE(Key::fromFile(write("ro", kHex, 0400), err).empty());
}

TEST_F(KeyFile, TooShortMissingEmptyOrNotRegular) {
    std::string err;
    EXPECT_TRUE(
        Key::fromFile(write("shorthex", "00112233445566778899aabbccddee", 0600), err).empty());
    EXPECT_NE(err.find("at least 16"), std::string::npos) << err;
    EXPECT_TRUE(Key::fromFile(write("shortraw", "tiny secret", 0600), err).empty());
    EXPECT_NE(err.find("at least 16"), std::string::npos) << err;
    EXPECT_EQ(err.find("tiny"), std::string::npos) << "key material leaked: " << err;
    EXPECT_TRUE(Key::fromFile(write("empty", "", 0600), err).empty());
    EXPECT_NE(err.find("empty"), std::string::npos) << err;
    EXPECT_TRUE(Key::fromFile(dir_.path() + "/missing", err).empty());
    EXPECT_NE(err.find("missing"), std::string::npos) << err;
    EXPECT_NE(err.find("No such file"), std::string::npos) << err;
    ::chmod(dir_.path().c_str(), 0700);
    EXPECT_TRUE(Key::fromFile(dir_.path(), err).empty());
    EXPECT_NE(err.find("not a regular file"), std::string::npos) << err;
}

TEST(Key, FingerprintIsShortAndKeyDependent) {
    const Key a = testKey();
    auto bytes = std::vector<std::uint8_t>(a.bytes().begin(), a.bytes().end());
    bytes[0] ^= 1;
    const Key b(bytes);
    EXPECT_EQ(a.fingerprint().size(), 8u);
    EXPECT_NE(a.fingerprint(), b.fingerprint());
    EXPECT_EQ(a.fingerprint(), testKey().fingerprint());
}

} // namespace
} // namespace hs::hb

namespace hs::hb {
namespace {

// ---- Key: held once, bound to the pair, files checked on the descriptor ----

static_assert(!std::is_copy_constructible_v<Key>, "a Key must not be copied");
static_assert(!std::is_copy_assignable_v<Key>, "a Key must not be copied");
static_assert(std::is_move_constructible_v<Key>);

TEST(Key, MoveLeavesTheSourceEmpty) {
    Key a = testKey();
    const std::vector<std::uint8_t> bytes(a.bytes().begin(), a.bytes().end());
    Key b(std::move(a));
    EXPECT_TRUE(a.empty()); // NOLINT(bugprone-use-after-move): what a move leaves is the point
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), b.bytes().begin(), b.bytes().end()));
}

TEST(Key, ClusterIdBindsTheTag) {
    const Key material = testKey();
    const Key a = material.forCluster("rack1-mm");
    const Key a2 = material.forCluster("rack1-mm");
    const Key b = material.forCluster("rack2-mm");
    ASSERT_EQ(a.bytes().size(), 32u);
    EXPECT_TRUE(
        std::equal(a.bytes().begin(), a.bytes().end(), a2.bytes().begin(), a2.bytes().end()));
    EXPECT_NE(a.fingerprint(), b.fingerprint());
    EXPECT_NE(a.fingerprint(), material.fingerprint());

    // Same key file, same cluster: accepted. Same key file, another cluster: an auth failure,
    // and the frame size does not change.
    const auto bytes = encode(sampleFrame(5, 12), a);
    EXPECT_EQ(bytes.size(), encode(sampleFrame(5, 12), material).size());
    Frame f;
    EXPECT_EQ(decode(bytes, a2, f), DecodeError::Ok);
    EXPECT_EQ(f, sampleFrame(5, 12));
    EXPECT_EQ(decode(bytes, b, f), DecodeError::AuthFailure);
    EXPECT_EQ(decode(encode(sampleFrame(5), b), a, f), DecodeError::AuthFailure);
    // Nor is the unbound material a way in.
    EXPECT_EQ(decode(bytes, material, f), DecodeError::AuthFailure);

    // Derivation: HMAC-SHA256(material, "hotstandby cluster " || id), as documented.
    const std::string info = "hotstandby cluster rack1-mm";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ASSERT_NE(HMAC(EVP_sha256(), material.bytes().data(), static_cast<int>(material.bytes().size()),
                   reinterpret_cast<const unsigned char*>(info.data()), info.size(), md, &len),
              nullptr);
    ASSERT_EQ(len, 32u);
    EXPECT_TRUE(std::equal(md, md + len, a.bytes().begin(), a.bytes().end()));
}

TEST_F(KeyFile, SymlinkRefused) {
    const std::string target = write("real", kHex, 0600);
    const std::string link = dir_.path() + "/link";
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    std::string err;
    EXPECT_TRUE(Key::fromFile(link, err).empty());
    EXPECT_NE(err.find(link), std::string::npos) << err;
    EXPECT_NE(err.find("symbolic link"), std::string::npos) << err;
    EXPECT_FALSE(Key::fromFile(target, err).empty()) << err;
}

TEST_F(KeyFile, Mode0644Refused) {
    std::string err;
    EXPECT_TRUE(Key::fromFile(write("k", kHex, 0644), err).empty());
    EXPECT_NE(err.find("0644"), std::string::npos) << err;
}

TEST_F(KeyFile, OtherOwnerRefused) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to give the file to another user";
    const std::string path = write("k", kHex, 0600);
    ASSERT_EQ(::chown(path.c_str(), 4242, 4242), 0);
    std::string err;
    EXPECT_TRUE(Key::fromFile(path, err).empty());
    EXPECT_NE(err.find("owned by uid 4242"), std::string::npos) << err;
    EXPECT_NE(err.find("chown 0 " + path), std::string::npos) << err;
    ASSERT_EQ(::chown(path.c_str(), 0, 0), 0); // root's own file is fine
    EXPECT_FALSE(Key::fromFile(path, err).empty()) << err;
}

TEST_F(KeyFile, HexTypoWarnsWithoutKeyMaterial) {
    const std::string hex64 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    struct Case {
        std::string content;
        const char* part; // of the warning
    };
    const Case cases[] = {
        {hex64.substr(0, 63), "odd number of hex digits (63)"},
        {hex64.substr(0, 40) + "g" + hex64.substr(41), "other character"},
        {"0x" + hex64, "other character"},
        {"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", "separators"},
    };
    for (const Case& c : cases) {
        std::string err, warning;
        const Key k = Key::fromFile(write("typo", c.content + "\n", 0600), err, &warning);
        ASSERT_TRUE(err.empty()) << err;
        EXPECT_FALSE(k.empty());
        EXPECT_NE(warning.find("looks like hex"), std::string::npos) << c.content;
        EXPECT_NE(warning.find(c.part), std::string::npos) << warning;
        EXPECT_NE(warning.find(dir_.path() + "/typo"), std::string::npos) << warning;
        EXPECT_EQ(warning.find("0011"), std::string::npos) << "key material leaked: " << warning;
        EXPECT_EQ(warning.find("aabb"), std::string::npos) << "key material leaked: " << warning;
    }
    // Good hex and random raw bytes give no warning.
    std::string err, warning = "stale";
    EXPECT_FALSE(Key::fromFile(write("hex", hex64 + "\n", 0600), err, &warning).empty());
    EXPECT_TRUE(warning.empty()) << warning;
    std::string raw;
    for (int i = 0; i < 32; ++i)
        raw.push_back(static_cast<char>(i * 37 + 1));
    EXPECT_FALSE(Key::fromFile(write("raw", raw, 0600), err, &warning).empty());
    EXPECT_TRUE(warning.empty()) << warning;
    // Without a warning sink, the typo'd file still loads (as raw bytes).
    EXPECT_FALSE(Key::fromFile(write("typo2", hex64.substr(0, 63), 0600), err).empty());
}

} // namespace
} // namespace hs::hb

// libFuzzer target: frame decoding with a fixed key, and the stream deframer fed in chunks.
// Every frame the deframer yields is decoded too; an authentic decode must re-encode to the
// same bytes.
#include "hb/frame.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

const hs::hb::Key& fuzzKey() {
    static const hs::hb::Key key(std::vector<std::uint8_t>(32, 0x5C));
    return key;
}

void checkDecode(std::span<const std::uint8_t> bytes) {
    hs::hb::Frame f;
    if (hs::hb::decode(bytes, fuzzKey(), f) != hs::hb::DecodeError::Ok)
        return;
    const auto again = hs::hb::encode(f, fuzzKey());
    if (!std::equal(again.begin(), again.end(), bytes.begin(), bytes.end()))
        std::abort();
}

// Builds a frame from the input's bytes; encoding then decoding must give it back unchanged.
void checkRoundTrip(std::span<const std::uint8_t> in) {
    if (in.size() < 48)
        return;
    auto u64 = [&](std::size_t off) {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < 8; ++i)
            v = (v << 8) | in[off + i];
        return v;
    };
    hs::hb::Frame f;
    f.type = static_cast<hs::hb::FrameType>(1 + in[0] % 4);
    f.flags = in[1];
    f.slot = in[2];
    f.role = static_cast<hs::Role>(in[3] % 5);
    f.pathIndex = in[4];
    f.nodeId = static_cast<std::uint32_t>(u64(5));
    f.incarnation = static_cast<std::uint32_t>(u64(9) >> 7);
    f.epoch = u64(13);
    f.seq = u64(21);
    f.sendTimeNs = u64(29);
    f.echoTimeNs = u64(37) ^ f.seq;
    f.echoHoldUs = static_cast<std::uint32_t>(u64(40));
    f.intervalUs = static_cast<std::uint32_t>(u64(33));
    const auto rest = in.subspan(48);
    const auto take = std::min(rest.size(), hs::hb::kMaxPayload);
    f.payload.assign(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(take));
    std::vector<std::uint8_t> wire;
    hs::hb::wrapStream(hs::hb::encode(f, fuzzKey()), wire);
    hs::hb::Frame back;
    bool seen = false;
    hs::hb::StreamDeframer d([&](std::span<const std::uint8_t> frame) {
        seen = hs::hb::decode(frame, fuzzKey(), back) == hs::hb::DecodeError::Ok;
    });
    d.feed(wire);
    if (!seen || !(back == f))
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    checkDecode(input);
    checkRoundTrip(input);

    std::size_t frames = 0;
    hs::hb::StreamDeframer deframer([&frames](std::span<const std::uint8_t> frame) {
        ++frames;
        if (frame.size() < hs::hb::kHeaderSize + hs::hb::kTagSize ||
            frame.size() > hs::hb::kMaxFrame)
            std::abort();
        checkDecode(frame);
    });
    // First byte picks the chunk size so splits at odd boundaries are explored.
    const std::size_t chunk = size == 0 ? 1 : static_cast<std::size_t>(data[0] % 64) + 1;
    for (std::size_t off = 0; off < size; off += chunk)
        deframer.feed(input.subspan(off, std::min(chunk, size - off)));
    // Every byte is either garbage, part of a delivered frame, or still buffered (< one frame).
    if (deframer.garbageBytes() > size)
        std::abort();
    return 0;
}

// Encoding of the replication messages and the watermark.
#include "repl/message.hpp"

#include "repl/wire.hpp"

#include <limits>

namespace hs::repl {
namespace {

void putSeqs(WireWriter& w, const SeqPair& p) {
    for (auto v : p) {
        w.varint(v);
    }
}
bool getSeqs(WireReader& in, SeqPair& p) {
    for (auto& v : p) {
        in.varint(v);
    }
    return in.ok();
}

void putHistory(WireWriter& w, const History& h) {
    w.u8(static_cast<std::uint8_t>(h.size()));
    for (const auto& t : h) {
        w.varint(t.epoch);
        w.varint(t.writer);
        putSeqs(w, t.firstSeq);
    }
}
bool getHistory(WireReader& in, History& h) {
    std::uint8_t n = 0;
    if (!in.u8(n)) {
        return false;
    }
    if (n > kMaxTerms) {
        in.fail();
        return false;
    }
    h.clear();
    for (std::uint8_t i = 0; i < n && in.ok(); ++i) {
        Term t;
        in.varint(t.epoch);
        in.varintTo(t.writer, std::numeric_limits<std::uint32_t>::max());
        getSeqs(in, t.firstSeq);
        // Terms are ordered: epochs and first sequence numbers never go back.
        if (!h.empty() && (t.epoch < h.back().epoch || t.firstSeq[0] < h.back().firstSeq[0] ||
                           t.firstSeq[1] < h.back().firstSeq[1])) {
            in.fail();
        }
        h.push_back(t);
    }
    return in.ok();
}

struct EncodeMessage {
    WireWriter& w;
    std::vector<std::uint8_t>& out;
    void operator()(const Join& m) const {
        w.u8(static_cast<std::uint8_t>(MessageType::Join));
        w.varint(m.session);
        w.u8(m.reset ? 1 : 0);
        putSeqs(w, m.have);
        putHistory(w, m.history);
    }
    void operator()(const JoinReply& m) const {
        w.u8(static_cast<std::uint8_t>(MessageType::JoinReply));
        w.varint(m.session);
        w.u8(static_cast<std::uint8_t>(m.mode));
        putSeqs(w, m.from);
        putSeqs(w, m.top);
        putHistory(w, m.history);
    }
    void operator()(const Delta& m) const {
        w.u8(static_cast<std::uint8_t>(MessageType::Delta));
        w.varint(m.session);
        w.u8(static_cast<std::uint8_t>(m.stream));
        w.varint(m.from);
        w.varint(m.top);
        w.varint(m.records.size());
        for (const auto& r : m.records) {
            encodeRecord(r, out);
        }
    }
    void operator()(const Ack& m) const {
        w.u8(static_cast<std::uint8_t>(MessageType::Ack));
        w.varint(m.session);
        putSeqs(w, m.have);
        w.u8(m.gaps);
    }
};

bool decodeDelta(WireReader& in, Delta& d) {
    std::uint8_t sf = 0;
    in.varint(d.session);
    in.u8(sf);
    if (sf >= kStreams) {
        in.fail();
        return false;
    }
    d.stream = static_cast<Stream>(sf);
    in.varint(d.from);
    in.varint(d.top);
    std::uint64_t n = 0;
    in.varint(n);
    // Every record takes at least four bytes.
    if (!in.ok() || n == 0 || n > in.remaining() / 4) {
        in.fail();
        return false;
    }
    std::uint64_t last = d.from;
    d.records.clear();
    for (std::uint64_t i = 0; i < n; ++i) {
        Record r;
        if (!decodeRecord(in, r)) {
            return false;
        }
        if (streamOf(r.key().kind) != d.stream || r.stamp.seq <= last) {
            in.fail();
            return false;
        }
        last = r.stamp.seq;
        d.records.push_back(std::move(r));
    }
    if (last > d.top) {
        in.fail();
    }
    return in.ok();
}

} // namespace

void encodeMessage(const Message& m, std::vector<std::uint8_t>& out) {
    WireWriter w(out);
    w.u8(kMessageVersion);
    std::visit(EncodeMessage{w, out}, m);
}

std::vector<std::uint8_t> encodeMessage(const Message& m) {
    std::vector<std::uint8_t> out;
    encodeMessage(m, out);
    return out;
}

bool decodeMessage(std::span<const std::uint8_t> bytes, Message& out) {
    if (bytes.size() > kMaxMessage) {
        return false;
    }
    WireReader in(bytes);
    std::uint8_t version = 0;
    std::uint8_t type = 0;
    if (!in.u8(version) || version != kMessageVersion || !in.u8(type)) {
        return false;
    }
    switch (static_cast<MessageType>(type)) {
    case MessageType::Join: {
        Join m;
        std::uint8_t reset = 0;
        in.varint(m.session);
        in.u8(reset);
        if (reset > 1) {
            return false;
        }
        m.reset = reset == 1;
        getSeqs(in, m.have);
        getHistory(in, m.history);
        if (!in.ok() || !in.atEnd()) {
            return false;
        }
        out = std::move(m);
        return true;
    }
    case MessageType::JoinReply: {
        JoinReply m;
        std::uint8_t mode = 0;
        in.varint(m.session);
        in.u8(mode);
        if (mode != static_cast<std::uint8_t>(JoinMode::CatchUp) &&
            mode != static_cast<std::uint8_t>(JoinMode::Snapshot)) {
            return false;
        }
        m.mode = static_cast<JoinMode>(mode);
        getSeqs(in, m.from);
        getSeqs(in, m.top);
        getHistory(in, m.history);
        if (!in.ok() || !in.atEnd() || m.from[0] > m.top[0] || m.from[1] > m.top[1]) {
            return false;
        }
        out = std::move(m);
        return true;
    }
    case MessageType::Delta: {
        Delta m;
        if (!decodeDelta(in, m) || !in.atEnd()) {
            return false;
        }
        out = std::move(m);
        return true;
    }
    case MessageType::Ack: {
        Ack m;
        in.varint(m.session);
        getSeqs(in, m.have);
        in.u8(m.gaps);
        if (!in.ok() || !in.atEnd() || (m.gaps & ~0x03) != 0) {
            return false;
        }
        out = m;
        return true;
    }
    }
    return false;
}

void encodeWatermark(const Watermark& wm, std::vector<std::uint8_t>& out) {
    WireWriter w(out);
    w.u8(kMessageVersion);
    w.varint(wm.epoch);
    w.varint(wm.session);
    putSeqs(w, wm.seq);
    for (auto d : wm.digest) {
        w.u64(d);
    }
    w.u8(wm.exact);
}

bool decodeWatermark(std::span<const std::uint8_t> bytes, Watermark& out) {
    WireReader in(bytes);
    std::uint8_t version = 0;
    if (!in.u8(version) || version != kMessageVersion) {
        return false;
    }
    Watermark wm;
    in.varint(wm.epoch);
    in.varint(wm.session);
    getSeqs(in, wm.seq);
    for (auto& d : wm.digest) {
        in.u64(d);
    }
    in.u8(wm.exact);
    if (!in.ok() || !in.atEnd() || (wm.exact & ~0x03) != 0) {
        return false;
    }
    out = wm;
    return true;
}

std::string_view toString(MessageType t) {
    switch (t) {
    case MessageType::Join:
        return "join";
    case MessageType::JoinReply:
        return "joinReply";
    case MessageType::Delta:
        return "delta";
    case MessageType::Ack:
        return "ack";
    }
    return "unknown";
}

std::string_view toString(JoinMode m) {
    return m == JoinMode::CatchUp ? "catchUp" : "snapshot";
}

} // namespace hs::repl

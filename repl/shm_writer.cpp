// Shared-memory publication: the layout of repl/hs_shm.h filled from the store under a seqlock.
#include "repl/shm_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace hs::repl {
namespace {

hs_shm_header* headerOf(std::span<std::uint8_t> buf) {
    return reinterpret_cast<hs_shm_header*>(buf.data());
}

void copyText(char (&dst)[HS_SHM_TEXT], const std::string& s) {
    const auto n = std::min(s.size(), sizeof dst - 1);
    std::memcpy(dst, s.data(), n);
    dst[n] = '\0';
}

struct Fill {
    hs_shm_record& o;
    void operator()(const FanModeRecord& r) const { o.i[0] = static_cast<std::int64_t>(r.mode); }
    void operator()(const FanFloorRecord& r) const { o.i[0] = r.dutyPct ? *r.dutyPct : -1; }
    void operator()(const PowerRequestRecord& r) const {
        o.i[0] = static_cast<std::int64_t>(r.requestId);
        o.i[1] = static_cast<std::int64_t>(r.transition);
        o.i[2] = r.requestedUnixMs;
        o.i[3] = r.deadlineUnixMs;
        o.i[4] = static_cast<std::int64_t>(r.outcome);
        o.i[5] = r.outcomeUnixMs;
    }
    void operator()(const PreemptionRecord& r) const { o.i[0] = r.enabled ? 1 : 0; }
    void operator()(const SettingRecord& r) const { o.i[0] = r.value; }
    void operator()(const JournalRecord& r) const {
        o.i[0] = r.unixMs;
        o.i[1] = static_cast<std::int64_t>(r.reason);
        o.i[2] = static_cast<std::int64_t>(r.from);
        o.i[3] = static_cast<std::int64_t>(r.to);
        o.i[4] = static_cast<std::int64_t>(r.epoch);
        o.i[5] = static_cast<std::int64_t>(r.lagRecords);
        o.i[6] = static_cast<std::int64_t>(r.lagMs);
    }
    void operator()(const ChassisEventRecord& r) const {
        o.i[0] = r.unixMs;
        o.i[1] = static_cast<std::int64_t>(r.type);
        o.i[2] = r.objectIndex;
        o.d[0] = r.value;
        copyText(o.text, r.text);
    }
    void operator()(const SensorRecord& r) const {
        o.d[0] = r.value;
        o.i[0] = r.valid ? 1 : 0;
        o.i[1] = static_cast<std::int64_t>(r.state);
        o.i[2] = r.readUnixMs;
    }
    void operator()(const PowerRecord& r) const {
        o.i[0] = static_cast<std::int64_t>(r.state);
        o.i[1] = r.unixMs;
    }
    void operator()(const FanRecord& r) const {
        o.i[0] = r.dutyPct;
        o.i[1] = static_cast<std::int64_t>(r.mode);
        o.i[2] = r.failed ? 1 : 0;
        o.i[3] = r.rpm ? 1 : 0;
        o.d[0] = r.rpm.value_or(0);
    }
    void operator()(const BmcRecord& r) const {
        o.i[0] = static_cast<std::int64_t>(r.access);
        copyText(o.text, r.lastError);
    }
};

} // namespace

hs_shm_record toShm(const Record& r) {
    hs_shm_record o{};
    const auto k = r.key();
    o.kind = static_cast<std::uint8_t>(k.kind);
    o.stream = static_cast<std::uint8_t>(streamOf(k.kind));
    o.index = r.index;
    o.epoch = r.stamp.epoch;
    o.seq = r.stamp.seq;
    std::visit(Fill{o}, r.value);
    return o;
}

bool shmInit(std::span<std::uint8_t> buf, std::uint32_t capacity) {
    if (buf.size() < hs_shm_bytes(capacity)) {
        return false;
    }
    auto* h = headerOf(buf);
    // Keep the seqlock counting (odd while we lay out), so a reader of an earlier layout retries.
    const auto s = (__atomic_load_n(&h->seqlock, __ATOMIC_RELAXED) | 1u) + 2;
    __atomic_store_n(&h->seqlock, s, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    h->magic = 0;
    std::memset(buf.data() + offsetof(hs_shm_header, generation), 0,
                hs_shm_bytes(capacity) - offsetof(hs_shm_header, generation));
    h->version = HS_SHM_VERSION;
    h->header_size = sizeof(hs_shm_header);
    h->record_size = sizeof(hs_shm_record);
    h->capacity = capacity;
    h->count = 0;
    h->magic = HS_SHM_MAGIC;
    __atomic_store_n(&h->seqlock, s + 1, __ATOMIC_RELEASE);
    return true;
}

bool shmPublish(std::span<std::uint8_t> buf, const Store& store, const ShmStatus& status) {
    if (hs_shm_check(buf.data(), buf.size()) != HS_SHM_OK) {
        return false;
    }
    auto* h = headerOf(buf);
    auto* recs = reinterpret_cast<hs_shm_record*>(h + 1);
    const auto s = __atomic_load_n(&h->seqlock, __ATOMIC_RELAXED);
    __atomic_store_n(&h->seqlock, s + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);

    std::uint32_t n = 0;
    for (const auto& [k, r] : store.records()) {
        if (n == h->capacity) {
            break;
        }
        recs[n++] = toShm(r);
    }
    const auto wm = store.watermark();
    h->count = n;
    h->truncated = store.size() > n ? 1 : 0;
    h->generation += 1;
    h->epoch = wm.epoch;
    h->seq[0] = wm.seq[0];
    h->seq[1] = wm.seq[1];
    h->digest[0] = wm.digest[0];
    h->digest[1] = wm.digest[1];
    h->published_unix_ms = status.unixMs;
    h->role = static_cast<std::uint32_t>(status.role);
    h->readiness = static_cast<std::uint32_t>(status.readiness);
    h->lag_records = status.lagRecords;

    __atomic_store_n(&h->seqlock, s + 2, __ATOMIC_RELEASE);
    return true;
}

ShmRegion::ShmRegion(ShmRegion&& o) noexcept
    : base_(std::exchange(o.base_, nullptr)), size_(std::exchange(o.size_, 0)) {}

ShmRegion& ShmRegion::operator=(ShmRegion&& o) noexcept {
    if (this != &o) {
        if (base_ != nullptr) {
            ::munmap(base_, size_);
        }
        base_ = std::exchange(o.base_, nullptr);
        size_ = std::exchange(o.size_, 0);
    }
    return *this;
}

ShmRegion::~ShmRegion() {
    if (base_ != nullptr) {
        ::munmap(base_, size_);
    }
}

ShmRegion ShmRegion::create(const std::string& name, std::uint32_t capacity, std::string& error) {
    ShmRegion region;
    const auto size = hs_shm_bytes(capacity);
    const int fd = ::shm_open(name.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) {
        error = "shm_open " + name + ": " + std::strerror(errno);
        return region;
    }
    // fchmod: the mode of an existing object is not changed by shm_open.
    if (::fchmod(fd, 0644) != 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
        error = "resize " + name + ": " + std::strerror(errno);
        ::close(fd);
        return region;
    }
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) {
        error = "mmap " + name + ": " + std::strerror(errno);
        return region;
    }
    region.base_ = static_cast<std::uint8_t*>(p);
    region.size_ = size;
    shmInit(region.bytes(), capacity);
    return region;
}

void ShmRegion::unlink(const std::string& name) {
    ::shm_unlink(name.c_str());
}

} // namespace hs::repl

// The replicated store's file in the state directory and its shared-memory publication.
#include "daemon/replica_files.hpp"

#include "base/log.hpp"
#include "daemon/replication.hpp"
#include "daemon/state_files.hpp"

#include <chrono>
#include <fstream>
#include <iterator>
#include <string_view>
#include <system_error>

namespace hs {
namespace {

std::int64_t unixMs() {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string_view asText(const std::vector<std::uint8_t>& b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

} // namespace

repl::Store loadReplica(const std::filesystem::path& file, std::string& error) {
    error.clear();
    repl::Store s;
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
        return s;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        error = "cannot be read";
        return s;
    }
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                          std::istreambuf_iterator<char>()};
    repl::Store loaded;
    const repl::SnapshotError e = repl::decodeSnapshot(bytes, loaded);
    if (e != repl::SnapshotError::Ok) {
        error = std::string(repl::toString(e));
        return s;
    }
    loaded.clearStream(repl::Stream::Telemetry);
    return loaded;
}

ReplicaFiles::ReplicaFiles(asio::io_context& core, std::filesystem::path file, std::string shmName)
    : core_(core), file_(std::move(file)), shmName_(std::move(shmName)),
      guard_(worker_.get_executor()), thread_([this] { worker_.run(); }) {
    if (!shmName_.empty()) {
        std::string err;
        shm_ = repl::ShmRegion::create(shmName_, kShmCapacity, err);
        if (!shm_.valid()) {
            HS_ERROR("event=replication_shm_failed name={} error=\"{}\": the store is not "
                     "published in shared memory",
                     shmName_, err);
        } else {
            HS_INFO("event=replication_shm name={} capacity={}", shmName_, kShmCapacity);
        }
    }
}

ReplicaFiles::~ReplicaFiles() {
    guard_.reset();
    thread_.join();
    if (shm_.valid()) {
        repl::ShmRegion::unlink(shmName_); // a clean stop: readers see the region go
    }
}

void ReplicaFiles::update(const Replication& r, Role role, TimePoint now) {
    if (shm_.valid() && (shmGeneration_ != r.generation() || shmRole_ != role) &&
        (!shmAt_ || now - *shmAt_ >= kShmEvery)) {
        repl::ShmStatus st;
        st.role = role;
        st.readiness = r.writer() ? repl::Readiness::Hot : r.readiness(); // (hs_shm.h)
        st.lagRecords = r.lagRecords();
        st.unixMs = unixMs();
        repl::shmPublish(shm_.bytes(), r.store(), st);
        shmGeneration_ = r.generation();
        shmRole_ = role;
        shmAt_ = now;
    }
    if (!writing_ && savedGeneration_ != r.generation() &&
        (!savedAt_ || now - *savedAt_ >= kSaveEvery)) {
        savedGeneration_ = r.generation();
        savedAt_ = now;
        save(repl::encodeSnapshot(r.store()));
    }
}

void ReplicaFiles::flush(const Replication& r) {
    if (savedGeneration_ == r.generation() || writing_) {
        return;
    }
    const auto bytes = repl::encodeSnapshot(r.store());
    if (auto ec = writeFileAtomic(file_, asText(bytes))) {
        HS_ERROR("event=replication_save_failed file={} error=\"{}\"", file_.string(),
                 ec.message());
    }
}

void ReplicaFiles::save(std::vector<std::uint8_t> bytes) {
    writing_ = true;
    asio::post(worker_, [this, bytes = std::move(bytes)]() {
        const std::error_code ec = writeFileAtomic(file_, asText(bytes));
        asio::post(core_, [this, ec] { saved(ec); });
    });
}

void ReplicaFiles::saved(std::error_code ec) {
    writing_ = false;
    if (ec) {
        savedGeneration_.reset(); // written again with the next update
        if (!failing_) {
            HS_ERROR("event=replication_save_failed file={} error=\"{}\": the replicated store "
                     "is kept in memory and written again; a restart of both modules would "
                     "lose what changed since the last good write",
                     file_.string(), ec.message());
        }
        failing_ = true;
    } else if (failing_) {
        failing_ = false;
        HS_INFO("event=replication_save_recovered file={}", file_.string());
    }
}

} // namespace hs

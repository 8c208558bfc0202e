// SensorPoller: the ipmi-sens worker. Reads every sensor through libipmimonitoring every
// sensor_poll_ms (or at once when asked) and hands each result, tagged with the role generation
// that was current when the read BEGAN, to the control worker.
#include "chassis/chassis_workers.hpp"
#include "chassis/sensor_reader.hpp"

namespace hs::chassis {

SensorPoller::SensorPoller(std::shared_ptr<const ChassisConfig> cfg, const RoleFlags& role,
                           Deliver deliver)
    : role_(role), deliver_(std::move(deliver)), cfg_(std::move(cfg)), timer_(thread_.io) {}

SensorPoller::~SensorPoller() = default;

void SensorPoller::start() {
    reader_ = std::make_unique<SensorReader>(cfg_->bmc, cfg_->sdrCacheDir);
    thread_.start();
    asio::post(thread_.io, [this] { schedule(Duration::zero()); });
}

void SensorPoller::stop() {
    asio::post(thread_.io, [this] {
        timer_.cancel();
        reader_.reset();
    });
    thread_.join();
}

void SensorPoller::pollNow() {
    asio::post(thread_.io, [this] { schedule(Duration::zero()); });
}

void SensorPoller::reconfigure(std::shared_ptr<const ChassisConfig> next) {
    asio::post(thread_.io, [this, next = std::move(next)]() mutable {
        cfg_ = std::move(next);
        // A shorter interval replaces the wait armed with the old one; a longer one (or a read
        // asked for at once) takes effect after the read already due.
        TimePoint due = Clock::now() + cfg_->sensorPoll;
        if (reader_ && !role_.stopping.load() && due < timer_.expiry()) {
            schedule(cfg_->sensorPoll);
        }
    });
}

void SensorPoller::schedule(Duration delay) {
    timer_.expires_after(delay);
    timer_.async_wait(std::bind_front(&SensorPoller::afterTimer, this));
}

void SensorPoller::afterTimer(std::error_code ec) {
    if (ec || role_.stopping.load() || !reader_) {
        return;
    }
    poll();
    schedule(cfg_->sensorPoll);
}

void SensorPoller::poll() {
    // Readings count as fresh for the activation that was current when the read began.
    std::uint64_t gen = role_.gen.load();
    TimePoint t0 = Clock::now();
    SensorReadResult res = reader_->read();
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    deliver_(std::move(res), gen, ms);
}

} // namespace hs::chassis

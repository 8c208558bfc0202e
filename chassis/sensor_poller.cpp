// SensorPoller: the ipmi-sens worker. Reads every sensor through libipmimonitoring every
// sensor_poll_ms (or at once when asked) and hands each result, tagged with the role generation
// that was current when the read BEGAN, to the control worker.
#include "chassis/chassis_workers.hpp"
#include "chassis/sensor_reader.hpp"

namespace hs::chassis {

SensorPoller::SensorPoller(const ChassisConfig& cfg, const RoleFlags& role, Deliver deliver)
    : m_cfg(cfg), m_role(role), m_deliver(std::move(deliver)), m_timer(m_thread.io) {}

SensorPoller::~SensorPoller() = default;

void SensorPoller::start() {
    m_reader = std::make_unique<SensorReader>(m_cfg.bmc, m_cfg.sdrCacheDir);
    m_thread.start();
    asio::post(m_thread.io, [this] { schedule(Duration::zero()); });
}

void SensorPoller::stop() {
    asio::post(m_thread.io, [this] {
        m_timer.cancel();
        m_reader.reset();
    });
    m_thread.join();
}

void SensorPoller::pollNow() {
    asio::post(m_thread.io, [this] { schedule(Duration::zero()); });
}

void SensorPoller::schedule(Duration delay) {
    m_timer.expires_after(delay);
    m_timer.async_wait(std::bind_front(&SensorPoller::afterTimer, this));
}

void SensorPoller::afterTimer(std::error_code ec) {
    if (ec || m_role.stopping.load() || !m_reader) {
        return;
    }
    poll();
    schedule(m_cfg.sensorPoll);
}

void SensorPoller::poll() {
    // Readings count as fresh for the activation that was current when the read began.
    std::uint64_t gen = m_role.gen.load();
    TimePoint t0 = Clock::now();
    SensorReadResult res = m_reader->read();
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    m_deliver(std::move(res), gen, ms);
}

} // namespace hs::chassis

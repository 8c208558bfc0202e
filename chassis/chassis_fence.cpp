// Fencer: the ipmi-fence worker. Powers the PEER host off through ITS BMC (two-server variant,
// off by default). Not subject to the role gate: it is a step of taking over and does not touch
// the local chassis.
#include "base/log.hpp"
#include "chassis/chassis_workers.hpp"
#include "chassis/fan_profile.hpp"
#include "chassis/ipmi_error.hpp"
#include "chassis/ipmi_session.hpp"

#include <fmt/core.h>
#include <thread>

namespace hs::chassis {

Fencer::Fencer(asio::io_context& core, const FencingConfig& cfg, const RoleFlags& role)
    : m_core(core), m_cfg(cfg), m_role(role), m_timer(m_thread.io) {}

void Fencer::start() {
    m_thread.start();
}

void Fencer::stop() {
    asio::post(m_thread.io, [this] { m_timer.cancel(); });
    m_thread.join();
}

void Fencer::fence(std::uint32_t localSlot, FenceDone done) {
    auto delay = m_cfg.delayPerSlot * localSlot;
    HS_WARN("chassis event=fence_scheduled peer_bmc=\"{}\" delay_ms={}", m_cfg.peer.target(),
            delay.count());
    asio::post(m_thread.io, [this, delay, done = std::move(done)]() mutable {
        if (m_done) {
            asio::post(m_core,
                       [d = std::move(done)] { d(false, "a fence is already in progress"); });
            return;
        }
        m_done = std::move(done);
        m_timer.expires_after(delay);
        m_timer.async_wait(std::bind_front(&Fencer::afterDelay, this));
    });
}

void Fencer::cancel() {
    asio::post(m_thread.io, [this] { m_timer.cancel(); });
}

void Fencer::afterDelay(std::error_code ec) {
    FenceDone d = std::move(m_done);
    m_done = nullptr;
    if (ec || m_role.stopping.load()) {
        HS_INFO("chassis event=fence_cancelled");
        asio::post(m_core, [d = std::move(d)] { d(false, "cancelled"); });
        return;
    }
    run(std::move(d));
}

void Fencer::finish(FenceDone done, BmcTransport& session, bool ok, std::string msg) {
    session.close(); // free the peer BMC's session slot at once
    if (ok) {
        HS_WARN("chassis event=fenced peer_bmc=\"{}\" result=\"{}\"", m_cfg.peer.target(), msg);
    } else {
        HS_ERROR("chassis event=fence_failed peer_bmc=\"{}\" error=\"{}\"", m_cfg.peer.target(),
                 msg);
    }
    asio::post(m_core, [d = std::move(done), ok, msg = std::move(msg)] { d(ok, msg); });
}

void Fencer::run(FenceDone done) {
    IpmiSession session(m_cfg.peer);
    auto readPower = [&session](bool& on, std::string& err) {
        RawResponse rs;
        std::error_code ec = session.raw(kNetfnChassis, kCmdGetChassisStatus, {}, rs);
        if (!ec && rs.cc != 0) {
            ec = completionCode(rs.cc);
        }
        if (ec || rs.data.empty()) {
            err = fmt::format("get chassis status: {} {}", ec.message(), session.lastErrorText());
            return false;
        }
        on = (rs.data[0] & 0x01) != 0;
        return true;
    };
    std::string err;
    bool on = true;
    if (!readPower(on, err)) {
        return finish(std::move(done), session, false, err);
    }
    if (!on) {
        return finish(std::move(done), session, true, "peer chassis already off");
    }
    RawResponse rs;
    const std::uint8_t powerDown[] = {static_cast<std::uint8_t>(PowerControl::PowerDown)};
    std::error_code ec = session.raw(kNetfnChassis, kCmdChassisControl, powerDown, rs);
    if (!ec && rs.cc != 0) {
        ec = completionCode(rs.cc);
    }
    if (ec) {
        return finish(std::move(done), session, false,
                      fmt::format("power down: {} {}", ec.message(), session.lastErrorText()));
    }
    TimePoint deadline = Clock::now() + m_cfg.confirmTimeout;
    while (Clock::now() < deadline && !m_role.stopping.load()) {
        if (readPower(on, err) && !on) {
            return finish(std::move(done), session, true, "peer chassis powered off");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    finish(
        std::move(done), session, false,
        fmt::format("peer chassis not confirmed off within {} ms", m_cfg.confirmTimeout.count()));
}

} // namespace hs::chassis

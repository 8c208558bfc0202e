// ChassisManager: fencing the peer host through ITS BMC (two-server variant, off by default).
#include "base/log.hpp"
#include "chassis/chassis_manager.hpp"
#include "chassis/ipmi_error.hpp"

#include <fmt/core.h>
#include <thread>

namespace hs::chassis {

void ChassisManager::fencePeer(std::uint32_t localSlot, FenceDone done) {
    if (!m_cfg.fencing.enabled || !m_fence || m_stopping.load()) {
        postCore([done = std::move(done)] { done(false, "fencing disabled"); });
        return;
    }
    auto delay = m_cfg.fencing.delayPerSlot * localSlot;
    HS_WARN("chassis event=fence_scheduled peer_bmc=\"{}\" delay_ms={}",
            m_cfg.fencing.peer.target(), delay.count());
    asio::post(m_fence->io, [this, delay, done = std::move(done)]() mutable {
        if (m_fenceDone) {
            postCore([d = std::move(done)] { d(false, "a fence is already in progress"); });
            return;
        }
        m_fenceDone = std::move(done);
        m_fenceTimer->expires_after(delay);
        m_fenceTimer->async_wait([this](std::error_code ec) {
            FenceDone d = std::move(m_fenceDone);
            m_fenceDone = nullptr;
            if (ec || m_stopping.load()) {
                HS_INFO("chassis event=fence_cancelled");
                postCore([d = std::move(d)] { d(false, "cancelled"); });
                return;
            }
            runFence(std::move(d));
        });
    });
}

void ChassisManager::cancelFence() {
    if (!m_fence) {
        return;
    }
    asio::post(m_fence->io, [this] { m_fenceTimer->cancel(); });
}

void ChassisManager::finishFence(FenceDone done, IpmiSession& session, bool ok, std::string msg) {
    session.close(); // free the peer BMC's session slot at once
    if (ok) {
        HS_WARN("chassis event=fenced peer_bmc=\"{}\" result=\"{}\"", session.endpoint().target(),
                msg);
    } else {
        HS_ERROR("chassis event=fence_failed peer_bmc=\"{}\" error=\"{}\"",
                 session.endpoint().target(), msg);
    }
    postCore([d = std::move(done), ok, msg = std::move(msg)] { d(ok, msg); });
}

void ChassisManager::runFence(FenceDone done) {
    const BmcEndpoint& peer = m_cfg.fencing.peer;
    IpmiSession session(peer);
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
        return finishFence(std::move(done), session, false, err);
    }
    if (!on) {
        return finishFence(std::move(done), session, true, "peer chassis already off");
    }
    RawResponse rs;
    const std::uint8_t powerDown[] = {static_cast<std::uint8_t>(PowerControl::PowerDown)};
    std::error_code ec = session.raw(kNetfnChassis, kCmdChassisControl, powerDown, rs);
    if (!ec && rs.cc != 0) {
        ec = completionCode(rs.cc);
    }
    if (ec) {
        return finishFence(std::move(done), session, false,
                           fmt::format("power down: {} {}", ec.message(), session.lastErrorText()));
    }
    TimePoint deadline = Clock::now() + m_cfg.fencing.confirmTimeout;
    while (Clock::now() < deadline && !m_stopping.load()) {
        if (readPower(on, err) && !on) {
            return finishFence(std::move(done), session, true, "peer chassis powered off");
        }
        std::this_thread::sleep_for(milliseconds(100));
    }
    finishFence(std::move(done), session, false,
                fmt::format("peer chassis not confirmed off within {} ms",
                            m_cfg.fencing.confirmTimeout.count()));
}

} // namespace hs::chassis

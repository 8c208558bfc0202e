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

Fencer::Fencer(asio::io_context& core, FencingConfig cfg, const RoleFlags& role)
    : core_(core), cfg_(std::move(cfg)), role_(role), timer_(thread_.io) {}

void Fencer::start() {
    thread_.start();
}

void Fencer::stop() {
    asio::post(thread_.io, [this] { timer_.cancel(); });
    thread_.join();
}

void Fencer::fence(std::uint32_t localSlot, FenceDone done) {
    auto delay = cfg_.delayPerSlot * localSlot;
    HS_WARN("chassis event=fence_scheduled peer_bmc=\"{}\" delay_ms={}", cfg_.peer.target(),
            delay.count());
    asio::post(thread_.io, [this, delay, done = std::move(done)]() mutable {
        if (done_) {
            asio::post(core_,
                       [d = std::move(done)] { d(false, "a fence is already in progress"); });
            return;
        }
        done_ = std::move(done);
        timer_.expires_after(delay);
        timer_.async_wait(std::bind_front(&Fencer::afterDelay, this));
    });
}

void Fencer::cancel() {
    asio::post(thread_.io, [this] { timer_.cancel(); });
}

void Fencer::afterDelay(std::error_code ec) {
    FenceDone d = std::move(done_);
    done_ = nullptr;
    if (ec || role_.stopping.load()) {
        HS_INFO("chassis event=fence_cancelled");
        asio::post(core_, [d = std::move(d)] { d(false, "cancelled"); });
        return;
    }
    run(std::move(d));
}

void Fencer::finish(FenceDone done, BmcTransport& session, bool ok, std::string msg) {
    session.close(); // free the peer BMC's session slot at once
    if (ok) {
        HS_WARN("chassis event=fenced peer_bmc=\"{}\" result=\"{}\"", cfg_.peer.target(), msg);
    } else {
        HS_ERROR("chassis event=fence_failed peer_bmc=\"{}\" error=\"{}\"", cfg_.peer.target(),
                 msg);
    }
    asio::post(core_, [d = std::move(done), ok, msg = std::move(msg)] { d(ok, msg); });
}

void Fencer::run(FenceDone done) {
    IpmiSession session(cfg_.peer);
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
    TimePoint deadline = Clock::now() + cfg_.confirmTimeout;
    while (Clock::now() < deadline && !role_.stopping.load()) {
        if (readPower(on, err) && !on) {
            return finish(std::move(done), session, true, "peer chassis powered off");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    finish(std::move(done), session, false,
           fmt::format("peer chassis not confirmed off within {} ms", cfg_.confirmTimeout.count()));
}

} // namespace hs::chassis

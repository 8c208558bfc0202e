// FakeBmc: a hand-written BMC for unit tests behind the BmcTransport interface. A tiny model of
// what the chassis code asks of a BMC: chassis power (Get Chassis Status, Chassis Control) and
// the Supermicro and Dell OEM fan mode and per-zone duty commands. It counts every call, records
// every chassis-changing request that reached it, and can be told to fail (a timeout, a refused
// login, a completion code) or to answer later power transitions on the next status read only.
// No threads, no clock: each call returns at once.
#pragma once

#include "chassis/bmc_transport.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace hs::chassis::test {

class FakeBmc final : public BmcTransport {
  public:
    // ---- the model ----
    bool power = false;
    std::optional<bool> pendingPower;      // applied at the next status read (a slow chassis)
    bool slowPower = false;                // power commands take effect at the next status read
    bool fanManual = false;                // Supermicro "full" / Dell "manual"
    std::map<std::uint8_t, unsigned> duty; // zone -> last duty set

    // ---- faults ----
    std::optional<std::error_code> failOpen; // open() fails with this (e.g. a refused login)
    std::optional<std::error_code> failRaw;  // every request fails with this (e.g. a timeout)
    std::string failText = "fake failure";
    std::optional<std::uint8_t> answerCc; // every request is answered with this completion code

    // ---- counters ----
    int openCalls = 0;
    int closeCalls = 0;
    int statusReads = 0; // Get Chassis Status requests that reached the BMC
    // For each status read: how many chassis-changing requests had arrived before it (order).
    std::vector<std::size_t> statusAfterChanges;
    int refusedBeforeSend = 0;            // raw() calls whose mayLeave said "do not send"
    std::vector<RawRequest> changes;      // every chassis-changing request that reached the BMC
    std::vector<std::uint8_t> powerCalls; // Chassis Control data bytes received

    std::error_code open() override {
        ++openCalls;
        if (open_) {
            return {};
        }
        if (failOpen) {
            lastError_ = failText;
            return *failOpen;
        }
        open_ = true;
        ++opens_;
        return {};
    }
    bool isOpen() const override { return open_; }
    void close() override {
        ++closeCalls;
        open_ = false;
    }
    using BmcTransport::raw;
    std::error_code raw(std::uint8_t netfn, std::uint8_t cmd, std::span<const std::uint8_t> data,
                        RawResponse& out, const SendCheck& mayLeave = {}) override {
        if (std::error_code ec = open()) {
            return ec;
        }
        if (mayLeave && !mayLeave()) {
            ++refusedBeforeSend;
            lastError_ = "not sent: refused immediately before sending";
            return std::make_error_code(std::errc::operation_canceled);
        }
        std::vector<std::uint8_t> bytes(data.begin(), data.end());
        bool changing = !(netfn == 0x00 && cmd == 0x01);
        if (changing) {
            changes.push_back({netfn, cmd, bytes, "received"});
        }
        if (failRaw) {
            lastError_ = failText;
            return *failRaw;
        }
        out.data.clear();
        out.cc = 0;
        if (answerCc) {
            out.cc = *answerCc;
            return {};
        }
        answer(netfn, cmd, bytes, out);
        return {};
    }
    const std::string& lastErrorText() const override { return lastError_; }
    std::uint64_t opens() const override { return opens_; }

    // The BMC forgets its sessions (a reset): the next request opens a new one.
    void dropSession() { open_ = false; }
    // Chassis-changing requests received with this netfn/cmd.
    int received(std::uint8_t netfn, std::uint8_t cmd) const {
        int n = 0;
        for (const RawRequest& r : changes) {
            n += r.netfn == netfn && r.cmd == cmd ? 1 : 0;
        }
        return n;
    }

  private:
    void setPower(bool on) {
        if (slowPower) {
            pendingPower = on;
        } else {
            power = on;
        }
    }
    void answer(std::uint8_t netfn, std::uint8_t cmd, const std::vector<std::uint8_t>& d,
                RawResponse& out) {
        if (netfn == 0x00 && cmd == 0x01) { // Get Chassis Status
            ++statusReads;
            statusAfterChanges.push_back(changes.size());
            if (pendingPower) {
                power = *pendingPower;
                pendingPower.reset();
            }
            out.data = {static_cast<std::uint8_t>(power ? 0x01 : 0x00), 0x00, 0x00};
            return;
        }
        if (netfn == 0x00 && cmd == 0x02 && d.size() == 1) { // Chassis Control
            powerCalls.push_back(d[0]);
            switch (d[0]) {
            case 0x00: // power down
            case 0x05: // soft shutdown
                setPower(false);
                return;
            case 0x01: // power up
            case 0x02: // power cycle (ends on)
            case 0x03: // hard reset
                setPower(true);
                return;
            default:
                out.cc = 0xCC;
                return;
            }
        }
        if (netfn == 0x30 && cmd == 0x45 && d.size() == 2 && d[0] == 0x01) { // Supermicro mode
            fanManual = d[1] == 0x01;
            return;
        }
        if (netfn == 0x30 && cmd == 0x70 && d.size() == 4 && d[0] == 0x66 && d[1] == 0x01) {
            duty[d[2]] = d[3]; // Supermicro zone duty
            return;
        }
        if (netfn == 0x30 && cmd == 0x30 && d.size() == 2 && d[0] == 0x01) { // Dell mode
            fanManual = d[1] == 0x00;
            return;
        }
        if (netfn == 0x30 && cmd == 0x30 && d.size() == 3 && d[0] == 0x02) { // Dell duty
            duty[d[1]] = d[2];
            return;
        }
        out.cc = 0xC1; // invalid command
    }

    bool open_ = false;
    std::uint64_t opens_ = 0;
    std::string lastError_;
};

} // namespace hs::chassis::test

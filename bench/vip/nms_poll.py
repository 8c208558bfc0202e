#!/usr/bin/env python3
"""An NMS polling one address over SNMP: an SNMPv2c GET of sysName.0 every PERIOD seconds, each
with TIMEOUT and RETRIES as an NMS sets them (a retry re-sends the same request id). Run inside the
NMS's network namespace. Standard library only.

    nms_poll.py --target 192.0.2.100 --port 161 --period 0.01 --timeout 0.05 --retries 1 \
                --seconds 6

Prints one JSON object at the end (or at SIGTERM): {"gets": [[sent, answered_or_null, sysName],
...]}, times from time.time().
"""

import argparse
import json
import select
import signal
import socket
import sys
import time

SYSNAME_OID = bytes([0x2B, 6, 1, 2, 1, 1, 5, 0])


def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    return bytes([tag, 0x81, n]) + body


def get_request(reqid, community=b"public"):
    vb = tlv(0x30, tlv(0x06, SYSNAME_OID) + b"\x05\x00")
    pdu = tlv(0xA0, tlv(0x02, reqid.to_bytes(4, "big")) + b"\x02\x01\x00\x02\x01\x00" +
              tlv(0x30, vb))
    return tlv(0x30, b"\x02\x01\x01" + tlv(0x04, community) + pdu)


def read_tlv(b, i):
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, b[i:i + n], i + n


def parse_response(b):
    """(request id, sysName) of a GetResponse, or None."""
    try:
        _, msg, _ = read_tlv(b, 0)
        _, _, i = read_tlv(msg, 0)      # version
        _, _, i = read_tlv(msg, i)      # community
        tag, pdu, _ = read_tlv(msg, i)
        if tag != 0xA2:
            return None
        _, rid, i = read_tlv(pdu, 0)
        _, err, i = read_tlv(pdu, i)
        _, _, i = read_tlv(pdu, i)
        _, vbl, _ = read_tlv(pdu, i)
        _, vb, _ = read_tlv(vbl, 0)
        _, _, j = read_tlv(vb, 0)
        tag, val, _ = read_tlv(vb, j)
        if int.from_bytes(err, "big") != 0 or tag != 0x04:
            return None
        return int.from_bytes(rid, "big"), val.decode(errors="replace")
    except (IndexError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--port", type=int, default=161)
    ap.add_argument("--period", type=float, default=0.01)
    ap.add_argument("--timeout", type=float, default=0.05)
    ap.add_argument("--retries", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=6.0)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    dst = (a.target, a.port)
    gets = {}      # reqid -> [sent, answered, name, tries, next_retry]
    order = []
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    t_end = time.time() + a.seconds
    next_send = time.time()
    reqid = 1000
    def drain():
        while True:
            try:
                pkt = s.recv(1500)
            except BlockingIOError:
                return
            r = parse_response(pkt)
            if r and r[0] in gets and gets[r[0]][1] is None and gets[r[0]][4] is not None:
                gets[r[0]][1] = time.time()
                gets[r[0]][2] = r[1]

    while not stop[0]:
        # Answers already in the socket count before any timeout is judged: a poller that was
        # not scheduled for a while must not fail GETs whose answers are waiting.
        drain()
        now = time.time()
        if now < t_end and now >= next_send:
            reqid += 1
            gets[reqid] = [now, None, None, 1, now + a.timeout]
            order.append(reqid)
            try:
                s.sendto(get_request(reqid), dst)
            except OSError:
                pass
            next_send += a.period
            if next_send < now:
                next_send = now + a.period
        pending = [r for r in order[-200:] if gets[r][1] is None and gets[r][3] <= a.retries + 1
                   and gets[r][4] is not None]
        for r in pending:
            g = gets[r]
            if now >= g[4]:
                if g[3] <= a.retries:
                    g[3] += 1
                    g[4] = now + a.timeout
                    try:
                        s.sendto(get_request(r), dst)
                    except OSError:
                        pass
                else:
                    g[4] = None  # failed
        if now >= t_end and not any(gets[r][1] is None and gets[r][4] is not None
                                    for r in order[-200:]):
            break
        wake = min([next_send if now < t_end else now + 0.01] +
                   [gets[r][4] for r in pending if gets[r][4] is not None])
        select.select([s], [], [], max(0.0, wake - time.time()))
    json.dump({"gets": [[gets[r][0], gets[r][1], gets[r][2]] for r in order]}, sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

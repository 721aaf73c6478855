#!/usr/bin/env python3
# The VM's NIC, played by a relay: frames read from the TAP fd (fd 3, inherited from the test) go
# out of a veth in the "VM" namespace, and frames arriving on that veth are written to the TAP fd.
# A real DHCP client on the veth's peer then talks to the pod's side exactly as a guest would.
# Usage (inside the VM netns): vm-side-relay.py IFNAME   (TAP fd as fd 3, no vnet header)
import os
import select
import socket
import sys

TAP = 3
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_VNET_HDR = 15
VNET_HDR_LEN = 10
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1


def complete_checksum(frame, start, offset):
    """The guest's stack leaves TCP/UDP checksums to the "hardware" (the veth says it can): the
    field holds the pseudo-header sum and the rest is ours to add. The TAP is opened without a
    vnet header, so the frame must leave here complete."""
    data = bytes(frame[start:])
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    frame[start + offset:start + offset + 2] = (~total & 0xFFFF).to_bytes(2, "big")

ifname = sys.argv[1]
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
sock.bind((ifname, 0))
os.set_blocking(TAP, False)
sock.setblocking(False)
print("ready", flush=True)
while True:
    ready, _, _ = select.select([TAP, sock], [], [])
    if TAP in ready:
        while True:
            try:
                frame = os.read(TAP, 65600)
            except BlockingIOError:
                break
            except OSError:
                sys.exit(0)  # the TAP went away: the test tore the network down
            if not frame:
                sys.exit(0)
            try:
                sock.send(bytes(VNET_HDR_LEN) + frame)
            except OSError:
                pass  # too big for the veth, or the veth is down: a NIC drops it too
    if sock in ready:
        while True:
            try:
                frame, addr = sock.recvfrom(65600)
            except BlockingIOError:
                break
            if addr[2] == PACKET_OUTGOING:
                continue  # our own transmissions
            flags = frame[0]
            csum_start = int.from_bytes(frame[6:8], "little")
            csum_offset = int.from_bytes(frame[8:10], "little")
            frame = bytearray(frame[VNET_HDR_LEN:])
            if flags & VIRTIO_NET_HDR_F_NEEDS_CSUM:
                complete_checksum(frame, csum_start, csum_offset)
            try:
                os.write(TAP, frame)
            except BlockingIOError:
                pass
            except OSError:
                sys.exit(0)

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

ifname = sys.argv[1]
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
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
                sock.send(frame)
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
            try:
                os.write(TAP, frame)
            except BlockingIOError:
                pass
            except OSError:
                sys.exit(0)

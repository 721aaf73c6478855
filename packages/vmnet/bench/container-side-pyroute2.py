#!/usr/bin/python3
# The pyroute2 peer of the container-side benchmark: the same setup and teardown steps as vmnet,
# done with Debian's python3-pyroute2 in one long-lived process (requests on stdin, one JSON line
# per request on stdout with the total time and the part spent in netlink calls). DHCP blocking
# is ebtables, as Virtlet does it.
import json
import subprocess
import sys
import time

from pyroute2 import NetNS


def ebtables(netns, action, iface):
    for flag in ("-i", "-o"):
        subprocess.run(
            ["ip", "netns", "exec", netns, "ebtables", action, "FORWARD", flag, iface, "-p", "IPv4",
             "--ip-proto", "udp", "--ip-dport", "67:68", "-j", "DROP"],
            check=True,
        )


def setup(req):
    ns = NetNS(req["netns"])
    t0 = time.perf_counter()
    idx = ns.link_lookup(ifname=req["ifname"])[0]
    ns.route("del", dst="0.0.0.0/0", gateway=req["gateway"], oif=idx)
    ns.addr("del", index=idx, address=req["address"], prefixlen=req["prefix"])
    ns.link("set", index=idx, address=req["newMac"])
    ns.link("add", ifname="tap0", kind="tuntap", mode="tap")
    tap = ns.link_lookup(ifname="tap0")[0]
    ns.link("set", index=tap, mtu=req["mtu"])
    ns.link("add", ifname="br0", kind="bridge", br_ageing_time=0)
    br = ns.link_lookup(ifname="br0")[0]
    ns.link("set", index=br, mtu=req["mtu"], txqlen=1000)
    ns.link("set", index=idx, master=br)
    ns.link("set", index=tap, master=br)
    ns.link("set", index=br, state="up")
    ns.link("set", index=tap, state="up")
    ns.addr("add", index=br, address="169.254.254.2", prefixlen=24)
    netlink = time.perf_counter() - t0
    ns.close()
    ebtables(req["netns"], "-A", req["ifname"])
    return netlink


def teardown(req):
    ns = NetNS(req["netns"])
    t0 = time.perf_counter()
    idx = ns.link_lookup(ifname=req["ifname"])[0]
    ns.link("del", index=ns.link_lookup(ifname="tap0")[0])
    ns.link("del", index=ns.link_lookup(ifname="br0")[0])
    ns.link("set", index=idx, address=req["mac"])
    ns.addr("add", index=idx, address=req["address"], prefixlen=req["prefix"])
    ns.route("add", dst="0.0.0.0/0", gateway=req["gateway"], oif=idx)
    netlink = time.perf_counter() - t0
    ns.close()
    ebtables(req["netns"], "-D", req["ifname"])
    return netlink


print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    start = time.perf_counter()
    netlink = setup(req) if req["op"] == "setup" else teardown(req)
    print(json.dumps({"total": time.perf_counter() - start, "netlink": netlink}), flush=True)

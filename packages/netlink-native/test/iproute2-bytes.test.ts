// Our request bytes against iproute2's, message for message. The fixtures were recorded with
// test/fixtures/record-iproute2.sh (strace of real `ip` commands; seq/pid zeroed). Indexes in
// that recording: a0=2, br0=4. Kinds this kernel lacks (vlan, gretap, dummy) are included: the
// bytes are what matters, not whether this kernel accepts them.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import * as C from "../src/codec/constants.js";
import { encodeMessage } from "../src/codec/message.js";
import { broadcastOf } from "../src/packet/addr-message.js";
import * as R from "../src/packet/requests.js";

const fixtures = JSON.parse(
  readFileSync(new URL("./fixtures/iproute2-requests.json", import.meta.url), "utf8"),
) as {
  command: string;
  messages: string[];
}[];

const A0 = 2;
const BR0 = 4;

const table: Record<string, R.Request> = {
  "ip link add v0 type veth peer name v1": R.linkAdd({
    kind: "veth",
    attrs: { name: "v0" },
    data: { peer: { name: "v1" } },
  }),
  "ip link add v0 mtu 1400 type veth peer name v1": R.linkAdd({
    kind: "veth",
    attrs: { name: "v0", mtu: 1400 },
    data: { peer: { name: "v1" } },
  }),
  "ip link add br1 type bridge": R.linkAdd({ kind: "bridge", attrs: { name: "br1" } }),
  "ip link add br1 type bridge ageing_time 1000 stp_state 0": R.linkAdd({
    kind: "bridge",
    attrs: { name: "br1" },
    data: { ageingTime: 1000, stp: false },
  }),
  "ip link add br1 type bridge vlan_filtering 1": R.linkAdd({
    kind: "bridge",
    attrs: { name: "br1" },
    data: { vlanFiltering: true },
  }),
  "ip link add vx0 type vxlan id 42 remote 10.0.0.9 dstport 4789": R.linkAdd({
    kind: "vxlan",
    attrs: { name: "vx0" },
    data: { vni: 42, remote: "10.0.0.9", port: 4789 },
  }),
  "ip link add vx0 type vxlan id 42 local 10.0.0.1 dev a0 dstport 4789 nolearning": R.linkAdd({
    kind: "vxlan",
    attrs: { name: "vx0" },
    data: { vni: 42, local: "10.0.0.1", device: A0, port: 4789, learning: false },
  }),
  "ip link add mv0 link a0 type macvlan mode bridge": R.linkAdd({
    kind: "macvlan",
    attrs: { name: "mv0", parent: A0 },
    data: { mode: "bridge" },
  }),
  "ip link add mvt0 link a0 type macvtap mode passthru": R.linkAdd({
    kind: "macvtap",
    attrs: { name: "mvt0", parent: A0 },
    data: { mode: "passthru" },
  }),
  "ip link add ifb0 type ifb": R.linkAdd({ kind: "ifb", attrs: { name: "ifb0" } }),
  "ip link add d0 type dummy": R.linkAdd({ kind: "dummy", attrs: { name: "d0" } }),
  "ip link add link a0 name a0.5 type vlan id 5": R.linkAdd({
    kind: "vlan",
    attrs: { name: "a0.5", parent: A0 },
    data: { id: 5 },
  }),
  "ip link add link a0 name a0.7 type vlan protocol 802.1ad id 7": R.linkAdd({
    kind: "vlan",
    attrs: { name: "a0.7", parent: A0 },
    data: { id: 7, protocol: "802.1ad" },
  }),
  "ip link add gt0 type gretap local 10.0.0.1 remote 10.0.0.2 key 7": R.linkAdd({
    kind: "gretap",
    attrs: { name: "gt0" },
    data: { local: "10.0.0.1", remote: "10.0.0.2", key: 7 },
  }),
  "ip link set dev a0 up": R.linkSet({ index: A0, attrs: {}, up: true }),
  "ip link set dev a0 down": R.linkSet({ index: A0, attrs: {}, up: false }),
  "ip link set dev a0 mtu 1400": R.linkSet({ index: A0, attrs: { mtu: 1400 } }),
  "ip link set dev a0 master br0": R.linkSet({ index: A0, attrs: { master: BR0 } }),
  "ip link set dev a0 nomaster": R.linkSet({ index: A0, attrs: { master: 0 } }),
  "ip link set dev a0 address 02:00:00:00:00:01": R.linkSet({
    index: A0,
    attrs: { mac: "02:00:00:00:00:01" },
  }),
  "ip link set dev a0 name b0": R.linkSet({ index: A0, attrs: { name: "b0" } }),
  "ip link set dev a0 alias hello": R.linkSet({ index: A0, attrs: { alias: "hello" } }),
  "ip link set dev a0 txqueuelen 500": R.linkSet({ index: A0, attrs: { txqlen: 500 } }),
  "ip link set dev a0 group 7": R.linkSet({ index: A0, attrs: { group: 7 } }),
  "ip link set dev a0 promisc on": R.linkSet({ index: A0, attrs: {}, promisc: true }),
  "ip link property add dev a0 altname uplink0": R.linkAltName(A0, "uplink0", true),
  "ip link property del dev a0 altname uplink0": R.linkAltName(A0, "uplink0", false),
  "ip link del dev a0": R.linkDelete(A0),
  "ip link del group 7": R.linkDeleteGroup(7),
  "ip addr add 10.0.0.1/24 dev a0": R.addrAdd({
    family: C.AF_INET,
    prefix: 24,
    index: A0,
    local: "10.0.0.1",
  }),
  "ip addr add 10.0.0.1/24 broadcast 10.0.0.255 dev a0": R.addrAdd({
    family: C.AF_INET,
    prefix: 24,
    index: A0,
    local: "10.0.0.1",
    broadcast: "10.0.0.255",
  }),
  "ip addr add 10.0.0.1 peer 10.0.0.2/32 dev a0": R.addrAdd({
    family: C.AF_INET,
    prefix: 32,
    index: A0,
    local: "10.0.0.1",
    peer: "10.0.0.2",
  }),
  "ip addr add 10.0.0.1/24 dev a0 scope link": R.addrAdd({
    family: C.AF_INET,
    prefix: 24,
    index: A0,
    local: "10.0.0.1",
    scope: 253,
  }),
  "ip -6 addr add 2001:db8::1/64 dev a0 nodad": R.addrAdd({
    family: C.AF_INET6,
    prefix: 64,
    index: A0,
    local: "2001:db8::1",
    flags: C.IFA_F_NODAD,
  }),
  "ip addr replace 10.0.0.1/24 dev a0": R.addrAdd(
    { family: C.AF_INET, prefix: 24, index: A0, local: "10.0.0.1" },
    true,
  ),
  "ip addr del 10.0.0.1/24 dev a0": R.addrDelete({
    family: C.AF_INET,
    prefix: 24,
    index: A0,
    local: "10.0.0.1",
  }),
  "ip route add 10.1.0.0/16 via 10.0.0.2": R.routeAdd({
    family: C.AF_INET,
    dst: "10.1.0.0",
    dstPrefix: 16,
    gateway: "10.0.0.2",
  }),
  "ip route add 10.1.0.0/16 via 10.0.0.2 dev a0 metric 100": R.routeAdd({
    family: C.AF_INET,
    dst: "10.1.0.0",
    dstPrefix: 16,
    gateway: "10.0.0.2",
    index: A0,
    metric: 100,
  }),
  "ip route add 10.1.0.0/16 dev a0 scope link": R.routeAdd({
    family: C.AF_INET,
    dst: "10.1.0.0",
    dstPrefix: 16,
    index: A0,
  }),
  "ip route add default via 10.0.0.2 dev a0 onlink": R.routeAdd({
    family: C.AF_INET,
    dstPrefix: 0,
    gateway: "10.0.0.2",
    index: A0,
    onlink: true,
  }),
  "ip route add 10.1.0.0/16 via 10.0.0.2 table 100 proto static": R.routeAdd({
    family: C.AF_INET,
    dst: "10.1.0.0",
    dstPrefix: 16,
    gateway: "10.0.0.2",
    table: 100,
    protocol: C.RTPROT_STATIC,
  }),
  "ip route add 10.1.0.0/16 via 10.0.0.2 mtu 1400": R.routeAdd({
    family: C.AF_INET,
    dst: "10.1.0.0",
    dstPrefix: 16,
    gateway: "10.0.0.2",
    mtu: 1400,
  }),
  "ip route replace 10.1.0.0/16 via 10.0.0.3": R.routeAdd(
    { family: C.AF_INET, dst: "10.1.0.0", dstPrefix: 16, gateway: "10.0.0.3" },
    true,
  ),
  "ip route del 10.1.0.0/16": R.routeDelete({ family: C.AF_INET, dst: "10.1.0.0", dstPrefix: 16 }),
  "ip route add 10.2.0.0/16 nexthop via 10.0.0.2 weight 1 nexthop via 10.0.0.3 weight 2": R.routeAdd({
    family: C.AF_INET,
    dst: "10.2.0.0",
    dstPrefix: 16,
    multipath: [
      { gateway: "10.0.0.2", weight: 1 },
      { gateway: "10.0.0.3", weight: 2 },
    ],
  }),
  "ip -6 route add 2001:db8:1::/48 via 2001:db8::2 dev a0": R.routeAdd({
    family: C.AF_INET6,
    dst: "2001:db8:1::",
    dstPrefix: 48,
    gateway: "2001:db8::2",
    index: A0,
  }),
  "ip neigh add 10.0.0.7 lladdr 02:00:00:00:00:07 dev a0": R.neighAdd({
    family: C.AF_INET,
    index: A0,
    address: "10.0.0.7",
    mac: "02:00:00:00:00:07",
  }),
  "ip neigh replace 10.0.0.7 lladdr 02:00:00:00:00:08 dev a0 nud reachable": R.neighAdd(
    { family: C.AF_INET, index: A0, address: "10.0.0.7", mac: "02:00:00:00:00:08", state: C.NUD_REACHABLE },
    true,
  ),
  "ip neigh del 10.0.0.7 dev a0": R.neighDelete({ family: C.AF_INET, index: A0, address: "10.0.0.7" }),
  // geneve: this kernel lacks it; the bytes are what matter.
  "ip link add gnv0 type geneve id 5 remote 10.0.0.2 dstport 6081": R.linkAdd({
    kind: "geneve",
    attrs: { name: "gnv0" },
    data: { vni: 5, remote: "10.0.0.2", port: 6081 },
  }),
  "ip link add gnv1 type geneve id 7 remote 2001:db8::2 ttl 64 tos 16 dstport 7000": R.linkAdd({
    kind: "geneve",
    attrs: { name: "gnv1" },
    // iproute2 reads `tos 16` as hex (a DS field): 0x16.
    data: { vni: 7, remote: "2001:db8::2", ttl: 64, tos: 0x16, port: 7000 },
  }),
  "ip addr add 10.0.0.1/24 dev a0 valid_lft 100 preferred_lft 50": R.addrAdd({
    family: C.AF_INET,
    prefix: 24,
    index: A0,
    local: "10.0.0.1",
    validLifetime: 100,
    preferredLifetime: 50,
  }),
  "ip -6 addr add 2001:db8::5/64 dev a0 nodad valid_lft 200 preferred_lft 100": R.addrAdd({
    family: C.AF_INET6,
    prefix: 64,
    index: A0,
    local: "2001:db8::5",
    flags: C.IFA_F_NODAD,
    validLifetime: 200,
    preferredLifetime: 100,
  }),
  "ip addr add 10.0.0.1/24 brd + dev a0": R.addrAdd({
    family: C.AF_INET,
    prefix: 24,
    index: A0,
    local: "10.0.0.1",
    derivedBroadcast: broadcastOf("10.0.0.1", 24) as string,
  }),
  // /31: no broadcast (iproute2 derives none, and neither do we).
  "ip addr add 10.0.0.1/31 brd + dev a0": R.addrAdd({
    family: C.AF_INET,
    prefix: 31,
    index: A0,
    local: "10.0.0.1",
  }),
  // Route types: iproute2's default scope and table for each (global for blackhole & co).
  "ip route add blackhole 10.9.0.0/24": R.routeAdd({
    family: C.AF_INET,
    dst: "10.9.0.0",
    dstPrefix: 24,
    type: C.RTN_BLACKHOLE,
  }),
  "ip route add unreachable 10.9.1.0/24": R.routeAdd({
    family: C.AF_INET,
    dst: "10.9.1.0",
    dstPrefix: 24,
    type: C.RTN_UNREACHABLE,
  }),
  "ip route add prohibit 10.9.2.0/24": R.routeAdd({
    family: C.AF_INET,
    dst: "10.9.2.0",
    dstPrefix: 24,
    type: C.RTN_PROHIBIT,
  }),
  "ip route add throw 10.9.3.0/24": R.routeAdd({
    family: C.AF_INET,
    dst: "10.9.3.0",
    dstPrefix: 24,
    type: C.RTN_THROW,
  }),
  "ip route add local 10.9.4.1 dev a0": R.routeAdd({
    family: C.AF_INET,
    dst: "10.9.4.1",
    dstPrefix: 32,
    type: C.RTN_LOCAL,
    index: A0,
  }),
  "ip route add broadcast 10.9.5.255 dev a0": R.routeAdd({
    family: C.AF_INET,
    dst: "10.9.5.255",
    dstPrefix: 32,
    type: C.RTN_BROADCAST,
    index: A0,
  }),
  "ip route add anycast 10.9.6.0/24 dev a0": R.routeAdd({
    family: C.AF_INET,
    dst: "10.9.6.0",
    dstPrefix: 24,
    type: C.RTN_ANYCAST,
    index: A0,
  }),
  "ip route add multicast 239.1.1.0/24 dev a0": R.routeAdd({
    family: C.AF_INET,
    dst: "239.1.1.0",
    dstPrefix: 24,
    type: C.RTN_MULTICAST,
    index: A0,
  }),
  "ip -6 route add blackhole 2001:db8:9::/48": R.routeAdd({
    family: C.AF_INET6,
    dst: "2001:db8:9::",
    dstPrefix: 48,
    type: C.RTN_BLACKHOLE,
  }),
};

describe("request bytes equal iproute2's", () => {
  test("every recorded command has a builder in the table", () => {
    expect(fixtures.map((f) => f.command).sort()).toEqual(Object.keys(table).sort());
  });

  for (const f of fixtures) {
    test(f.command, () => {
      const ours = table[f.command];
      expect(ours).toBeDefined();
      if (!ours) return;
      // The request is iproute2's last message of our type (look-ups come first).
      const theirs = [...f.messages]
        .reverse()
        .find((hex) => Buffer.from(hex, "hex").readUInt16LE(4) === ours.type);
      expect(theirs, "iproute2 sent no message of this type").toBeDefined();
      const bytes = encodeMessage(
        { type: ours.type, flags: ours.flags | C.NLM_F_REQUEST | C.NLM_F_ACK, seq: 0, pid: 0 },
        ours.body,
      );
      expect(bytes.toString("hex")).toBe(theirs);
    });
  }
});

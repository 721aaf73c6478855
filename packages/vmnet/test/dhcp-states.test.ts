// Every exchange of RFC 2131 4.3 against the real server on a real link, driven by a hand-made
// client: the request states (SELECTING, INIT-REBOOT, RENEWING, REBINDING), NAK for a wrong or
// stale address, INFORM, RELEASE, DECLINE, requests for another server, unknown clients, relays,
// reply addressing (RFC 2131 4.1), option order and size limits, and the per-client rate limit.
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterEach, expect, test, vi } from "vitest";
import { decodeClasslessRoutes } from "../src/dhcp/classless-routes.js";
import { type DhcpEvent, type DhcpLease, DhcpServer } from "../src/dhcp/index.js";
import { MESSAGE_TYPE } from "../src/dhcp/packet.js";
import { podAndVm } from "./support/dhcp-peers.js";
import { ip4, OPTION, RawClient, u32 } from "./support/dhcp-raw-client.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const lease: DhcpLease = {
  clientMac: "0a:58:0a:05:00:07",
  address: "10.5.0.7",
  prefixLength: 16,
  gateway: "10.5.0.1",
  routes: [{ dst: "0.0.0.0/0" }],
  nameservers: ["10.5.0.2"],
  search: ["example.test"],
  leaseTimeS: 600,
};
const SERVER = ip4("169.254.254.2");
const ADDRESS = ip4("10.5.0.7");

async function setup(l: DhcpLease = lease) {
  const net = await podAndVm(l.clientMac);
  cleanups.push(() => net.remove());
  const events: DhcpEvent[] = [];
  const server = await DhcpServer.start({
    netns: net.pod.name,
    bindings: [{ listenOn: net.podIf, lease: l }],
    onEvent: (e) => events.push(e),
  });
  cleanups.push(() => server.stop());
  const client = await RawClient.open(net.vm, net.vmIf, l.clientMac);
  cleanups.push(() => client.close());
  const podMac = (await net.pod.ipJson(["link", "show", "dev", net.podIf]))[0].address as string;
  return { net, server, client, events, podMac };
}

const type = (r: { message: { messageType: number } } | undefined) => r?.message.messageType;

describePrivileged("DhcpServer request states", () => {
  test("SELECTING: OFFER unicast to the client (or broadcast on request), ACK, NAK for another address, silence for another server", async () => {
    const { client, server, events, podMac } = await setup();
    const offer = await client.ask({ type: MESSAGE_TYPE.DISCOVER });
    expect(type(offer)).toBe(MESSAGE_TYPE.OFFER);
    expect(offer?.message.yiaddr).toBe(ADDRESS);
    // RFC 2131 4.1: no broadcast bit, no ciaddr: unicast to yiaddr at chaddr, from the server id.
    expect(offer).toMatchObject({ dstMac: lease.clientMac, dstIp: ADDRESS, srcIp: SERVER });
    const offerB = await client.ask({ type: MESSAGE_TYPE.DISCOVER, flags: 0x8000 });
    expect(offerB).toMatchObject({ dstMac: "ff:ff:ff:ff:ff:ff", dstIp: 0xffffffff });
    expect(offerB?.message.flags).toBe(0x8000);

    const ack = await client.ask({
      type: MESSAGE_TYPE.REQUEST,
      options: [
        [OPTION.SERVER_ID, u32(SERVER)],
        [OPTION.REQUESTED_ADDRESS, u32(ADDRESS)],
      ],
    });
    expect(type(ack)).toBe(MESSAGE_TYPE.ACK);
    expect(ack?.message.yiaddr).toBe(ADDRESS);
    expect(ack?.message.options.get(OPTION.LEASE_TIME)?.readUInt32BE(0)).toBe(600);
    expect(ack?.message.options.get(OPTION.RENEWAL_TIME)?.readUInt32BE(0)).toBe(300);
    expect(ack?.message.options.get(OPTION.REBINDING_TIME)?.readUInt32BE(0)).toBe(525);

    const nak = await client.ask({
      type: MESSAGE_TYPE.REQUEST,
      options: [
        [OPTION.SERVER_ID, u32(SERVER)],
        [OPTION.REQUESTED_ADDRESS, u32(ip4("10.5.0.99"))],
      ],
    });
    expect(type(nak)).toBe(MESSAGE_TYPE.NAK);
    // A NAK is always broadcast and carries no address or lease.
    expect(nak).toMatchObject({ dstMac: "ff:ff:ff:ff:ff:ff", dstIp: 0xffffffff });
    expect(nak?.message.yiaddr).toBe(0);
    expect(nak?.message.options.has(OPTION.LEASE_TIME)).toBe(false);
    expect(nak?.message.options.get(OPTION.MESSAGE)?.toString()).toMatch(/10\.5\.0\.99/);

    const other = await client.ask(
      {
        type: MESSAGE_TYPE.REQUEST,
        options: [
          [OPTION.SERVER_ID, u32(ip4("10.5.0.250"))],
          [OPTION.REQUESTED_ADDRESS, u32(ADDRESS)],
        ],
      },
      500,
    );
    expect(other).toBeUndefined();
    await vi.waitFor(() => expect(events.filter((e) => e.type === "nak")).toHaveLength(1));
    const stats = server.stats();
    expect(stats.total.dropped).toEqual({ "other-server": 1 });
    expect(stats.bindings[0]).toMatchObject({ sent: { offer: 2, ack: 1, nak: 1 }, bound: false });
    expect(events.filter((e) => e.type === "nak")).toEqual([
      expect.objectContaining({ state: "selecting", requested: "10.5.0.99", clientMac: lease.clientMac }),
    ]);
    expect(podMac).toMatch(/^[0-9a-f:]{17}$/);
  });

  test("INIT-REBOOT: a guest rebooting with a stale address gets a NAK, with the right one an ACK", async () => {
    const { client, server, events } = await setup();
    const nak = await client.ask({
      type: MESSAGE_TYPE.REQUEST,
      options: [[OPTION.REQUESTED_ADDRESS, u32(ip4("10.4.0.7"))]],
    });
    expect(type(nak)).toBe(MESSAGE_TYPE.NAK);
    const ack = await client.ask({
      type: MESSAGE_TYPE.REQUEST,
      options: [[OPTION.REQUESTED_ADDRESS, u32(ADDRESS)]],
    });
    expect(type(ack)).toBe(MESSAGE_TYPE.ACK);
    // Events come once the kernel took the reply, which may be after the guest saw it.
    await vi.waitFor(() =>
      expect(events.map((e) => [e.type, "state" in e ? e.state : undefined])).toEqual([
        ["nak", "init-reboot"],
        ["ack", "init-reboot"],
      ]),
    );
    await vi.waitFor(() => expect(server.stats().bindings[0]?.bound).toBe(true));
  });

  test("RENEWING (unicast to the server id) and REBINDING (broadcast): ACK unicast to ciaddr; NAK for a wrong ciaddr", async () => {
    const { client, events, podMac } = await setup();
    const renew = await client.ask({
      type: MESSAGE_TYPE.REQUEST,
      ciaddr: ADDRESS,
      dstIp: SERVER,
      dstMac: Buffer.from(podMac.replace(/:/g, ""), "hex"),
    });
    expect(type(renew)).toBe(MESSAGE_TYPE.ACK);
    expect(renew).toMatchObject({ dstMac: lease.clientMac, dstIp: ADDRESS });
    expect(renew?.message.ciaddr).toBe(ADDRESS);
    const rebind = await client.ask({ type: MESSAGE_TYPE.REQUEST, ciaddr: ADDRESS });
    expect(type(rebind)).toBe(MESSAGE_TYPE.ACK);
    const wrong = await client.ask({ type: MESSAGE_TYPE.REQUEST, ciaddr: ip4("10.5.0.8") });
    expect(type(wrong)).toBe(MESSAGE_TYPE.NAK);
    await vi.waitFor(() =>
      expect(events.map((e) => [e.type, "state" in e ? e.state : undefined])).toEqual([
        ["ack", "renewing"],
        ["ack", "rebinding"],
        ["nak", "rebinding"],
      ]),
    );
  });

  test("INFORM: configuration without an address or lease times, unicast to ciaddr", async () => {
    const { client, events } = await setup();
    const ack = await client.ask({ type: MESSAGE_TYPE.INFORM, ciaddr: ADDRESS });
    expect(type(ack)).toBe(MESSAGE_TYPE.ACK);
    expect(ack?.message.yiaddr).toBe(0);
    expect(ack).toMatchObject({ dstIp: ADDRESS, dstMac: lease.clientMac });
    for (const code of [OPTION.LEASE_TIME, OPTION.RENEWAL_TIME, OPTION.REBINDING_TIME]) {
      expect(ack?.message.options.has(code)).toBe(false);
    }
    expect(ack?.message.options.get(OPTION.DNS_SERVERS)).toEqual(u32(ip4("10.5.0.2")));
    await vi.waitFor(() =>
      expect(events).toEqual([expect.objectContaining({ type: "ack", state: "inform" })]),
    );
  });

  test("RELEASE and DECLINE are noted (no reply); a RELEASE for another address is dropped", async () => {
    const { client, server, events } = await setup();
    await client.ask({ type: MESSAGE_TYPE.REQUEST, options: [[OPTION.REQUESTED_ADDRESS, u32(ADDRESS)]] });
    await vi.waitFor(() => expect(server.stats().bindings[0]?.bound).toBe(true));
    expect(
      await client.ask({ type: MESSAGE_TYPE.RELEASE, ciaddr: ADDRESS, dstIp: SERVER }, 400),
    ).toBeUndefined();
    expect(await client.ask({ type: MESSAGE_TYPE.RELEASE, ciaddr: ip4("10.5.0.9") }, 300)).toBeUndefined();
    expect(
      await client.ask(
        {
          type: MESSAGE_TYPE.DECLINE,
          options: [
            [OPTION.REQUESTED_ADDRESS, u32(ADDRESS)],
            [OPTION.SERVER_ID, u32(SERVER)],
          ],
        },
        400,
      ),
    ).toBeUndefined();
    const stats = server.stats();
    expect(stats.bindings[0]).toMatchObject({
      bound: false,
      declines: 1,
      received: { release: 2, decline: 1, request: 1 },
      dropped: { "not-our-address": 1 },
    });
    expect(events.map((e) => e.type)).toEqual(["ack", "release", "drop", "decline"]);
  });

  test("unknown clients, relayed requests and server-to-client message types are dropped and counted", async () => {
    const { client, server } = await setup();
    const stranger = Buffer.from("02aabbccddee", "hex");
    expect(await client.ask({ type: MESSAGE_TYPE.DISCOVER, chaddr: stranger }, 400)).toBeUndefined();
    expect(await client.ask({ type: MESSAGE_TYPE.DISCOVER, giaddr: ip4("10.5.0.1") }, 400)).toBeUndefined();
    expect(await client.ask({ type: MESSAGE_TYPE.OFFER }, 400)).toBeUndefined();
    expect(await client.ask({ type: 42 }, 400)).toBeUndefined();
    expect(server.stats().total.dropped).toEqual({ "unknown-client": 1, relayed: 1, "unexpected-type": 2 });
    // And the server still answers.
    expect(type(await client.ask({ type: MESSAGE_TYPE.DISCOVER }))).toBe(MESSAGE_TYPE.OFFER);
  });

  test("options in the client's requested order; what does not fit 576 bytes is left out, 57 allows more", async () => {
    const manyRoutes: DhcpLease = {
      ...lease,
      routes: [
        { dst: "0.0.0.0/0" },
        ...Array.from({ length: 80 }, (_, i) => ({
          dst: `172.${16 + (i >> 4)}.${(i & 15) * 16}.0/20`,
          gw: "10.5.0.254",
        })),
      ],
    };
    const { client } = await setup(manyRoutes);
    const wanted = Buffer.from([
      OPTION.DNS_SERVERS,
      OPTION.CLASSLESS_ROUTES,
      OPTION.SUBNET_MASK,
      OPTION.ROUTERS,
    ]);
    const small = await client.ask({
      type: MESSAGE_TYPE.DISCOVER,
      options: [[OPTION.PARAMETER_REQUEST_LIST, wanted]],
    });
    expect(type(small)).toBe(MESSAGE_TYPE.OFFER);
    // 80 routes of 8 bytes do not fit a 576-byte datagram: 121 is left out, the rest is there.
    expect(small?.message.options.has(OPTION.CLASSLESS_ROUTES)).toBe(false);
    expect(small?.message.options.get(OPTION.ROUTERS)).toEqual(u32(ip4("10.5.0.1")));
    const big = await client.ask({
      type: MESSAGE_TYPE.DISCOVER,
      options: [
        [OPTION.PARAMETER_REQUEST_LIST, wanted],
        [OPTION.MAX_MESSAGE_SIZE, Buffer.from([0x05, 0xdc])],
      ],
    });
    const routes = decodeClasslessRoutes(
      big?.message.options.get(OPTION.CLASSLESS_ROUTES) ?? Buffer.alloc(0),
    );
    expect(routes).toHaveLength(81);
    expect(routes?.at(-1)).toEqual({ destination: 0, prefixLength: 0, router: ip4("10.5.0.1") });
    // Wire order: 53, 54, lease times, then 6, 121, 1, 3 as asked, then the rest.
    const raw = await client.ask({
      type: MESSAGE_TYPE.DISCOVER,
      options: [
        [OPTION.PARAMETER_REQUEST_LIST, wanted],
        [OPTION.MAX_MESSAGE_SIZE, Buffer.from([0x05, 0xdc])],
      ],
    });
    expect([...(raw?.message.options.keys() ?? [])].slice(0, 9)).toEqual([53, 54, 51, 58, 59, 6, 121, 1, 3]);
  });

  test("a flooding guest is rate limited (burst of 20, then 10 per second) and counted", async () => {
    const { client, server } = await setup();
    for (let i = 0; i < 60; i++) void client.ask({ type: MESSAGE_TYPE.DISCOVER, xid: 5000 + i }, 1);
    await new Promise((r) => setTimeout(r, 1000));
    const stats = server.stats().bindings[0];
    expect(stats?.received.discover ?? 0).toBeLessThanOrEqual(35);
    expect(stats?.sent.offer ?? 0).toBe(stats?.received.discover);
    expect(stats?.dropped["rate-limited"] ?? 0).toBe(60 - (stats?.received.discover ?? 0));
    expect(stats?.dropped["rate-limited"] ?? 0).toBeGreaterThanOrEqual(25);
  });
});

// Dhcp6Server driven by a hand-built client on the guest's side of a veth: every client message
// of RFC 8415 (Solicit/Advertise, Request, Renew, Rebind, Release, Decline, Confirm,
// Information-request, rapid commit), the checks on server identifiers, IA handling beyond the one
// address, and a DUID that survives a restart.
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterEach, expect, test } from "vitest";
import { macBytes } from "../src/dhcp/mac.js";
import {
  type Dhcp6Event,
  type Dhcp6Lease,
  type Dhcp6Message,
  Dhcp6Server,
  decodeIaNa,
  decodeOptions,
  duidLl,
  formatIpv6,
  linkLocalFromMac,
  DHCP6_MESSAGE as MSG,
  DHCP6_OPTION as OPT,
  parseIpv6,
  DHCP6_STATUS as STATUS,
  stableDuid,
} from "../src/dhcp6/index.js";
import { iaAddrOption, iaNaOption, option, u32 } from "../src/dhcp6/message.js";
import { podAndVm } from "./support/dhcp-peers.js";
import { RawClient6 } from "./support/ipv6-raw-client.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const lease: Dhcp6Lease = {
  clientMac: "0a:58:0a:07:00:77",
  address: "2001:db8:7::77",
  prefixLength: 64,
  nameservers: ["2001:db8:53::1", "2001:db8:53::2"],
  search: ["svc.cluster.local", "cluster.local"],
  preferredLifetimeS: 1000,
  validLifetimeS: 2000,
};
const ADDRESS = parseIpv6(lease.address) as Buffer;

async function setup(duid?: string) {
  const net = await podAndVm(lease.clientMac);
  cleanups.push(() => net.remove());
  const events: Dhcp6Event[] = [];
  const start = () =>
    Dhcp6Server.start({
      netns: net.pod.name,
      bindings: [{ listenOn: net.podIf, lease }],
      ...(duid !== undefined && { duid }),
      onEvent: (e) => events.push(e),
    });
  const server = await start();
  cleanups.push(() => server.stop());
  const client = await RawClient6.open(net.vm, net.vmIf, lease.clientMac);
  cleanups.push(() => client.close());
  const podMac = String((await net.pod.exec("cat", [`/sys/class/net/${net.podIf}/address`])).stdout).trim();
  return { net, server, client, events, podMac, start };
}

const get = (m: Dhcp6Message, code: number) => m.options.filter((o) => o.code === code).map((o) => o.data);
function status(data: Buffer | undefined): number | undefined {
  return data === undefined ? undefined : data.readUInt16BE(0);
}
function iaOf(m: Dhcp6Message) {
  return get(m, OPT.iaNa).map((d) => {
    const ia = decodeIaNa(d);
    const inner = decodeOptions(d.subarray(12));
    const addrs = inner
      .filter((o) => o.code === OPT.iaAddr)
      .map((o) => ({
        address: formatIpv6(o.data.subarray(0, 16)),
        preferred: o.data.readUInt32BE(16),
        valid: o.data.readUInt32BE(20),
      }));
    return {
      iaid: ia.iaid,
      t1: ia.t1,
      t2: ia.t2,
      addrs,
      status: status(inner.find((o) => o.code === OPT.statusCode)?.data),
    };
  });
}
const ia = (iaid: number, addresses: Buffer[] = []) =>
  iaNaOption(
    iaid,
    0,
    0,
    addresses.map((a) => iaAddrOption(a, 0, 0)),
  );
const elapsed = option(OPT.elapsedTime, Buffer.alloc(2));

describePrivileged("Dhcp6Server message by message", () => {
  test("Solicit -> Advertise with the address, DNS and preference; Request -> Reply binds", async () => {
    const { server, client, events, podMac } = await setup();
    const adv = await client.ask(MSG.solicit, [elapsed, ia(7)]);
    expect(adv?.message?.type).toBe(MSG.advertise);
    const m = adv?.message as Dhcp6Message;
    const serverId = get(m, OPT.serverId)[0] as Buffer;
    expect(serverId.toString("hex")).toBe(duidLl(macBytes(podMac)));
    expect(server.duid).toBe(serverId.toString("hex"));
    expect(get(m, OPT.clientId)[0]).toEqual(client.clientId);
    expect(iaOf(m)).toEqual([
      {
        iaid: 7,
        t1: 500,
        t2: 800,
        addrs: [{ address: lease.address, preferred: 1000, valid: 2000 }],
        status: undefined,
      },
    ]);
    expect(get(m, OPT.dnsServers)[0]).toEqual(
      Buffer.concat(lease.nameservers.map((n) => parseIpv6(n) as Buffer)),
    );
    expect(get(m, OPT.domainList)[0]?.toString("latin1")).toBe(
      "\x03svc\x07cluster\x05local\x00\x07cluster\x05local\x00",
    );
    expect(get(m, OPT.preference)[0]).toEqual(Buffer.from([255]));
    // Framing: to the client's MAC and link-local, from the EUI-64 link-local of the device.
    expect(adv?.dstMac).toEqual(client.mac);
    expect(adv?.dstIp).toEqual(client.linkLocal);
    expect(adv?.srcIp).toEqual(linkLocalFromMac(macBytes(podMac)));
    expect(server.stats().bindings[0]?.bound).toBe(false);

    const reply = await client.ask(MSG.request, [option(OPT.serverId, serverId), elapsed, ia(7, [ADDRESS])]);
    expect(reply?.message?.type).toBe(MSG.reply);
    expect(iaOf(reply?.message as Dhcp6Message)[0]?.addrs).toEqual([
      { address: lease.address, preferred: 1000, valid: 2000 },
    ]);
    await expect.poll(() => server.stats().bindings[0]?.bound).toBe(true);
    expect(server.stats().total.received).toMatchObject({ solicit: 1, request: 1 });
    expect(server.stats().total.sent).toEqual({ advertise: 1, reply: 1 });
    expect(events.filter((e) => e.type === "reply")).toEqual([
      {
        type: "reply",
        listenOn: expect.any(String),
        clientMac: lease.clientMac,
        to: "request",
        address: lease.address,
      },
    ]);
  });

  test("rapid commit: Solicit with option 14 -> Reply (binding) with option 14", async () => {
    const { server, client } = await setup();
    const r = await client.ask(MSG.solicit, [elapsed, option(OPT.rapidCommit), ia(1)]);
    expect(r?.message?.type).toBe(MSG.reply);
    expect(get(r?.message as Dhcp6Message, OPT.rapidCommit)).toEqual([Buffer.alloc(0)]);
    expect(iaOf(r?.message as Dhcp6Message)[0]?.addrs[0]?.address).toBe(lease.address);
    await expect.poll(() => server.stats().bindings[0]?.bound).toBe(true);
  });

  test("Renew and Rebind extend the address and expire addresses that are not the lease's", async () => {
    const { server, client } = await setup();
    const duid = Buffer.from(server.duid, "hex");
    const stale = parseIpv6("2001:db8:7::dead") as Buffer;
    const renew = await client.ask(MSG.renew, [option(OPT.serverId, duid), ia(3, [ADDRESS, stale])]);
    expect(renew?.message?.type).toBe(MSG.reply);
    expect(iaOf(renew?.message as Dhcp6Message)[0]?.addrs).toEqual([
      { address: lease.address, preferred: 1000, valid: 2000 },
      { address: "2001:db8:7::dead", preferred: 0, valid: 0 },
    ]);
    const rebind = await client.ask(MSG.rebind, [ia(3, [ADDRESS])]);
    expect(rebind?.message?.type).toBe(MSG.reply);
    expect(iaOf(rebind?.message as Dhcp6Message)[0]?.addrs).toEqual([
      { address: lease.address, preferred: 1000, valid: 2000 },
    ]);
    // A Renew must name us; a Rebind must not name anyone.
    expect(await client.ask(MSG.renew, [ia(3, [ADDRESS])], {}, 400)).toBeUndefined();
    expect(
      await client.ask(
        MSG.renew,
        [option(OPT.serverId, Buffer.from("0003000102aabbccddee", "hex")), ia(3)],
        {},
        400,
      ),
    ).toBeUndefined();
    expect(await client.ask(MSG.rebind, [option(OPT.serverId, duid), ia(3)], {}, 400)).toBeUndefined();
    expect(server.stats().total.received).toMatchObject({ renew: 3, rebind: 2 });
    expect(server.stats().total.dropped).toEqual({
      "missing-server-id": 1,
      "other-server": 1,
      "unexpected-server-id": 1,
    });
  });

  test("Release and Decline are acknowledged with Success and unbind", async () => {
    const { server, client, events } = await setup();
    const duid = Buffer.from(server.duid, "hex");
    await client.ask(MSG.request, [option(OPT.serverId, duid), ia(1, [ADDRESS])]);
    await expect.poll(() => server.stats().bindings[0]?.bound).toBe(true);
    const rel = await client.ask(MSG.release, [option(OPT.serverId, duid), ia(1, [ADDRESS])]);
    expect(rel?.message?.type).toBe(MSG.reply);
    expect(status(get(rel?.message as Dhcp6Message, OPT.statusCode)[0])).toBe(STATUS.success);
    expect(server.stats().bindings[0]?.bound).toBe(false);
    const dec = await client.ask(MSG.decline, [option(OPT.serverId, duid), ia(1, [ADDRESS])]);
    expect(status(get(dec?.message as Dhcp6Message, OPT.statusCode)[0])).toBe(STATUS.success);
    expect(server.stats().bindings[0]?.declines).toBe(1);
    expect(events.filter((e) => e.type === "release" || e.type === "decline")).toEqual([
      {
        type: "release",
        listenOn: expect.any(String),
        clientMac: lease.clientMac,
        addresses: [lease.address],
      },
      {
        type: "decline",
        listenOn: expect.any(String),
        clientMac: lease.clientMac,
        addresses: [lease.address],
      },
    ]);
  });

  test("Confirm: Success for the lease's prefix, NotOnLink elsewhere, silence without addresses", async () => {
    const { client, server } = await setup();
    const ok = await client.ask(MSG.confirm, [ia(1, [parseIpv6("2001:db8:7::1234") as Buffer])]);
    expect(status(get(ok?.message as Dhcp6Message, OPT.statusCode)[0])).toBe(STATUS.success);
    const moved = await client.ask(MSG.confirm, [ia(1, [parseIpv6("2001:db8:8::77") as Buffer])]);
    expect(status(get(moved?.message as Dhcp6Message, OPT.statusCode)[0])).toBe(STATUS.notOnLink);
    expect(await client.ask(MSG.confirm, [ia(1)], {}, 400)).toBeUndefined();
    expect(server.stats().total.dropped).toEqual({ "nothing-to-confirm": 1 });
  });

  test("Information-request (no client id needed) gets DNS and search, no address", async () => {
    const { client } = await setup();
    const r = await client.ask(MSG.informationRequest, [option(OPT.oro, Buffer.from([0, 23, 0, 24]))], {
      clientId: null,
    });
    expect(r?.message?.type).toBe(MSG.reply);
    const m = r?.message as Dhcp6Message;
    expect(get(m, OPT.iaNa)).toEqual([]);
    expect(get(m, OPT.dnsServers)).toHaveLength(1);
    expect(get(m, OPT.domainList)).toHaveLength(1);
    expect(get(m, OPT.clientId)).toEqual([]);
  });

  test("one address per guest: a second IA_NA gets NoAddrsAvail, IA_PD NoPrefixAvail", async () => {
    const { client } = await setup();
    const pd = option(OPT.iaPd, u32(9), u32(0), u32(0));
    const r = await client.ask(MSG.solicit, [ia(1), ia(2), pd]);
    const m = r?.message as Dhcp6Message;
    expect(iaOf(m).map((x) => [x.iaid, x.addrs.length, x.status])).toEqual([
      [1, 1, undefined],
      [2, 0, STATUS.noAddrsAvail],
    ]);
    const pdReply = get(m, OPT.iaPd)[0] as Buffer;
    expect(pdReply.readUInt32BE(0)).toBe(9);
    expect(status(decodeOptions(pdReply.subarray(12)).find((o) => o.code === OPT.statusCode)?.data)).toBe(
      STATUS.noPrefixAvail,
    );
  });

  test("strangers and non-client messages get nothing, and are counted", async () => {
    const { client, server } = await setup();
    const stranger = Buffer.from("0a5800000099", "hex");
    expect(await client.ask(MSG.solicit, [ia(1)], { srcMac: stranger }, 400)).toBeUndefined();
    expect(await client.ask(MSG.solicit, [ia(1)], { clientId: null }, 400)).toBeUndefined();
    expect(await client.ask(MSG.advertise, [ia(1)], {}, 400)).toBeUndefined();
    expect(await client.ask(MSG.relayForward, [], {}, 400)).toBeUndefined();
    expect(
      await client.ask(MSG.solicit, [ia(1)], { dstIp: parseIpv6("fe80::1") as Buffer }, 400),
    ).toBeUndefined();
    expect(server.stats().total.dropped).toEqual({
      "unknown-client": 1,
      "no-client-id": 1,
      "not-client-message": 1,
      relayed: 1,
      "not-multicast": 1,
    });
    expect(server.stats().total.sent).toEqual({ advertise: 0, reply: 0 });
  });

  test("a DUID from stableDuid(seed) survives a restart: a Renew to the old server is answered", async () => {
    const duid = stableDuid("netns-id-1234");
    expect(stableDuid("netns-id-1234")).toBe(duid);
    expect(stableDuid("netns-id-1235")).not.toBe(duid);
    expect(duid).toMatch(/^00030001[0-9a-f]{12}$/);
    expect(Number.parseInt(duid.slice(8, 10), 16) & 0x03).toBe(0x02);
    const { server, client, start } = await setup(duid);
    expect(server.duid).toBe(duid);
    await server.stop();
    const again = await start();
    cleanups.push(() => again.stop());
    const renew = await client.ask(MSG.renew, [
      option(OPT.serverId, Buffer.from(duid, "hex")),
      ia(1, [ADDRESS]),
    ]);
    expect(renew?.message?.type).toBe(MSG.reply);
    expect(again.duid).toBe(duid);
  });
});

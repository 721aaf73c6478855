// IP snooping: learn which addresses sit behind which tap from the frames the bridge floods to
// its own local port (ARP, neighbour discovery incl. DAD, DHCP requests are broadcast or
// multicast, so they reach it on every VLAN). A live capture in the capture layer (no tcpdump)
// decodes them; what is learned is written to the tap's OVS row (external_ids), in batches, so
// every process sees it. Link-local IPv6 addresses are ignored.
import { type DecodedFrame, packets } from "@vmnet/capture";
import type { BridgesContext } from "./context.js";
import { IPV4_KEY, IPV6_KEY, MAC_KEY, OWNER_KEY } from "./keys.js";

export interface Sighting {
  mac: string;
  address: string;
  family: 4 | 6;
}

/** What one frame says about who has which address (pure). */
export function sightingsOf(frame: DecodedFrame): Sighting[] {
  const out: Sighting[] = [];
  const arp = frame.arp;
  if (arp && arp.senderIp !== "0.0.0.0") out.push({ mac: arp.senderMac, address: arp.senderIp, family: 4 });
  const nd = frame.icmpv6?.nd;
  const src = frame.ethernet?.src;
  if (nd?.target && src && frame.icmpv6) {
    const type = frame.icmpv6.type;
    // 135 NS (DAD from :: names the address being claimed), 136 NA (the target is the sender's).
    const claims = type === 136 || (type === 135 && frame.ipv6?.src === "::");
    if (claims && !/^fe[89ab]/i.test(nd.target)) out.push({ mac: src, address: nd.target, family: 6 });
  }
  if (frame.ipv6 && src && !/^fe[89ab]/i.test(frame.ipv6.src) && frame.ipv6.src !== "::" && frame.icmpv6?.nd)
    out.push({ mac: src, address: frame.ipv6.src, family: 6 });
  const dhcp = frame.dhcpv4;
  if (dhcp && dhcp.op === 1 && dhcp.messageType === "REQUEST" && dhcp.requestedIp)
    out.push({ mac: dhcp.chaddr, address: dhcp.requestedIp, family: 4 });
  if (dhcp && dhcp.op === 2 && dhcp.messageType === "ACK" && dhcp.yiaddr !== "0.0.0.0")
    out.push({ mac: dhcp.chaddr, address: dhcp.yiaddr, family: 4 });
  return dedupe(out);
}

function dedupe(list: Sighting[]): Sighting[] {
  const seen = new Set<string>();
  return list.filter((s) => {
    const k = `${s.mac}|${s.address}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export const SNOOP_FILTER = "arp or icmp6 or (udp and (port 67 or port 68))";

export class Snooper {
  private pending: Sighting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly live: ReturnType<typeof packets>;
  readonly finished: Promise<void>;
  /** Errors from writing to OVSDB (snooping goes on). */
  readonly errors: Error[] = [];

  private constructor(
    private readonly ctx: BridgesContext,
    readonly bridge: string,
    private readonly flushMs: number,
  ) {
    this.live = packets({ iface: bridge, filter: SNOOP_FILTER, ...ctx.netnsOption });
    this.finished = this.loop();
  }

  static async start(ctx: BridgesContext, bridge: string, flushMs = 200): Promise<Snooper> {
    // The bridge's own device must be up to receive what the switch floods to it.
    await ctx.rtnl.links.set(bridge, { up: true });
    const s = new Snooper(ctx, bridge, flushMs);
    await s.live.linkType;
    return s;
  }

  private async loop(): Promise<void> {
    for await (const p of this.live) {
      if (!p.frame) continue;
      const found = sightingsOf(p.frame);
      if (found.length === 0) continue;
      this.pending.push(...found);
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.flushing = this.flushing.then(() => this.flush());
      }, this.flushMs);
    }
  }

  /** Writes what was learned to the taps' rows: one transaction for everything pending. */
  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      const snap = await this.ctx.vswitch.snapshot();
      const ops: unknown[] = [];
      const byMac = new Map<string, Sighting[]>();
      for (const s of batch) byMac.set(s.mac, [...(byMac.get(s.mac) ?? []), s]);
      for (const port of snap.ports) {
        const ids = port.externalIds;
        if (ids[OWNER_KEY] !== this.ctx.owner || port.bridge !== this.bridge) continue;
        const mac = ids[MAC_KEY];
        const seen = mac ? byMac.get(mac) : undefined;
        if (!seen) continue;
        const v4 = new Set((ids[IPV4_KEY] ?? "").split(",").filter(Boolean));
        const v6 = new Set((ids[IPV6_KEY] ?? "").split(",").filter(Boolean));
        const before = v4.size + v6.size;
        for (const s of seen) (s.family === 4 ? v4 : v6).add(s.address);
        if (v4.size + v6.size === before) continue;
        const values: [string, string][] = [];
        if (v4.size) values.push([IPV4_KEY, [...v4].join(",")]);
        if (v6.size) values.push([IPV6_KEY, [...v6].join(",")]);
        ops.push({
          op: "mutate",
          table: "Port",
          where: [["_uuid", "==", ["uuid", port.uuid]]],
          mutations: [
            ["external_ids", "delete", ["set", values.map(([k]) => k)]],
            ["external_ids", "insert", ["map", values]],
          ],
        });
      }
      if (ops.length) await this.ctx.client.transact(ops as Parameters<typeof this.ctx.client.transact>[0]);
    } catch (e) {
      this.errors.push(e as Error);
    }
  }

  async stop(): Promise<void> {
    await this.live.stop();
    await this.finished.catch(() => {});
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush();
  }
}

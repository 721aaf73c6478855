// RouterAdvertiser: tells guests how to route, as RFC 4861 routers do, from devices of one netns
// with no address of its own: unsolicited Router Advertisements (at start, then at random
// intervals), answers to Router Solicitations, and -- so that a router link-local address nobody
// owns can lead to the CNI's real gateway -- Neighbor Advertisements for that address carrying
// the gateway's MAC. One AF_PACKET socket per device with a kernel filter for ICMPv6 RS and NS.
import { type NativeDatagramSocket, type NetnsRef, netnsPath, Rtnl } from "@vmnet/netlink-native";
import { formatMac, macBytes } from "../dhcp/mac.js";
import { OrderedSends } from "../dhcp/ordered-sends.js";
import { checkInput } from "../dhcp/schema.js";
import { buildIpv6Frame, IPPROTO_ICMPV6 } from "../dhcp6/frame6.js";
import {
  ALL_NODES,
  formatIpv6,
  isUnspecified,
  linkLocalFromMac,
  multicastMac,
  parseIpv6,
} from "../dhcp6/ipv6.js";
import { ipv6Destination, openIpv6PacketSocket } from "../dhcp6/packet-socket6.js";
import { encodeFilter, icmp6Filter } from "../dhcp6/socket-filter6.js";
import { VmnetInputError } from "../errors.js";
import { type AdvertContent, encodeNeighborAdvert, encodeRouterAdvert, ICMP6 } from "./advert.js";
import { receiveNd } from "./receive.js";
import { advertiserOptionsSchema } from "./schema.js";
import type {
  RaCounters,
  RaDropReason,
  RaEvent,
  RaStats,
  RouterAdvertBinding,
  RouterAdvertConfig,
  RouterAdvertiserOptions,
} from "./types.js";

/** RFC 4861 10: the first few unsolicited adverts come faster. */
const MAX_INITIAL_RTR_ADVERTISEMENTS = 3;
const MAX_INITIAL_RTR_ADVERT_INTERVAL_S = 16;
const SOLICITED_BURST = 10;
const SOLICITED_PER_SECOND = 2;
const NA_BURST = 20;
const NA_PER_SECOND = 10;

interface Bucket {
  tokens: number;
  at: number;
  burst: number;
  rate: number;
}

interface Advertising {
  listenOn: string;
  ifindex: number;
  mac: Buffer;
  routerMac: Buffer;
  routerAddress: Buffer;
  answerNs: boolean;
  advert: Buffer;
  minIntervalS: number;
  maxIntervalS: number;
  socket?: NativeDatagramSocket;
  timer?: NodeJS.Timeout;
  sentUnsolicited: number;
  counters: RaCounters;
  lastAdvertAt?: Date;
  rs: Bucket;
  na: Bucket;
}

function emptyCounters(): RaCounters {
  return {
    received: { routerSolicitation: 0, neighborSolicitation: 0 },
    sent: { solicitedAdvert: 0, unsolicitedAdvert: 0, neighborAdvert: 0 },
    notOurTarget: 0,
    dropped: {},
    droppedTotal: 0,
    sendErrors: 0,
  };
}

function copy(c: RaCounters): RaCounters {
  return { ...c, received: { ...c.received }, sent: { ...c.sent }, dropped: { ...c.dropped } };
}

/** The advert's content with every default applied. */
export function resolveAdvert(
  config: RouterAdvertConfig & { routerMac: string },
): AdvertContent & { minIntervalS: number; maxIntervalS: number } {
  const maxIntervalS = config.maxIntervalS ?? 600;
  const minIntervalS = config.minIntervalS ?? Math.max(3, maxIntervalS / 3);
  return {
    routerMac: config.routerMac,
    managed: config.managed ?? true,
    other: config.other ?? true,
    hopLimit: config.hopLimit ?? 64,
    defaultRouterLifetimeS: config.defaultRouterLifetimeS ?? 1800,
    reachableTimeMs: config.reachableTimeMs ?? 0,
    retransTimerMs: config.retransTimerMs ?? 0,
    prefixes: (config.prefixes ?? []).map((p) => ({
      prefix: p.prefix,
      onLink: p.onLink ?? true,
      autonomous: p.autonomous ?? false,
      validLifetimeS: p.validLifetimeS ?? 86_400,
      preferredLifetimeS: p.preferredLifetimeS ?? 14_400,
    })),
    routes: (config.routes ?? []).map((r) => ({
      prefix: r.prefix,
      preference: r.preference ?? "medium",
      lifetimeS: r.lifetimeS ?? 1800,
    })),
    rdnss: config.rdnss ?? [],
    dnssl: config.dnssl ?? [],
    dnsLifetimeS: config.dnsLifetimeS ?? Math.ceil(3 * maxIntervalS),
    ...(config.mtu !== undefined && { mtu: config.mtu }),
    minIntervalS,
    maxIntervalS,
  };
}

export class RouterAdvertiser {
  readonly bindings: readonly RouterAdvertBinding[];
  private readonly devices: Advertising[];
  private readonly total: RaStats["total"] = {
    ...emptyCounters(),
    frames: 0,
    ignored: 0,
    receiveErrors: 0,
    eventHandlerErrors: 0,
  };
  private readonly onEvent: ((event: RaEvent) => void) | undefined;
  private readonly sends = new OrderedSends();
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private referenced = true;

  private constructor(
    bindings: RouterAdvertBinding[],
    devices: Advertising[],
    onEvent?: (e: RaEvent) => void,
  ) {
    this.bindings = Object.freeze(bindings.map((b) => Object.freeze({ ...b })));
    this.devices = devices;
    this.onEvent = onEvent;
  }

  /** Validates, opens one socket per device, sends the first advert on each and keeps advertising. */
  static async start(options: RouterAdvertiserOptions): Promise<RouterAdvertiser> {
    const opts = checkInput(advertiserOptionsSchema, options, "options");
    let path = "";
    if (opts.netns !== undefined) {
      try {
        path = netnsPath(opts.netns as NetnsRef);
      } catch (error) {
        throw new VmnetInputError("options.netns", error instanceof Error ? error.message : String(error));
      }
    }
    const links = await resolveLinks(opts.netns as NetnsRef | undefined, opts.bindings);
    const now = Date.now();
    const devices: Advertising[] = opts.bindings.map((b, i) => {
      const link = links[i] as { index: number; mac: Buffer };
      // Without a router to name, the advert speaks for the listening device itself.
      const routerMac = b.config.routerMac ? macBytes(b.config.routerMac) : link.mac;
      const content = resolveAdvert({ ...b.config, routerMac: formatMac(routerMac) });
      return {
        listenOn: b.listenOn,
        ifindex: link.index,
        mac: link.mac,
        routerMac,
        routerAddress: b.config.sourceLinkLocal
          ? (parseIpv6(b.config.sourceLinkLocal) as Buffer)
          : linkLocalFromMac(routerMac),
        answerNs: b.config.answerNeighborSolicitations ?? true,
        advert: encodeRouterAdvert(content),
        minIntervalS: content.minIntervalS,
        maxIntervalS: content.maxIntervalS,
        sentUnsolicited: 0,
        counters: emptyCounters(),
        rs: { tokens: SOLICITED_BURST, at: now, burst: SOLICITED_BURST, rate: SOLICITED_PER_SECOND },
        na: { tokens: NA_BURST, at: now, burst: NA_BURST, rate: NA_PER_SECOND },
      };
    });
    const advertiser = new RouterAdvertiser(opts.bindings as RouterAdvertBinding[], devices, options.onEvent);
    try {
      const filter = encodeFilter(icmp6Filter([ICMP6.routerSolicitation, ICMP6.neighborSolicitation]));
      for (const device of devices) {
        device.socket = await openIpv6PacketSocket(path, device.ifindex, filter, (error, data, lengths) =>
          advertiser.onFrames(device, error, data, lengths),
        );
        device.socket.ref();
      }
    } catch (error) {
      await advertiser.stop();
      throw error;
    }
    for (const device of devices) advertiser.unsolicited(device);
    return advertiser;
  }

  /** The router address the guests on `listenOn` route through (text). */
  routerAddress(listenOn: string): string | undefined {
    const d = this.devices.find((x) => x.listenOn === listenOn);
    return d ? formatIpv6(d.routerAddress) : undefined;
  }

  /**
   * Stops advertising and closes every socket. Guests keep their routes until the advertised
   * lifetimes run out (no final zero-lifetime advert: a restarting advertiser must not make the
   * guest drop its default route). Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      // Closed on libuv's pool: an AF_PACKET close waits for an RCU grace period in the kernel.
      const closing = this.devices.map((device) => {
        clearTimeout(device.timer);
        const socket = device.socket;
        device.socket = undefined;
        return socket?.closeAsync();
      });
      await Promise.allSettled([this.sends.settled(), ...closing]);
    })();
    return this.stopping;
  }

  unref(): this {
    this.referenced = false;
    for (const d of this.devices) {
      d.socket?.unref();
      d.timer?.unref();
    }
    return this;
  }
  ref(): this {
    this.referenced = true;
    for (const d of this.devices) {
      d.socket?.ref();
      d.timer?.ref();
    }
    return this;
  }

  stats(): RaStats {
    return {
      total: { ...this.total, ...copy(this.total) },
      bindings: this.devices.map((d) => ({
        ...copy(d.counters),
        listenOn: d.listenOn,
        ...(d.lastAdvertAt !== undefined && { lastAdvertAt: new Date(d.lastAdvertAt) }),
      })),
    };
  }

  /** Sends an unsolicited advert to all nodes and schedules the next (RFC 4861 6.2.4). */
  private unsolicited(device: Advertising): void {
    if (this.stopped) return;
    this.transmit(
      device,
      device.advert,
      ALL_NODES,
      multicastMac(ALL_NODES),
      device.routerAddress,
      "unsolicitedAdvert",
      {
        type: "advert",
        listenOn: device.listenOn,
        solicited: false,
        to: "ff02::1",
      },
    );
    device.sentUnsolicited += 1;
    let delayS = device.minIntervalS + Math.random() * (device.maxIntervalS - device.minIntervalS);
    if (device.sentUnsolicited < MAX_INITIAL_RTR_ADVERTISEMENTS)
      delayS = Math.min(delayS, MAX_INITIAL_RTR_ADVERT_INTERVAL_S);
    device.timer = setTimeout(() => this.unsolicited(device), delayS * 1000);
    if (!this.referenced) device.timer.unref();
  }

  private onFrames(device: Advertising, error: Error | null, data: Buffer, lengths: Uint32Array): void {
    if (this.stopped) return;
    if (error) {
      this.total.receiveErrors += 1;
      this.emit({ type: "error", listenOn: device.listenOn, error });
    }
    let at = 0;
    for (const length of lengths) {
      const frame = data.subarray(at, at + length);
      at += length;
      try {
        this.onFrame(device, frame);
      } catch (e) {
        this.drop(device, "internal-error", e instanceof Error ? e.message : String(e));
      }
    }
  }

  private onFrame(device: Advertising, frame: Buffer): void {
    this.total.frames += 1;
    const got = receiveNd(frame);
    if (got.kind === "ignored") {
      this.total.ignored += 1;
      return;
    }
    if (got.kind === "dropped") {
      this.drop(device, got.reason);
      return;
    }
    if (got.kind === "rs") {
      device.counters.received.routerSolicitation += 1;
      this.total.received.routerSolicitation += 1;
      if (!take(device.rs)) {
        this.drop(device, "rate-limited");
        return;
      }
      // Unicast back to the soliciting host (RFC 4861 6.2.6 allows it); to all nodes when it has
      // no address yet, still in a frame to its MAC alone.
      const to = isUnspecified(got.srcIp) ? ALL_NODES : Buffer.from(got.srcIp);
      this.transmit(
        device,
        device.advert,
        to,
        Buffer.from(got.srcMac),
        device.routerAddress,
        "solicitedAdvert",
        {
          type: "advert",
          listenOn: device.listenOn,
          solicited: true,
          to: formatIpv6(to),
        },
      );
      return;
    }
    device.counters.received.neighborSolicitation += 1;
    this.total.received.neighborSolicitation += 1;
    if (!device.answerNs || !got.target.equals(device.routerAddress)) {
      device.counters.notOurTarget += 1;
      this.total.notOurTarget += 1;
      return;
    }
    if (!take(device.na)) {
      this.drop(device, "rate-limited");
      return;
    }
    const solicited = !isUnspecified(got.srcIp);
    const to = solicited ? Buffer.from(got.srcIp) : ALL_NODES;
    this.transmit(
      device,
      encodeNeighborAdvert(device.routerAddress, device.routerMac, solicited),
      to,
      Buffer.from(got.srcMac),
      device.routerAddress,
      "neighborAdvert",
      {
        type: "neighbor-advert",
        listenOn: device.listenOn,
        target: formatIpv6(device.routerAddress),
        to: formatIpv6(to),
      },
    );
  }

  /**
   * Sends one ND message. The Ethernet source is the listening device's own MAC, never the
   * router's: a bridge that saw the gateway's MAC arrive from the guest's port would learn it
   * there and stop forwarding the guest's frames to the real gateway.
   */
  private transmit(
    device: Advertising,
    icmp: Buffer,
    dstIp: Buffer,
    dstMac: Buffer,
    srcIp: Buffer,
    counter: keyof RaCounters["sent"],
    event: RaEvent,
  ): void {
    const socket = device.socket;
    if (!socket) return;
    const frame = buildIpv6Frame({
      srcMac: device.mac,
      dstMac,
      srcIp,
      dstIp,
      hopLimit: 255,
      protocol: IPPROTO_ICMPV6,
      upper: icmp,
    });
    this.sends.add(
      socket.send(frame, ipv6Destination(device.ifindex, dstMac)),
      () => {
        device.counters.sent[counter] += 1;
        this.total.sent[counter] += 1;
        if (counter !== "neighborAdvert") device.lastAdvertAt = new Date();
        this.emit(event);
      },
      (error: Error) => {
        device.counters.sendErrors += 1;
        this.total.sendErrors += 1;
        this.emit({ type: "error", listenOn: device.listenOn, error });
      },
    );
  }

  private drop(device: Advertising, reason: RaDropReason, detail?: string): void {
    for (const c of [this.total, device.counters]) {
      c.dropped[reason] = (c.dropped[reason] ?? 0) + 1;
      c.droppedTotal += 1;
    }
    this.emit({ type: "drop", listenOn: device.listenOn, reason, ...(detail !== undefined && { detail }) });
  }

  private emit(event: RaEvent): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(event);
    } catch {
      this.total.eventHandlerErrors += 1;
    }
  }
}

function take(bucket: Bucket): boolean {
  const now = Date.now();
  bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((now - bucket.at) / 1000) * bucket.rate);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

async function resolveLinks(
  netns: NetnsRef | undefined,
  bindings: { listenOn: string }[],
): Promise<{ index: number; mac: Buffer }[]> {
  const rtnl = await Rtnl.open(netns === undefined ? {} : { netns });
  try {
    const out: { index: number; mac: Buffer }[] = [];
    for (const [i, b] of bindings.entries()) {
      const link = await rtnl.links.find(b.listenOn);
      if (!link)
        throw new VmnetInputError(`options.bindings.${i}.listenOn`, `no device "${b.listenOn}" in the netns`);
      if (link.hwType !== 1 || link.mac === undefined) {
        throw new VmnetInputError(
          `options.bindings.${i}.listenOn`,
          `"${b.listenOn}" is not an Ethernet device`,
        );
      }
      out.push({ index: link.index, mac: Buffer.from(link.mac.replace(/:/g, ""), "hex") });
    }
    return out;
  } finally {
    await rtnl.close();
  }
}

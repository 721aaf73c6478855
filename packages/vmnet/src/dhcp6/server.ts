// Dhcp6Server: serves one fixed IPv6 address (IA_NA) plus DNS to each guest on devices of one
// netns, like DhcpServer does for IPv4: an AF_PACKET socket per device with a kernel filter that
// passes only DHCPv6 client messages, no address or port 547 needed anywhere, replies built whole
// and sent back on the same device. Every frame is answered, ignored or dropped with a reason.
import { type NativeDatagramSocket, type NetnsRef, netnsPath, Rtnl } from "@vmnet/netlink-native";
import { formatMac } from "../dhcp/mac.js";
import { OrderedSends } from "../dhcp/ordered-sends.js";
import { checkInput } from "../dhcp/schema.js";
import { VmnetInputError } from "../errors.js";
import { copyCounters6, countDrop6, emptyCounters6 } from "./counters.js";
import { duidLl } from "./duid.js";
import { formatIpv6, linkLocalFromMac, parseIpv6 } from "./ipv6.js";
import { ipv6Destination, openIpv6PacketSocket } from "./packet-socket6.js";
import { receiveFrame6 } from "./receive.js";
import { server6OptionsSchema } from "./schema.js";
import { type ServedLease6, serveLease6 } from "./served-lease.js";
import { DHCP6_SERVER_FILTER, encodeFilter } from "./socket-filter6.js";
import type {
  Dhcp6Binding,
  Dhcp6Counters,
  Dhcp6DropReason,
  Dhcp6Event,
  Dhcp6ServerOptions,
  Dhcp6Stats,
} from "./types.js";

const RATE_BURST = 20;
const RATE_PER_SECOND = 10;

interface ClientState {
  binding: Dhcp6Binding;
  served: ServedLease6;
  /** Source address of replies to this client. */
  source: Buffer;
  counters: Dhcp6Counters;
  bound: boolean;
  lastReplyAt?: Date;
  declines: number;
  tokens: number;
  refilledAt: number;
}

interface Device {
  name: string;
  ifindex: number;
  mac: Buffer;
  duid: Buffer;
  socket?: NativeDatagramSocket;
  clients: Map<string, ClientState>;
}

export class Dhcp6Server {
  readonly bindings: readonly Dhcp6Binding[];
  /** The server DUID as hex (what clients see in option 2). */
  readonly duid: string;
  private readonly devices: Device[];
  private readonly clients: ClientState[];
  private readonly total: Dhcp6Stats["total"] = {
    ...emptyCounters6(),
    frames: 0,
    ignored: 0,
    receiveErrors: 0,
    eventHandlerErrors: 0,
  };
  private readonly onEvent: ((event: Dhcp6Event) => void) | undefined;
  private readonly sends = new OrderedSends();
  private stopped = false;
  private stopping: Promise<void> | undefined;

  private constructor(
    bindings: Dhcp6Binding[],
    duid: string,
    devices: Device[],
    clients: ClientState[],
    onEvent?: (e: Dhcp6Event) => void,
  ) {
    this.bindings = Object.freeze(bindings.map((b) => Object.freeze({ ...b })));
    this.duid = duid;
    this.devices = devices;
    this.clients = clients;
    this.onEvent = onEvent;
  }

  /** Validates the options, opens one socket per device and starts answering. */
  static async start(options: Dhcp6ServerOptions): Promise<Dhcp6Server> {
    const opts = checkInput(server6OptionsSchema, options, "options");
    let path = "";
    if (opts.netns !== undefined) {
      try {
        path = netnsPath(opts.netns as NetnsRef);
      } catch (error) {
        throw new VmnetInputError("options.netns", error instanceof Error ? error.message : String(error));
      }
    }
    const devices = await resolveDevices(opts.netns as NetnsRef | undefined, opts.bindings);
    const duid = (
      opts.duid ?? duidLl((devices.get(opts.bindings[0]?.listenOn as string) as Device).mac)
    ).toLowerCase();
    const duidBytes = Buffer.from(duid, "hex");
    const clients: ClientState[] = opts.bindings.map((binding) => {
      const device = devices.get(binding.listenOn) as Device;
      const client: ClientState = {
        binding,
        served: serveLease6(binding.lease),
        source: binding.serverAddress
          ? (parseIpv6(binding.serverAddress) as Buffer)
          : linkLocalFromMac(device.mac),
        counters: emptyCounters6(),
        bound: false,
        declines: 0,
        tokens: RATE_BURST,
        refilledAt: Date.now(),
      };
      device.clients.set(client.served.clientMac.toString("hex"), client);
      device.duid = duidBytes;
      return client;
    });
    const server = new Dhcp6Server(opts.bindings, duid, [...devices.values()], clients, options.onEvent);
    try {
      for (const device of server.devices) {
        device.socket = await openIpv6PacketSocket(
          path,
          device.ifindex,
          encodeFilter(DHCP6_SERVER_FILTER),
          (error, data, lengths) => server.onFrames(device, error, data, lengths),
        );
        device.socket.ref();
      }
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** Stops answering, closes every socket, waits for replies being sent. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      // Closed on libuv's pool: an AF_PACKET close waits for an RCU grace period in the kernel.
      const closing = this.devices.map((device) => {
        const socket = device.socket;
        device.socket = undefined;
        return socket?.closeAsync();
      });
      await Promise.allSettled([this.sends.settled(), ...closing]);
    })();
    return this.stopping;
  }

  unref(): this {
    for (const d of this.devices) d.socket?.unref();
    return this;
  }
  ref(): this {
    for (const d of this.devices) d.socket?.ref();
    return this;
  }

  stats(): Dhcp6Stats {
    return {
      total: { ...this.total, ...copyCounters6(this.total) },
      bindings: this.clients.map((c) => ({
        ...copyCounters6(c.counters),
        listenOn: c.binding.listenOn,
        clientMac: formatMac(c.served.clientMac),
        bound: c.bound,
        ...(c.lastReplyAt !== undefined && { lastReplyAt: new Date(c.lastReplyAt) }),
        declines: c.declines,
      })),
    };
  }

  private onFrames(device: Device, error: Error | null, data: Buffer, lengths: Uint32Array): void {
    if (this.stopped) return;
    if (error) {
      this.total.receiveErrors += 1;
      this.emit({ type: "error", listenOn: device.name, error });
    }
    let at = 0;
    for (const length of lengths) {
      const frame = data.subarray(at, at + length);
      at += length;
      try {
        this.onFrame(device, frame);
      } catch (e) {
        this.drop(device, "internal-error", undefined, e instanceof Error ? e.message : String(e));
      }
    }
  }

  private onFrame(device: Device, frame: Buffer): void {
    this.total.frames += 1;
    const outcome = receiveFrame6(frame, device, (client) => this.takeToken(client));
    if (outcome.kind === "ignored") {
      this.total.ignored += 1;
      return;
    }
    if (outcome.received !== undefined) {
      this.total.received[outcome.received] += 1;
      if (outcome.client) outcome.client.counters.received[outcome.received] += 1;
    }
    if (outcome.kind === "dropped") {
      this.drop(device, outcome.reason, outcome.client, outcome.detail);
      return;
    }
    const { client, decision } = outcome;
    const clientMac = formatMac(client.served.clientMac);
    if (decision.note) {
      client.bound = false;
      if (decision.note.event === "decline") client.declines += 1;
      this.emit({
        type: decision.note.event,
        listenOn: device.name,
        clientMac,
        addresses: decision.note.addresses.map(formatIpv6),
      });
    }
    const type = decision.type === 2 ? "advertise" : "reply";
    const event: Dhcp6Event = {
      type,
      listenOn: device.name,
      clientMac,
      to: outcome.received,
      ...(decision.binds && { address: formatIpv6(client.served.address) }),
      ...(decision.rapidCommit && { rapidCommit: true }),
      ...(decision.confirmed !== undefined && { confirmed: decision.confirmed }),
    };
    const socket = device.socket;
    if (!socket) return;
    this.sends.add(
      socket.send(outcome.frame, ipv6Destination(device.ifindex, outcome.frame.subarray(0, 6))),
      () => {
        client.counters.sent[type] += 1;
        this.total.sent[type] += 1;
        if (decision.binds) {
          client.bound = true;
          client.lastReplyAt = new Date();
        }
        this.emit(event);
      },
      (error: Error) => {
        client.counters.sendErrors += 1;
        this.total.sendErrors += 1;
        this.emit({ type: "error", listenOn: device.name, error });
      },
    );
  }

  private takeToken(client: ClientState): boolean {
    const now = Date.now();
    client.tokens = Math.min(
      RATE_BURST,
      client.tokens + ((now - client.refilledAt) / 1000) * RATE_PER_SECOND,
    );
    client.refilledAt = now;
    if (client.tokens < 1) return false;
    client.tokens -= 1;
    return true;
  }

  private drop(device: Device, reason: Dhcp6DropReason, client?: ClientState, detail?: string): void {
    countDrop6(this.total, reason);
    if (client) countDrop6(client.counters, reason);
    if (this.onEvent) {
      this.emit({
        type: "drop",
        listenOn: device.name,
        reason,
        ...(client && { clientMac: formatMac(client.served.clientMac) }),
        ...(detail !== undefined && { detail }),
      });
    }
  }

  private emit(event: Dhcp6Event): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(event);
    } catch {
      this.total.eventHandlerErrors += 1;
    }
  }
}

async function resolveDevices(
  netns: NetnsRef | undefined,
  bindings: { listenOn: string }[],
): Promise<Map<string, Device>> {
  const rtnl = await Rtnl.open(netns === undefined ? {} : { netns });
  try {
    const devices = new Map<string, Device>();
    for (const [i, binding] of bindings.entries()) {
      const name = binding.listenOn;
      if (devices.has(name)) continue;
      const link = await rtnl.links.find(name);
      if (!link)
        throw new VmnetInputError(`options.bindings.${i}.listenOn`, `no device "${name}" in the netns`);
      if (link.hwType !== 1 || link.mac === undefined) {
        throw new VmnetInputError(`options.bindings.${i}.listenOn`, `"${name}" is not an Ethernet device`);
      }
      devices.set(name, {
        name,
        ifindex: link.index,
        mac: Buffer.from(link.mac.replace(/:/g, ""), "hex"),
        duid: Buffer.alloc(0),
        clients: new Map(),
      });
    }
    return devices;
  } finally {
    await rtnl.close();
  }
}

// DhcpServer: serves fixed leases (usually straight from a CNI result) to guests on devices of one
// network namespace. One AF_PACKET socket per device sees every frame the guest sends, whatever
// its destination MAC or IP, so the server needs no address and no port 67 anywhere; replies are
// complete frames sent back on the same device. Nothing a guest sends can make it throw: every
// frame is either answered, ignored (not DHCP) or dropped with a counted reason.
import { type NativeDatagramSocket, type NetnsRef, netnsPath, Rtnl } from "@vmnet/netlink-native";
import { VmnetInputError } from "../errors.js";
import { copyCounters, countDrop, emptyCounters } from "./counters.js";
import { formatIpv4 } from "./ipv4.js";
import { formatMac } from "./mac.js";
import { OrderedSends } from "./ordered-sends.js";
import type { MessageTypeName } from "./packet.js";
import { ipv4Destination, openPacketSocket } from "./packet-socket.js";
import { receiveFrame } from "./receive.js";
import { checkInput, DEFAULT_SERVER_ID, serverOptionsSchema } from "./schema.js";
import { type ServedLease, serveLease } from "./served-lease.js";
import type {
  DhcpBinding,
  DhcpCounters,
  DhcpDropReason,
  DhcpEvent,
  DhcpServerOptions,
  DhcpStats,
} from "./types.js";

/** Replies per client allowed in a burst, and refilled per second: a flooding guest costs little. */
const RATE_BURST = 20;
const RATE_PER_SECOND = 10;

interface ClientState {
  binding: DhcpBinding;
  served: ServedLease;
  counters: DhcpCounters;
  bound: boolean;
  lastAckAt?: Date;
  declines: number;
  tokens: number;
  refilledAt: number;
}

interface Device {
  name: string;
  ifindex: number;
  mac: Buffer;
  socket?: NativeDatagramSocket;
  /** By the client MAC's hex. */
  clients: Map<string, ClientState>;
}

type TotalCounters = DhcpStats["total"];

export class DhcpServer {
  readonly bindings: readonly DhcpBinding[];
  private readonly devices: Device[];
  private readonly clients: ClientState[];
  private readonly total: TotalCounters = {
    ...emptyCounters(),
    frames: 0,
    ignored: 0,
    receiveErrors: 0,
    eventHandlerErrors: 0,
  };
  private readonly onEvent: ((event: DhcpEvent) => void) | undefined;
  private readonly sends = new OrderedSends();
  private stopped = false;
  private stopping: Promise<void> | undefined;

  private constructor(
    bindings: DhcpBinding[],
    devices: Device[],
    clients: ClientState[],
    onEvent?: (e: DhcpEvent) => void,
  ) {
    this.bindings = Object.freeze(bindings.map((b) => Object.freeze({ ...b })));
    this.devices = devices;
    this.clients = clients;
    this.onEvent = onEvent;
  }

  /** Validates the options, opens one socket per device and starts answering. */
  static async start(options: DhcpServerOptions): Promise<DhcpServer> {
    const opts = checkInput(serverOptionsSchema, options, "options");
    let path = "";
    if (opts.netns !== undefined) {
      try {
        path = netnsPath(opts.netns as NetnsRef);
      } catch (error) {
        throw new VmnetInputError("options.netns", error instanceof Error ? error.message : String(error));
      }
    }
    const bindings = opts.bindings.map((b) => ({ ...b, serverId: b.serverId ?? DEFAULT_SERVER_ID }));
    const clients: ClientState[] = bindings.map((binding) => ({
      binding,
      served: serveLease(binding.lease, binding.serverId),
      counters: emptyCounters(),
      bound: false,
      declines: 0,
      tokens: RATE_BURST,
      refilledAt: Date.now(),
    }));
    const devices = await resolveDevices(opts.netns as NetnsRef | undefined, clients);
    const server = new DhcpServer(bindings, devices, clients, options.onEvent);
    try {
      for (const device of devices) {
        device.socket = await openPacketSocket(path, device.ifindex, (error, data, lengths) =>
          server.onFrames(device, error, data, lengths),
        );
        device.socket.ref();
      }
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** Stops answering and closes every socket; waits for replies being sent. Idempotent. */
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

  /** Lets the process exit while the server runs (like net.Server#unref). */
  unref(): this {
    for (const d of this.devices) d.socket?.unref();
    return this;
  }
  ref(): this {
    for (const d of this.devices) d.socket?.ref();
    return this;
  }

  stats(): DhcpStats {
    return {
      total: { ...this.total, ...copyCounters(this.total) },
      bindings: this.clients.map((c) => ({
        ...copyCounters(c.counters),
        listenOn: c.binding.listenOn,
        clientMac: formatMac(c.served.clientMac),
        bound: c.bound,
        ...(c.lastAckAt !== undefined && { lastAckAt: new Date(c.lastAckAt) }),
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
        // A bug of ours must not take the server down with it: count it and carry on.
        this.drop(device, "internal-error", undefined, e instanceof Error ? e.message : String(e));
      }
    }
  }

  private onFrame(device: Device, frame: Buffer): void {
    this.total.frames += 1;
    const outcome = receiveFrame(frame, device, (client) => this.takeToken(client));
    if (outcome.kind === "ignored") {
      this.total.ignored += 1;
      return;
    }
    if (outcome.kind !== "dropped" || outcome.received !== undefined) {
      const client = outcome.kind === "dropped" ? outcome.client : outcome.client;
      const type = outcome.received as MessageTypeName;
      if (
        type === "discover" ||
        type === "request" ||
        type === "decline" ||
        type === "release" ||
        type === "inform"
      ) {
        if (client) client.counters.received[type] += 1;
        this.total.received[type] += 1;
      }
    }
    if (outcome.kind === "dropped") {
      this.drop(device, outcome.reason, outcome.client, outcome.detail);
      return;
    }
    const { client } = outcome;
    const clientMac = formatMac(client.served.clientMac);
    if (outcome.kind === "noted") {
      client.bound = false;
      if (outcome.event === "decline") client.declines += 1;
      this.emit({
        type: outcome.event,
        listenOn: device.name,
        clientMac,
        address: formatIpv4(outcome.address),
      });
      return;
    }
    const { decision } = outcome;
    const event: DhcpEvent =
      decision.type === "nak"
        ? {
            type: "nak",
            listenOn: device.name,
            clientMac,
            state: decision.state === undefined || decision.state === "inform" ? "selecting" : decision.state,
            requested: formatIpv4(decision.address),
            reason: decision.reason ?? "",
          }
        : {
            type: decision.type,
            listenOn: device.name,
            clientMac,
            address: formatIpv4(client.served.address),
            ...(decision.state !== undefined && { state: decision.state }),
          };
    this.send(device, client, decision.type, outcome.frame, event, decision.state === "inform");
  }

  private send(
    device: Device,
    client: ClientState,
    type: "offer" | "ack" | "nak",
    frame: Buffer,
    event: DhcpEvent,
    inform: boolean,
  ): void {
    const socket = device.socket;
    if (!socket) return;
    this.sends.add(
      socket.send(frame, ipv4Destination(device.ifindex, frame.subarray(0, 6))),
      () => {
        client.counters.sent[type] += 1;
        this.total.sent[type] += 1;
        if (type === "ack" && !inform) {
          client.bound = true;
          client.lastAckAt = new Date();
        } else if (type === "nak") client.bound = false;
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

  private drop(device: Device, reason: DhcpDropReason, client?: ClientState, detail?: string): void {
    countDrop(this.total, reason);
    if (client) countDrop(client.counters, reason);
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

  private emit(event: DhcpEvent): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(event);
    } catch {
      this.total.eventHandlerErrors += 1;
    }
  }
}

/** Index and MAC of every `listenOn` device, from the kernel of the server's netns. */
async function resolveDevices(netns: NetnsRef | undefined, clients: ClientState[]): Promise<Device[]> {
  const rtnl = await Rtnl.open(netns === undefined ? {} : { netns });
  try {
    const devices = new Map<string, Device>();
    for (const [i, client] of clients.entries()) {
      const name = client.binding.listenOn;
      let device = devices.get(name);
      if (!device) {
        const link = await rtnl.links.find(name);
        if (!link)
          throw new VmnetInputError(`options.bindings.${i}.listenOn`, `no device "${name}" in the netns`);
        if (link.hwType !== 1 || link.mac === undefined) {
          throw new VmnetInputError(`options.bindings.${i}.listenOn`, `"${name}" is not an Ethernet device`);
        }
        device = {
          name,
          ifindex: link.index,
          mac: Buffer.from(link.mac.replace(/:/g, ""), "hex"),
          clients: new Map(),
        };
        devices.set(name, device);
      }
      device.clients.set(client.served.clientMac.toString("hex"), client);
    }
    return [...devices.values()];
  } finally {
    await rtnl.close();
  }
}

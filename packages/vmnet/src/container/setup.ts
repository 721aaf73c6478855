// setupContainerSideNetwork: Virtlet's nettools as one plan. Every change is a step with its undo;
// a failure at any step rolls back the completed ones (StepError), leaving the pod's netns as it
// was. Before the first change, the journal records what setup found and what it will create, so
// teardown, in this process or in another after a crash, restores exactly that.
import { randomBytes } from "node:crypto";
import type { ResultV1 } from "@vmnet/cni-result";
import {
  formatOwnerMark,
  Nft,
  ownerMarkForThisProcess,
  Rtnl,
  type Step,
  step,
  type Tap,
} from "@vmnet/netlink-native";
import { Tc } from "@vmnet/tc-qos";
import { DhcpServer, leasesFromResult } from "../dhcp/index.js";
import { leases6FromResult, stableDuid } from "../dhcp6/index.js";
import { VmnetError, VmnetInputError } from "../errors.js";
import {
  forwardingKeys,
  MASQUERADE_TABLE,
  type MasqueradePlan,
  masqueradePlan,
  readSysctls,
} from "../masquerade/index.js";
import { DEFAULT_STATE_DIR, Journal } from "../plan/journal.js";
import { freeLinkGroup } from "../plan/link-group.js";
import { runStages } from "../plan/stages.js";
import { turnRoom } from "../plan/turn-room.js";
import { gateways6FromResult } from "../ra/index.js";
import { CSN_REDIRECT_PRIO, dhcpBlockBatch, dhcpPassFilters, NFT_TABLE, redirectTo } from "./dhcp-guard.js";
import { learnGatewayMac } from "./gateway-mac.js";
import { type Ipv6Servers, startIpv6Servers } from "./ipv6-servers.js";
import { configureLinkWith, type LinkInfo, linkInfoFrom, stripLinkWith } from "./link-info.js";
import { randomMac } from "./mac.js";
import { masqueradeSteps } from "./masquerade-wiring.js";
import { checkNetns } from "./netns.js";
import { checkIfName, checkOptions, setupOptionsSchema } from "./options.js";
import { paced } from "./pacing.js";
import { plainSetupOptions } from "./plain-options.js";
import { resolveResult } from "./result.js";
import { type Context, openTapStep, tapStep } from "./tap-step.js";
import { type NetnsHandles, restoreFromJournal } from "./teardown.js";
import type {
  ContainerInterface,
  ContainerSideNetwork,
  CsnJournal,
  JournalInterface,
  SetupOptions,
} from "./types.js";

export const CSN_ROLE = "csn";

export { randomMac } from "./mac.js";

/** The first `${prefix}N` not taken, from N = start. */
function freeName(prefix: string, start: number, taken: Set<string>): string {
  for (let n = start; ; n++) {
    const name = `${prefix}${n}`;
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

export function journalFor(stateDir: string | undefined, netnsId: string): Journal<CsnJournal> {
  return new Journal<CsnJournal>(`${stateDir ?? DEFAULT_STATE_DIR}/container-side`, netnsId);
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** The MAC the VM uses on an interface. */
export const vmMacOf = (i: JournalInterface): string => i.vmMac ?? i.cni.mac;

/**
 * The result the DHCP server serves: the CNI result itself, or in masquerade mode the private
 * network (the VM's private address, the bridge as its gateway, the pod's DNS).
 */
export function servedResult(record: CsnJournal): unknown {
  const m = record.masquerade;
  const first = record.interfaces[0];
  if (!m || !first) return record.result;
  return {
    cniVersion: "1.0.0",
    interfaces: [{ name: first.cni.name, mac: vmMacOf(first) }],
    ips: [
      { address: m.ipv4.vm, gateway: m.ipv4.gateway.split("/")[0], interface: 0 },
      ...(m.ipv6 ? [{ address: m.ipv6.vm, gateway: m.ipv6.gateway.split("/")[0], interface: 0 }] : []),
    ],
    routes: [{ dst: "0.0.0.0/0" }, ...(m.ipv6 ? [{ dst: "::/0" }] : [])],
    ...(record.result.dns && { dns: record.result.dns }),
  };
}

/** Starts the DHCP server for a journalled network: each TAP serves its CNI identity. */
export async function startDhcp(path: string, record: CsnJournal): Promise<DhcpServer | undefined> {
  const mtu = Object.fromEntries(record.interfaces.map((i) => [i.cni.name, i.mtu]));
  const leases = leasesFromResult(servedResult(record), { mtu });
  const bindings = record.interfaces.flatMap((i) => {
    const lease = leases.get(i.cni.name);
    if (!lease) return [];
    return [
      {
        listenOn: i.tap,
        lease,
        ...(i.bridgeAddress !== undefined && { serverId: i.bridgeAddress.split("/")[0] as string }),
      },
    ];
  });
  // An IPv6-only result has nothing for DHCPv4 to serve.
  if (bindings.length === 0) return undefined;
  return DhcpServer.start({ netns: { path }, bindings });
}

/** Starts the IPv6 servers for a journalled network (undefined when nothing IPv6 is served). */
export function startIpv6(path: string, record: CsnJournal): Promise<Ipv6Servers | undefined> {
  return startIpv6Servers(path, record, servedResult(record));
}

export function handOut(
  path: string,
  record: CsnJournal,
  journal: Journal<CsnJournal>,
  taps: Map<string, Tap>,
  dhcp: DhcpServer | undefined,
  handles: NetnsHandles = {},
  ipv6?: Ipv6Servers,
): ContainerSideNetwork {
  const interfaces: ContainerInterface[] = record.interfaces.map((i) => ({
    name: i.cni.name,
    tap: { name: i.tap, fds: [...(taps.get(i.tap)?.fds ?? [])] },
    hardwareAddr: vmMacOf(i),
    mtu: i.mtu,
    link: i.cni,
    ...(i.bridge !== undefined && { bridge: i.bridge }),
  }));
  let done: Promise<void> | undefined;
  return {
    netns: path,
    mode: record.mode,
    result: record.result,
    interfaces,
    dhcp,
    dhcp6: ipv6?.dhcp6,
    routerAdvertiser: ipv6?.ra,
    journalPath: journal.path,
    teardown() {
      done ??= (async () => {
        await Promise.all([dhcp?.stop(), ipv6?.stop()]);
        // Setup's own sockets, still open, spare teardown opening new ones; used once.
        const held = { ...handles };
        handles.rtnl = undefined;
        handles.nft = undefined;
        try {
          await paced(() => restoreFromJournal(path, record, journal, held));
        } finally {
          // The TAP fds close after the TAPs are gone: a queue still attached when its fd
          // closes costs an RCU grace period (tun_detach), one already detached by the
          // device's removal does not. Teardown ends when every fd it held is closed.
          await Promise.allSettled([
            held.rtnl?.close(),
            held.nft?.close(),
            ...[...taps.values()].map((tap) => tap.close()),
          ]);
        }
      })();
      // A failed teardown may be retried: forget the failed attempt.
      done.catch(() => {
        done = undefined;
      });
      return done;
    },
  };
}

/**
 * Bridge mode for one interface, in two waves of independent steps (see plan/stages.ts): first
 * the CNI link's new MAC, the TAP and the bridge (made up); then both enslaved (the TAP marked,
 * sized and persisted with it) and the bridge's address. Links are named by index, so no step
 * pays a name lookup.
 */
function bridgeWaves(ctx: Context, ji: JournalInterface): { first: Step[]; second: Step[] } {
  const { rtnl, record } = ctx;
  const cni = ji.cni;
  const br = ji.bridge as string;
  const address = ji.bridgeAddress as string;
  let brIndex: number | undefined;
  const tapIndex = () => ctx.taps.get(ji.tap)?.index ?? ji.tap;
  const bridge = () => brIndex ?? br;
  return {
    first: [
      step(
        `give ${cni.name} a new MAC`,
        () => rtnl.links.set(cni.index, { mac: ji.wiredMac }),
        () => rtnl.links.set(cni.index, { mac: cni.mac }),
      ),
      openTapStep(ctx, ji),
      step(
        `create ${br}`,
        async () => {
          const link = await rtnl.links.add({
            kind: "bridge",
            name: br,
            mtu: ji.mtu,
            txqlen: 1000,
            ageingTime: 0,
            alias: record.mark,
            group: record.group,
            up: true,
          });
          brIndex = link.index;
        },
        async () => {
          await rtnl.links.deleteIfExists(bridge());
          brIndex = undefined;
        },
      ),
    ],
    second: [
      step(
        `enslave ${ji.tap} to ${br}`,
        async () => {
          // Marked, sized and enslaved in one request, then made persistent (see openTapStep).
          await rtnl.links.set(tapIndex(), {
            mtu: ji.mtu,
            alias: record.mark,
            group: record.group,
            master: bridge(),
            up: true,
          });
          ctx.taps.get(ji.tap)?.persist();
        },
        () => rtnl.links.set(tapIndex(), { master: null, up: false }),
      ),
      step(
        `enslave ${cni.name} to ${br}`,
        () => rtnl.links.set(cni.index, { master: bridge(), up: true }),
        () => rtnl.links.set(cni.index, { master: null, up: cni.up }),
      ),
      step(
        `give ${br} ${address}`,
        () => rtnl.addresses.add(bridge(), address),
        async () => {
          await rtnl.addresses.deleteIfPresent(bridge(), address);
        },
      ),
    ],
  };
}

function tcFilterSteps(ctx: Context, ji: JournalInterface): Step[] {
  const tc = ctx.tc as Tc;
  const cni = ji.cni;
  const steps: Step[] = [tapStep(ctx, ji, true)];
  if (!ji.hadIngress)
    steps.push(
      step(
        `add ingress qdisc on ${cni.name}`,
        () => tc.qdiscs.add(cni.index, { kind: "ingress" }),
        async () => {
          await tc.qdiscs.delete(cni.index, { kind: "ingress" });
          // The kernel gives a queue-less link a queue length when a qdisc comes and goes.
          if (cni.txqlen !== undefined) await ctx.rtnl.links.set(cni.index, { txqlen: cni.txqlen });
        },
      ),
    );
  steps.push(
    step(
      `add ingress qdisc on ${ji.tap}`,
      () => tc.qdiscs.add(ji.tap, { kind: "ingress" }),
      () => tc.qdiscs.delete(ji.tap, { kind: "ingress" }),
    ),
  );
  for (const link of [cni.index, ji.tap]) {
    const name = link === cni.index ? cni.name : ji.tap;
    steps.push(
      step(
        `keep DHCP on ${name}`,
        async () => {
          for (const f of dhcpPassFilters("ffff:")) await tc.filters.add(link, f);
        },
        async () => {
          await deleteFilters(tc, link, [1, 2]);
        },
      ),
    );
  }
  steps.push(
    step(
      `redirect ${ji.tap} to ${cni.name}`,
      async () => tc.filters.add(ji.tap, redirectTo("ffff:", cni.index)),
      () => deleteFilters(tc, ji.tap, [CSN_REDIRECT_PRIO]),
    ),
    step(
      `redirect ${cni.name} to ${ji.tap}`,
      async () => tc.filters.add(cni.index, redirectTo("ffff:", await tc.ifindex(ji.tap))),
      () => deleteFilters(tc, cni.index, [CSN_REDIRECT_PRIO]),
    ),
  );
  return steps;
}

/** Deletes the filters at `prios` under ingress; those already gone are not an error. */
export async function deleteFilters(tc: Tc, link: string | number, prios: number[]): Promise<void> {
  for (const prio of prios) {
    try {
      await tc.filters.delete(link, { parent: "ffff:", prio });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== "ENOENT" && code !== "EINVAL" && code !== "ENODEV") throw e;
    }
  }
}

/**
 * Moves each CNI interface's identity to a TAP and serves it by DHCP (see the README section
 * "ContainerSideNetwork"). Bad input: VmnetInputError naming the field, nothing changed. A failed
 * step: StepError, every completed step undone.
 */
export async function setupContainerSideNetwork(options: SetupOptions): Promise<ContainerSideNetwork> {
  // The input is checked when the setup's turn comes (at once unless pacing.ts's limit of setups
  // runs): a hundred setups started together would otherwise validate a hundred results in one
  // turn of the event loop (about 30 ms). A bad input still rejects with VmnetInputError.
  return paced(() => {
    const o = plainSetupOptions(options) ?? checkOptions(setupOptionsSchema, options, "");
    return setupChecked(o, checkNetns(o.netns));
  });
}

async function setupChecked(
  o: ReturnType<typeof checkOptions<typeof setupOptionsSchema>>,
  { path, id }: ReturnType<typeof checkNetns>,
): Promise<ContainerSideNetwork> {
  const owner = o.owner ?? "vmnet";
  // The nftables socket opens beside the reads (each open enters the netns on libuv's pool); it
  // is first needed by the wiring. Until awaited, its failure is kept, not unhandled.
  const needNft = o.mode === "bridge" || o.mode === "masquerade";
  const nftOpening = needNft ? Nft.open({ netns: { path } }) : undefined;
  nftOpening?.catch(() => undefined);
  let rtnl: Rtnl;
  try {
    rtnl = await Rtnl.open({ netns: { path } });
  } catch (e) {
    await nftOpening?.then(
      (nft) => nft.close(),
      () => undefined,
    );
    throw e;
  }
  const ctx: Partial<Context> & { rtnl: Rtnl; taps: Map<string, Tap> } = { rtnl, taps: new Map() };
  let kept = false;
  let ipv6: Ipv6Servers | undefined;
  try {
    const journal = journalFor(o.stateDir, id);
    const [links, addresses, routes, existing] = await Promise.all([
      rtnl.links.list(),
      rtnl.addresses.list(),
      rtnl.routes.list({ table: 0 }),
      journal.read(),
    ]);
    // What follows until the first step is a millisecond or two of JavaScript (see turn-room.ts).
    await turnRoom();
    if (existing) {
      throw new VmnetError(
        `${path} already has a container-side network (journal ${journal.path}); tear it down or recover it first`,
      );
    }
    const lo = links.find((l) => l.name === "lo");
    const infos: LinkInfo[] = links
      .filter((l) => l.name !== "lo")
      .map((l) => linkInfoFrom(l, addresses, routes));
    const resolved = resolveResult(o.result, infos, path, o.cniVersion ?? "1.0.0");
    const taken = new Set(links.map((l) => l.name));
    if (o.mtu !== undefined) {
      for (const link of resolved.wired)
        if (o.mtu > link.mtu)
          throw new VmnetInputError("mtu", `${o.mtu} is above ${link.name}'s MTU ${link.mtu}`);
    }
    const bridgeMode = o.mode === "bridge";
    const masqMode = o.mode === "masquerade";
    if (o.masquerade !== undefined && !masqMode)
      throw new VmnetInputError("masquerade", 'is only for mode "masquerade"');
    let plan: MasqueradePlan | undefined;
    if (masqMode)
      plan = masqueradePlan(
        o.masquerade,
        (resolved.result.ips ?? []).map((ip) => ip.address.split("/")[0] as string),
      );
    if (bridgeMode) {
      // A macvlan/ipvlan link only receives frames for its own MAC: once the VM's MAC is not the
      // link's, replies never reach the bridge. tc-filter mode keeps the MAC on both.
      const single = resolved.wired.find((l) => l.kind === "macvlan" || l.kind === "ipvlan");
      if (single)
        throw new VmnetInputError(
          "mode",
          `${single.name} is a ${single.kind}, which only receives frames for its own MAC: use "tcfilter"`,
        );
    }
    let tc: Tc | undefined;
    const hadIngress = new Map<number, boolean>();
    if (!bridgeMode) {
      tc = await Tc.open({ rtnl });
      ctx.tc = tc;
      for (const link of resolved.wired)
        hadIngress.set(link.index, (await tc.qdiscs.get(link.index, "ingress")) !== undefined);
    }
    // Masquerade: one TAP for the VM, NATed out of every CNI interface.
    const toWire = masqMode ? resolved.wired.slice(0, 1) : resolved.wired;
    const interfaces: JournalInterface[] = toWire.map((cni, i) => {
      const wanted = o.taps?.[i];
      if (wanted !== undefined && taken.has(wanted))
        throw new VmnetInputError(`taps.${i}`, `a link named "${wanted}" already exists in the netns`);
      const tap = wanted ?? freeName("tap", i, taken);
      taken.add(tap);
      checkIfName(tap, `interfaces[${i}].tap`);
      const ji: JournalInterface = {
        cni,
        tap,
        wiredMac: bridgeMode ? randomMac() : cni.mac,
        mtu: o.mtu ?? cni.mtu,
      };
      if (bridgeMode) {
        ji.bridge = freeName("br", i, taken);
        ji.bridgeAddress = `169.254.${254 - i}.2/24`;
      } else if (plan) {
        ji.bridge = freeName("br", i, taken);
        ji.bridgeAddress = plan.ipv4.gateway;
        // A CNI interface without a MAC (a /32 on a tun, wireguard, ...) still gives the VM one.
        if (!MAC.test(cni.mac)) ji.vmMac = randomMac();
      } else {
        ji.hadIngress = hadIngress.get(cni.index) ?? false;
      }
      return ji;
    });
    // IPv6 for the VM: the private network (masquerade), or the CNI's own, whose router is the
    // real gateway: its MAC is learned now, while the pod can still ask.
    let serveIpv6 = plan?.ipv6 !== undefined;
    // (leases6FromResult parses the whole result again: only asked when there is IPv6 to serve.)
    const hasIpv6 = (resolved.result.ips ?? []).some((ip) => ip.address.includes(":"));
    if (!masqMode && o.dhcp !== false && hasIpv6 && leases6FromResult(resolved.result).size > 0) {
      serveIpv6 = true;
      const gateways = gateways6FromResult(resolved.result);
      for (const ji of interfaces) {
        const gateway = gateways.get(ji.cni.name);
        if (gateway !== undefined) ji.routerMac6 = await learnGatewayMac(path, rtnl, ji.cni, gateway);
      }
    }
    const record: CsnJournal = {
      // First, so that marking the journal complete rewrites 5 bytes in place (setLeadingFlag).
      complete: false,
      version: 1,
      kind: "container-side-network",
      netns: path,
      netnsId: id,
      owner,
      mark: formatOwnerMark(ownerMarkForThisProcess(owner, CSN_ROLE)),
      mode: o.mode,
      group: freeLinkGroup(new Set(links.map((l) => l.group))),
      loWasUp: lo?.up ?? false,
      ...(bridgeMode && { nftTable: NFT_TABLE }),
      ...(plan && {
        nftTable: MASQUERADE_TABLE,
        nftFamily: "inet" as const,
        masquerade: {
          ...plan,
          links: resolved.wired.map((l) => l.name),
          sysctls: await readSysctls(
            path,
            forwardingKeys(
              links.map((l) => l.name),
              resolved.wired.map((l) => l.name),
              plan.ipv6 !== undefined,
            ),
          ),
        },
      }),
      vnetHdr: o.vnetHdr ?? false,
      queues: o.queues ?? 1,
      ...(serveIpv6 && { dhcp6Duid: stableDuid(`${id} ${randomBytes(8).toString("hex")}`) }),
      result: resolved.result as ResultV1,
      interfaces,
    };
    if (nftOpening) ctx.nft = await nftOpening;
    const full: Context = { ...ctx, path, record, journal } as Context;

    // Stages of independent steps (plan/stages.ts). Bridge mode is three waves between the
    // journal writes; the other modes keep one step per stage, each depending on the last.
    const stages: Step[][] = [
      [
        step(
          "write the journal",
          () => journal.write(record),
          () => journal.remove(),
        ),
      ],
    ];
    const linksAtSetup = new Set(links.map((l) => l.name));
    const first: Step[] = [];
    const second: Step[] = [];
    for (const ji of interfaces) {
      if (masqMode) {
        for (const s of masqueradeSteps(full, ji, linksAtSetup)) stages.push([s]);
        continue;
      }
      const strip = step(
        `strip ${ji.cni.name}`,
        () => stripLinkWith(rtnl, ji.cni),
        () => configureLinkWith(rtnl, ji.cni),
      );
      if (bridgeMode) {
        const waves = bridgeWaves(full, ji);
        first.push(strip, ...waves.first);
        second.push(...waves.second);
      } else for (const s of [strip, ...tcFilterSteps(full, ji)]) stages.push([s]);
    }
    if (bridgeMode) {
      const nft = full.nft as Nft;
      first.push(
        step(
          `block DHCP on ${interfaces.map((i) => i.cni.name).join(", ")}`,
          () =>
            nft.commit(
              dhcpBlockBatch(
                NFT_TABLE,
                record.mark,
                interfaces.map((i) => i.cni.name),
              ),
            ),
          async () => {
            await nft.deleteTable("bridge", NFT_TABLE);
          },
        ),
      );
    }
    if (lo && !lo.up)
      first.push(
        step(
          "bring lo up",
          () => rtnl.links.up(lo.index),
          () => rtnl.links.down(lo.index),
        ),
      );
    // The servers need only the TAPs to exist: they start beside the last wiring wave.
    const servers: Step[] = [];
    if (o.dhcp !== false) {
      servers.push(
        step(
          "start the DHCP server",
          async () => {
            full.dhcp = await startDhcp(path, record);
          },
          async () => {
            await full.dhcp?.stop();
            full.dhcp = undefined;
          },
        ),
      );
      if (record.dhcp6Duid)
        servers.push(
          step(
            "start the DHCPv6 server and router advertiser",
            async () => {
              ipv6 = await startIpv6(path, record);
            },
            async () => {
              await ipv6?.stop();
              ipv6 = undefined;
            },
          ),
        );
    }
    if (bridgeMode) stages.push(first, [...second, ...servers]);
    else {
      for (const s of [...first, ...servers]) stages.push([s]);
    }
    stages.push([
      step(
        "mark the journal complete",
        () => journal.setLeadingFlag("complete", true, { ...record, complete: true }),
        () => journal.setLeadingFlag("complete", false, record),
      ),
    ]);
    await runStages(stages, {
      subject: `container-side network in ${path}`,
      ...(o.beforeStep && { beforeStep: o.beforeStep as SetupOptions["beforeStep"] }),
    });
    record.complete = true;
    const handles: NetnsHandles = { rtnl, ...(ctx.nft && { nft: ctx.nft }) };
    kept = true;
    return handOut(path, record, journal, ctx.taps, full.dhcp, handles, ipv6);
  } catch (e) {
    await Promise.allSettled([...ctx.taps.values()].map((tap) => tap.close()));
    throw e;
  } finally {
    // A failed setup returns when every fd it opened is closed.
    await Promise.allSettled([
      ctx.tc?.close(),
      kept ? undefined : rtnl.close(),
      kept
        ? undefined
        : ctx.nft
          ? ctx.nft.close()
          : nftOpening?.then(
              (nft) => nft.close(),
              () => undefined,
            ),
    ]);
  }
}

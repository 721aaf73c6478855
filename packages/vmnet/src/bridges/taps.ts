// Tap lifecycle in bulk. Creating N taps is one plan of two steps: the kernel taps (opened in
// parallel on libuv's pool, then marked and brought up by coalesced netlink requests), and ONE
// OVSDB transaction adding every port. Destroying is one OVSDB transaction removing the ports,
// then one group delete in the kernel (the unregister wait is paid once, not once per tap).
// Only kernel links that carry this owner's mark are ever deleted.

import {
  type Link,
  type LinkIdentity,
  NetlinkError,
  openTap,
  parseOwnerMark,
  runPlan,
  type Step,
} from "@vmnet/netlink-native";
import type { PortInfo, PortSpec } from "@vmnet/ovs";
import { z } from "zod";
import { VmnetError } from "../errors.js";
import { freeLinkGroup } from "../plan/link-group.js";
import { step } from "../plan/step.js";
import type { BridgesContext } from "./context.js";
import { clearIngressMeter } from "./ingress-meter.js";
import { ifName, macAddress, parseInput, vlanId } from "./input.js";
import { DEFUNCT_KEY, LSP_KEY, MAC_KEY, METER_KEY, OWNER_KEY, type PortKind } from "./keys.js";
import { ovsStep } from "./ovs-step.js";
import { type PortEntry, readPortIndex } from "./port-index.js";
import { allocateTapNames } from "./tap-names.js";

export const tapSpec = z
  .object({
    /** Name of the tap; default: the next free name from the tap format. */
    name: ifName.optional(),
    /** The VM's MAC behind this tap (kept for IP snooping). */
    mac: macAddress.optional(),
    /** Access VLAN; leave out for a trunk port. */
    vlan: vlanId.optional(),
  })
  .strict();
export type TapSpec = z.input<typeof tapSpec>;

export interface PlanHooks {
  /** Called before each step (tests inject faults here). */
  beforeStep?: (s: Step, index: number) => void | Promise<void>;
  /** Called as bulk work progresses (done of total). */
  onProgress?: (done: number, total: number) => void;
}

/** Names for specs without one, checked against the kernel, OVSDB and in-flight creations. */
export async function assignNames(
  ctx: BridgesContext,
  wanted: readonly (string | undefined)[],
): Promise<string[]> {
  const [links, index] = await Promise.all([ctx.rtnl.links.identities(), readPortIndex(ctx.client)]);
  const taken = new Set<string>(ctx.reservedNames);
  for (const l of links) taken.add(l.name);
  for (const name of index.ports.keys()) taken.add(name);
  for (const name of index.interfaceNames) taken.add(name);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [i, name] of wanted.entries()) {
    if (name === undefined) continue;
    if (taken.has(name) || seen.has(name))
      throw new TapExistsError(name, `taps.${wanted.length === 1 ? "" : `${i}.`}name`);
    seen.add(name);
  }
  for (const n of seen) taken.add(n);
  const fresh = allocateTapNames(ctx.tapFormat, wanted.filter((n) => n === undefined).length, taken);
  let f = 0;
  for (const name of wanted) out.push(name ?? (fresh[f++] as string));
  for (const n of out) ctx.reservedNames.add(n);
  return out;
}

export class TapExistsError extends VmnetError {
  override readonly name = "TapExistsError";
  constructor(
    readonly tap: string,
    readonly field: string,
  ) {
    super(`${field}: an interface or port named ${tap} already exists`);
  }
}

/** Counts bulk progress across the steps of one plan (each tap counts twice: kernel, switch). */
export interface Progress {
  done: number;
  total: number;
  report?: ((done: number, total: number) => void) | undefined;
}

/** Kernel step: persistent taps, marked and up. On a partial failure the ones made are removed. */
export function kernelTapsStep(
  ctx: BridgesContext,
  names: readonly string[],
  hooks: PlanHooks = {},
  progress: Progress = { done: 0, total: names.length * 2, report: hooks.onProgress },
  group: number = freeLinkGroup(),
): Step {
  return step(
    `create ${names.length} kernel tap(s)`,
    async () => {
      const made: string[] = [];
      try {
        const mark = ctx.mark("tap");
        await Promise.all(
          names.map(async (name) => {
            // Marked before it is made persistent: a process killed in between leaves no
            // unmarked tap (the kernel removes a non-persistent one with its fd). Brought up
            // only once its fd is closed: up with a queue attached it would have carrier,
            // start IPv6 autoconfiguration and flap its carrier at the close, work for the
            // kernel and for ovs-vswitchd that a tap waiting for its VM does not need.
            const tap = await openTap({ name, ...ctx.netnsOption });
            made.push(name);
            try {
              await ctx.rtnl.links.set(tap.index, { alias: mark, group });
              tap.persist();
            } finally {
              await tap.close();
            }
            await ctx.rtnl.links.up(tap.index);
            progress.report?.(++progress.done, progress.total);
          }),
        );
      } catch (e) {
        await deleteMarkedLinks(ctx, made).catch(() => {});
        throw e;
      }
    },
    async () => {
      await deleteMarkedLinks(ctx, names);
    },
  );
}

/** OVSDB step: every port in one transaction; undo removes them in one transaction. */
export function addPortsStep(
  ctx: BridgesContext,
  bridge: string,
  specs: PortSpec[],
  hooks: PlanHooks = {},
): Step {
  const name = `add ${specs.length} port(s) to ${bridge} (one OVSDB transaction)`;
  if (ctx.ovn && specs.some((s) => s.tag !== undefined)) {
    // OVN mode: a VLAN is a logical switch; the port is bound to a logical port, untagged.
    return ctx.ovn.addPortsStep(name, specs, async (ovsSpecs) => {
      const change = await ctx.vswitch.changes.addPorts(bridge, ovsSpecs);
      await ctx.vswitch.transact(change.operations);
      hooks.onProgress?.(specs.length * 2, specs.length * 2);
      return async () => {
        if (change.inverse.length > 0) await ctx.vswitch.transact(change.inverse);
      };
    });
  }
  return ovsStep(
    ctx,
    name,
    () => ctx.vswitch.changes.addPorts(bridge, specs),
    () => hooks.onProgress?.(specs.length * 2, specs.length * 2),
  );
}

/** The OVN logical ports bound to these OVS ports (none outside OVN mode). */
export function logicalPortsOf(ports: readonly Pick<PortInfo, "externalIds">[]): string[] {
  return ports.map((p) => p.externalIds[LSP_KEY]).filter((n): n is string => n !== undefined);
}

export function portSpecFor(
  ctx: BridgesContext,
  name: string,
  kind: PortKind,
  extra: { vlan?: number | undefined; mac?: string | undefined },
): PortSpec {
  return {
    name,
    ...(extra.vlan !== undefined ? { tag: extra.vlan } : {}),
    externalIds: ctx.portIds(kind, { [MAC_KEY]: extra.mac }),
  };
}

/** Bulk creations above this size are pipelined (see createSteps). */
const PIPELINE_ABOVE = 64;
/** Chunks per pipelined creation: enough for overlap, few enough that each port read stays cheap. */
const PIPELINE_CHUNKS = 8;

/**
 * The plan for creating taps. Small batches: the kernel taps, then one OVSDB transaction. Large
 * ones are pipelined: chunk by chunk, the kernel taps, then their ports committed without waiting,
 * so ovs-vswitchd applies one chunk while the kernel makes the next; a last step waits until
 * ovs-vswitchd has applied everything. Each chunk's steps undo themselves, so a failure anywhere
 * removes every tap and port made so far.
 */
function createSteps(
  ctx: BridgesContext,
  bridge: string,
  names: readonly string[],
  ports: PortSpec[],
  hooks: PlanHooks,
): Step[] {
  // The taps made together share a link group: destroyed together, they go in one request.
  const group = freeLinkGroup();
  if (ctx.ovn || names.length <= PIPELINE_ABOVE)
    return [kernelTapsStep(ctx, names, hooks, undefined, group), addPortsStep(ctx, bridge, ports, hooks)];
  const progress: Progress = { done: 0, total: names.length * 2, report: hooks.onProgress };
  const size = Math.max(32, Math.ceil(names.length / PIPELINE_CHUNKS));
  const steps: Step[] = [];
  for (let at = 0; at < names.length; at += size) {
    const chunk = ports.slice(at, at + size);
    steps.push(
      kernelTapsStep(ctx, names.slice(at, at + size), hooks, progress, group),
      ovsStep(
        ctx,
        `add ${chunk.length} port(s) to ${bridge} (committed, not yet applied)`,
        () => ctx.vswitch.changes.addPorts(bridge, chunk),
        () => {
          progress.done += chunk.length;
          progress.report?.(progress.done, progress.total);
        },
        { wait: false },
      ),
    );
  }
  steps.push(
    step(`wait until ovs-vswitchd has applied ${names.length} port(s)`, async () => {
      await ctx.vswitch.transact([]);
    }),
  );
  return steps;
}

/** Creates taps in bulk; returns their names in the order of `inputs`. */
export async function createTaps(
  ctx: BridgesContext,
  bridge: string,
  inputs: readonly TapSpec[],
  hooks: PlanHooks = {},
): Promise<string[]> {
  const specs = inputs.map((s, i) => parseInput(tapSpec, s, inputs.length === 1 ? "tap" : `taps.${i}`));
  if (specs.length === 0) return [];
  const names = await assignNames(
    ctx,
    specs.map((s) => s.name),
  );
  try {
    const ports = specs.map((s, i) => portSpecFor(ctx, names[i] as string, "tap", s));
    await runPlan(createSteps(ctx, bridge, names, ports, hooks), {
      subject: `create ${names.length} tap(s) on ${bridge}`,
      ...(hooks.beforeStep ? { beforeStep: hooks.beforeStep } : {}),
    });
    return names;
  } finally {
    for (const n of names) ctx.reservedNames.delete(n);
  }
}

/**
 * Deletes the kernel links among `names` whose ifalias is this owner's mark; missing ones are
 * fine. One request when they are exactly one link group (the taps of one createTaps call):
 * the kernel waits for RCU once for all of them. Otherwise they are moved to a fresh group first.
 */
export async function deleteMarkedLinks(ctx: BridgesContext, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const wanted = new Set(names);
  const mine: LinkIdentity[] = [];
  const members = new Map<number, number>();
  const ids = await ctx.rtnl.links.identities();
  for (const l of ids) {
    members.set(l.group, (members.get(l.group) ?? 0) + 1);
    if (!wanted.has(l.name)) continue;
    if (parseOwnerMark(l.alias)?.owner !== ctx.owner) continue;
    mine.push(l);
  }
  const ignoreGone = (e: unknown) => {
    if (!(e instanceof NetlinkError && e.code === "ENODEV")) throw e;
  };
  const group = mine[0]?.group ?? 0;
  if (
    mine.length > 1 &&
    group !== 0 &&
    mine.every((l) => l.group === group) &&
    members.get(group) === mine.length
  ) {
    await ctx.rtnl.links.deleteGroup(group);
  } else if (mine.length === 1) {
    await ctx.rtnl.links.delete((mine[0] as LinkIdentity).index).catch(ignoreGone);
  } else if (mine.length > 1) {
    const fresh = freeLinkGroup(new Set(members.keys()));
    await Promise.all(mine.map((l) => ctx.rtnl.links.set(l.index, { group: fresh }).catch(ignoreGone)));
    await ctx.rtnl.links.deleteGroup(fresh);
  }
  return mine.map((l) => l.name);
}

/**
 * Destroys ports this owner made: one OVSDB transaction removes them all (undone by re-adding
 * them), then one kernel group delete removes the links that carry our mark.
 */
export async function destroyPorts(
  ctx: BridgesContext,
  names: readonly string[],
  hooks: PlanHooks = {},
  options: { bridge?: string; field?: string } = {},
): Promise<string[]> {
  if (names.length === 0) return [];
  const field = options.field ?? "taps";
  for (const [i, n] of names.entries()) parseInput(ifName, n, names.length === 1 ? field : `${field}.${i}`);
  const byName = (await readPortIndex(ctx.client)).ports;
  const ports: PortEntry[] = [];
  for (const name of names) {
    const port = byName.get(name);
    if (!port) throw new VmnetError(`${name}: no such port`);
    if (port.externalIds[OWNER_KEY] !== ctx.owner)
      throw new VmnetError(`${name}: not created by vmnet owner "${ctx.owner}"; left alone`);
    if (options.bridge && port.bridge !== options.bridge)
      throw new VmnetError(`${name}: is on bridge ${port.bridge}, not ${options.bridge}`);
    ports.push(port);
  }
  // Ingress meters keyed by OpenFlow port number go first: a later port must not inherit one.
  for (const p of ports)
    if (p.externalIds[METER_KEY] && p.bridge) await clearIngressMeter(ctx, p.bridge, p.name);
  // The kernel links go after ovs-vswitchd has applied the ports' removal. (Deleting them while
  // it applies was measured slower: 1000 links vanishing under it are more work for it.)
  const steps: Step[] = [
    ovsStep(
      ctx,
      `remove ${ports.length} port(s) (one OVSDB transaction)`,
      () =>
        ctx.vswitch.changes.deletePorts(
          ports.map((p) => p.name),
          { ifExists: true },
        ),
      () => hooks.onProgress?.(ports.length, ports.length * 2),
    ),
    step(`delete the kernel links (one group delete)`, async () => {
      await deleteMarkedLinks(
        ctx,
        ports.map((p) => p.name),
      );
      hooks.onProgress?.(ports.length * 2, ports.length * 2);
    }),
  ];
  const logical = logicalPortsOf(ports);
  if (ctx.ovn && logical.length > 0) {
    const ovn = ctx.ovn;
    // Last, so nothing after it can fail and leave the taps without their logical ports.
    steps.push(
      step(`remove ${logical.length} OVN logical port(s) (one transaction)`, async () => {
        await ovn.northbound.deleteLogicalPorts(logical, { ifExists: true });
      }),
    );
  }
  await runPlan(steps, {
    subject: `destroy ${ports.length} port(s)`,
    ...(hooks.beforeStep ? { beforeStep: hooks.beforeStep } : {}),
  });
  return ports.map((p) => p.name);
}

/** Marks taps defunct (one transaction): they stay until reapTaps removes them all at once. */
export async function markDefunct(ctx: BridgesContext, names: readonly string[]): Promise<void> {
  const ports = (await readPortIndex(ctx.client)).ports;
  const ops = names.map((name) => {
    const port = ports.get(name);
    if (!port) throw new VmnetError(`${name}: no such tap`);
    if (port.externalIds[OWNER_KEY] !== ctx.owner)
      throw new VmnetError(`${name}: not created by vmnet owner "${ctx.owner}"; left alone`);
    return {
      op: "mutate" as const,
      table: "Port",
      where: [["name", "==", name] as ["name", "==", string]],
      mutations: [
        ["external_ids", "insert", ["map", [[DEFUNCT_KEY, "true"]]]] as [string, "insert", unknown],
      ],
    };
  });
  if (ops.length) await ctx.client.transact(ops as Parameters<typeof ctx.client.transact>[0]);
  // The link goes down at once so the VM loses its network now, as minimega's destroy does.
  await Promise.all(
    names.map((n) =>
      ctx.rtnl.links.set(n, { up: false }).catch((e) => {
        if (!(e instanceof NetlinkError && e.code === "ENODEV")) throw e;
      }),
    ),
  );
}

export function linksByName(links: Link[]): Map<string, Link> {
  return new Map(links.map((l) => [l.name, l]));
}

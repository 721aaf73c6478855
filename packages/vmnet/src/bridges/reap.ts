// Reaping leftovers of crashed (or exited) processes of the same owner: OVS ports whose creating
// process is gone (its mark in external_ids, or the kernel link's ifalias), kernel links with such
// a mark that never reached OVS, mirrors whose output port goes with them, and bridges vmnet made
// that are left empty. Objects without our owner's mark are never touched.
import { isMarkOwnerAlive, parseOwnerMark } from "@vmnet/netlink-native";
import type { BridgesContext } from "./context.js";
import { MARK_KEY, OWNER_KEY } from "./keys.js";
import { deleteMarkedLinks } from "./taps.js";

export interface ReapReport {
  ports: string[];
  links: string[];
  mirrors: string[];
  bridges: string[];
}

const dead = (text: string | undefined, owner: string): boolean => {
  const mark = parseOwnerMark(text);
  return mark !== undefined && mark.owner === owner && !isMarkOwnerAlive(mark);
};

export async function reapLeftovers(ctx: BridgesContext): Promise<ReapReport> {
  const [snap, links] = await Promise.all([ctx.vswitch.snapshot(), ctx.rtnl.links.identities()]);
  const aliasOf = new Map(links.map((l) => [l.name, l.alias]));
  const bridgeNames = new Set(snap.bridges.map((b) => b.name));
  const ports = snap.ports.filter(
    (p) =>
      !bridgeNames.has(p.name) &&
      p.externalIds[OWNER_KEY] === ctx.owner &&
      (dead(p.externalIds[MARK_KEY], ctx.owner) || dead(aliasOf.get(p.name), ctx.owner)),
  );
  const portNames = new Set(ports.map((p) => p.name));
  const mirrors = snap.mirrors.filter(
    (m) =>
      m.externalIds[OWNER_KEY] === ctx.owner && m.outputPort !== undefined && portNames.has(m.outputPort),
  );
  for (const m of mirrors) if (m.bridge) await ctx.vswitch.deleteMirror(m.bridge, m.name, { ifExists: true });
  if (ports.length) await ctx.vswitch.deletePorts([...portNames], { ifExists: true });
  const inOvs = new Set(snap.ports.map((p) => p.name));
  const strayLinks = links
    .filter((l) => dead(l.alias, ctx.owner) && (portNames.has(l.name) || !inOvs.has(l.name)))
    .map((l) => l.name);
  const deleted = await deleteMarkedLinks(ctx, strayLinks);
  const bridges: string[] = [];
  for (const b of snap.bridges) {
    if (b.externalIds[OWNER_KEY] !== ctx.owner || !dead(b.externalIds[MARK_KEY], ctx.owner)) continue;
    const left = b.ports.filter((p) => p !== b.name && !portNames.has(p));
    if (left.length > 0) continue;
    await ctx.vswitch.deleteBridge(b.name, { ifExists: true });
    bridges.push(b.name);
  }
  return { ports: [...portNames], links: deleted, mirrors: mirrors.map((m) => m.name), bridges };
}

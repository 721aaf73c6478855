import { closeSync, openSync } from "node:fs";
import { z } from "zod";
import * as C from "../codec/constants.js";
import type { Message } from "../codec/message.js";
import { NetlinkConnection } from "../connection.js";
import { NetlinkError, NetlinkInputError } from "../errors.js";
import { type NetnsRef, netnsPath } from "../netns.js";
import { decodeLinkGroup, decodeLinkIdentity, type LinkIdentity } from "../packet/link-identity.js";
import { decodeLink, type Link, type LinkAttrs } from "../packet/link-message.js";
import * as R from "../packet/requests.js";
import type { LinkStats } from "../packet/stats.js";
import { type PlanOptions, runPlan, StepError } from "../plan/index.js";
import { altName, check, isIfindex, linkRef } from "../validate.js";
import { addLinkDirect, aliasOf, type LinkAddPlan, planLinkAdd } from "./link-plan.js";
import {
  checkLinkAddSpec,
  type LinkAddSpec,
  type LinkChanges,
  linkChanges,
  type MarkSpec,
  markSpec,
  type ParsedLinkAddSpec,
} from "./link-specs.js";
import { findOwned, type OwnedLink, type OwnedQuery } from "./owned-links.js";
import { plainLinkChanges } from "./plain-link-changes.js";

const linkRefList = z.array(linkRef);
/** add()'s default options, shared (not a fresh `{}` per create); never written to. */
const NO_PLAN_OPTIONS: PlanOptions = Object.freeze({});

/**
 * Checks a list of links: a list of ifindexes (what a caller that made the links has) passes
 * without the schema, which would run its union once per element; anything else is the schema's.
 */
function checkLinkRefs(refs: readonly LinkRef[]): void {
  if (Array.isArray(refs)) {
    let i = 0;
    while (i < refs.length && isIfindex(refs[i])) i++;
    if (i === refs.length) return;
  }
  check(linkRefList, refs, "links");
}

const addManyOptions = z.object({ mark: markSpec.optional() }).strict();

/** A link given by name or by ifindex. */
export type LinkRef = string | number;

/** Exactly `{ up: boolean }`: the one change linkChanges accepts without further checks. */
function isUpOnly(input: unknown): input is { up: boolean } {
  if (typeof input !== "object" || input === null || Object.getPrototypeOf(input) !== Object.prototype)
    return false;
  let keys = 0;
  for (const k in input) {
    if (k !== "up" || ++keys > 1) return false;
  }
  return keys === 1 && typeof (input as { up?: unknown }).up === "boolean";
}

/** Opens a netns file for IFLA_NET_NS_FD and closes it after the request, on every path. */
async function withNetnsFd<T>(
  ref: NetnsRef | undefined,
  fn: (fd: number | undefined) => Promise<T>,
): Promise<T> {
  if (ref === undefined) return fn(undefined);
  const fd = openSync(netnsPath(ref), "r");
  try {
    return await fn(fd);
  } finally {
    closeSync(fd);
  }
}

export class Links {
  constructor(readonly conn: NetlinkConnection) {}

  /**
   * Runs `fn` with a Links acting inside `netns` (a socket opened there for the call, closed
   * after): what `netns` in a create spec means.
   */
  private async inNetns<T>(netns: NetnsRef, fn: (links: Links) => Promise<T>): Promise<T> {
    const conn = await NetlinkConnection.open({ netns });
    conn.netlinkSocket.enableStrictCheck();
    try {
      return await fn(new Links(conn));
    } finally {
      await conn.close();
    }
  }

  // Not async: the connection's promise is returned as it is (no second promise per request).
  private send(req: R.Request, op: string, object?: string, extraFlags = 0): Promise<Message[]> {
    return this.conn.request(
      req.type,
      req.flags | extraFlags,
      req.body,
      object === undefined ? { op } : { op, object },
    );
  }

  /** Resolves a name (or altname) to its ifindex; an index is returned as is. */
  async index(ref: LinkRef): Promise<number> {
    if (isIfindex(ref)) return ref;
    check(linkRef, ref, "link");
    if (typeof ref === "number") return ref;
    return (await this.get(ref)).index;
  }

  /** One link by name, altname or index. Rejects with ENODEV when there is none. */
  async get(ref: LinkRef): Promise<Link> {
    await this.conn.admit();
    check(linkRef, ref, "link");
    const msgs = await this.send(R.linkGet(ref), "link get", String(ref));
    const m = msgs.find((x) => x.type === C.RTM_NEWLINK);
    if (!m) throw new NetlinkError(19, { op: "link get", object: String(ref) });
    return decodeLink(m.body);
  }

  /** The link, or undefined when it does not exist. */
  async find(ref: LinkRef): Promise<Link | undefined> {
    try {
      return await this.get(ref);
    } catch (e) {
      if (e instanceof NetlinkError && e.code === "ENODEV") return undefined;
      throw e;
    }
  }

  /** Every link in the namespace, with 64-bit statistics. */
  async list(): Promise<Link[]> {
    const req = R.linkDump(true);
    // Decoded as the answers arrive (a slice per turn): decoding 2000 links after the dump held
    // the event loop for tens of milliseconds.
    return this.conn.dumpDecoded(req.type, req.body, { op: "link list" }, (m) =>
      m.type === C.RTM_NEWLINK ? decodeLink(m.body) : undefined,
    );
  }

  /** 64-bit counters of every link, by name, from one dump. */
  async stats(): Promise<Map<string, LinkStats>> {
    const out = new Map<string, LinkStats>();
    for (const l of await this.list()) if (l.stats) out.set(l.name, l.stats);
    return out;
  }

  /**
   * The plan that creates a link (validated now, nothing sent): for callers that compose link
   * creation with other steps (runPlan). A spec with `netns` is refused here: plan it on an Rtnl
   * opened in that netns.
   */
  planAdd(input: LinkAddSpec): LinkAddPlan {
    const spec = checkLinkAddSpec(input);
    if (spec.netns !== undefined)
      throw new NetlinkInputError("link.netns", "plan it on an Rtnl opened in that netns");
    return planLinkAdd(this, spec);
  }

  /**
   * Creates a link and returns it as the kernel reports it (NLM_F_ECHO). With `alias` or `mark`,
   * the ifalias is set in the same sendmsg() as the create (see link-plan.ts). Everything is
   * validated before anything is sent; a failure after the create deletes the link again. A
   * refusal of the create itself is the kernel's NetlinkError; a later failure is a StepError.
   */
  async add(input: LinkAddSpec, options: PlanOptions = NO_PLAN_OPTIONS): Promise<Link> {
    await this.conn.admit();
    const spec = checkLinkAddSpec(input);
    if (spec.netns !== undefined) {
      const { netns, ...here } = spec;
      return this.inNetns(netns, (links) => links.addParsed(here as ParsedLinkAddSpec, options));
    }
    return this.addParsed(spec, options);
  }

  private addParsed(spec: ParsedLinkAddSpec, options: PlanOptions): Promise<Link> {
    // Without a fault to inject nobody sees the steps: the same work, without building them (and
    // without another async layer: addLinkDirect's promise is returned as it is).
    if (!options.beforeStep) return addLinkDirect(this, spec, options.subject);
    return this.addPlanned(spec, options);
  }

  private async addPlanned(spec: ParsedLinkAddSpec, options: PlanOptions): Promise<Link> {
    const plan = planLinkAdd(this, spec);
    try {
      await runPlan(plan.steps, { subject: `link add "${spec.name}"`, ...options });
    } catch (e) {
      // The create itself was refused and nothing was done: the kernel's own error says it best.
      if (e instanceof StepError && e.index === 0 && e.undone === 0 && !options.beforeStep) throw e.cause;
      throw e;
    }
    return plan.link as Link;
  }

  /**
   * Creates many links, each marked (`options.mark`, or each spec's own alias/mark) in the same
   * sendmsg() as its create; requests are coalesced into few system calls. All or nothing: if any
   * fails, the ones made are deleted (one group request) and the first failure is thrown.
   */
  async addMany(inputs: readonly LinkAddSpec[], options: { mark?: MarkSpec } = {}): Promise<Link[]> {
    const o = check(addManyOptions, options, "options");
    if (!Array.isArray(inputs)) throw new NetlinkInputError("links", "expected array");
    const specs = inputs.map((input, i) => {
      const s = checkLinkAddSpec(input, `links.${i}`);
      if (s.netns !== undefined)
        throw new NetlinkInputError(`links.${i}.netns`, "addMany creates in this handle's netns");
      if (o.mark && s.alias === undefined && s.mark === undefined) s.mark = o.mark;
      return s;
    });
    const results = await Promise.allSettled(
      specs.map(async (s) => {
        await this.conn.admit();
        return this.addParsed(s, {});
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    const made = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    if (failed) {
      if (made.length > 0) await this.deleteMany(made.map((l) => l.index));
      throw failed.reason;
    }
    return made;
  }

  /**
   * Links carrying a vmnet ownership mark in their ifalias, from one dump. Links without an
   * exact mark (foreign aliases, none) are never returned.
   */
  async findOwned(query: OwnedQuery = {}): Promise<OwnedLink[]> {
    return findOwned(await this.identities(), query);
  }

  /**
   * Deletes the links whose mark names a process that is gone (a crashed or exited owner), in
   * one group request; returns what was deleted. Never touches a link without a mark or one
   * whose owner is alive.
   */
  async reapOrphans(query: Omit<OwnedQuery, "deadOnly"> = {}): Promise<OwnedLink[]> {
    const orphans = await this.findOwned({ ...query, deadOnly: true });
    if (orphans.length > 0) await this.deleteMany(orphans.map((l) => l.index));
    return orphans;
  }

  /** Changes a link in one request (iproute2's `ip link set` with several options). */
  async set(ref: LinkRef, input: LinkChanges): Promise<void> {
    await this.conn.admit();
    // The common changes (`{ up }`, an alias and a group, a master) need no schema run; anything
    // else is validated by it.
    const ch: z.output<typeof linkChanges> = isUpOnly(input)
      ? input
      : ((plainLinkChanges(input) as z.output<typeof linkChanges> | undefined) ??
        check(linkChanges, input, "changes"));
    const index = isIfindex(ref) ? ref : await this.index(ref);
    const attrs: LinkAttrs = {};
    if (ch.mtu !== undefined) attrs.mtu = ch.mtu;
    if (ch.mac !== undefined) attrs.mac = ch.mac;
    if (ch.name !== undefined) attrs.name = ch.name;
    if (ch.alias !== undefined) attrs.alias = ch.alias;
    if (ch.txqlen !== undefined) attrs.txqlen = ch.txqlen;
    if (ch.group !== undefined) attrs.group = ch.group;
    if (ch.master !== undefined) attrs.master = ch.master === null ? 0 : await this.index(ch.master);
    const r: R.ResolvedLinkSet = { index, attrs };
    if (ch.up !== undefined) r.up = ch.up;
    if (ch.promisc !== undefined) r.promisc = ch.promisc;
    if (ch.netns === undefined) {
      await this.send(R.linkSet(r), "link set", String(ref));
      return;
    }
    await withNetnsFd(ch.netns, async (fd) => {
      if (fd !== undefined) attrs.netnsFd = fd;
      await this.send(R.linkSet(r), "link set", String(ref));
    });
  }

  /** Gives the link an alternative name (up to 127 bytes); get() and index() accept it. */
  async addAltName(ref: LinkRef, name: string): Promise<void> {
    check(altName, name, "altName");
    await this.send(R.linkAltName(await this.index(ref), name, true), "link altname add", name);
  }

  async deleteAltName(ref: LinkRef, name: string): Promise<void> {
    check(altName, name, "altName");
    await this.send(R.linkAltName(await this.index(ref), name, false), "link altname del", name);
  }

  up(ref: LinkRef): Promise<void> {
    return this.set(ref, { up: true });
  }

  down(ref: LinkRef): Promise<void> {
    return this.set(ref, { up: false });
  }

  /** Moves a link into another network namespace. */
  moveTo(ref: LinkRef, netns: NetnsRef): Promise<void> {
    return this.set(ref, { netns });
  }

  async delete(ref: LinkRef): Promise<void> {
    await this.conn.admit();
    const index = isIfindex(ref) ? ref : await this.index(ref);
    await this.send(R.linkDelete(index), "link del", String(ref));
  }

  /** Deletes the link if it exists; true when something was deleted. */
  async deleteIfExists(ref: LinkRef): Promise<boolean> {
    try {
      await this.delete(ref);
      return true;
    } catch (e) {
      if (e instanceof NetlinkError && e.code === "ENODEV") return false;
      throw e;
    }
  }

  /**
   * Deletes every link of a group in one request: the kernel then waits for RCU once, not once
   * per link (1000 veths: a tenth of a second instead of many seconds).
   */
  async deleteGroup(group: number): Promise<void> {
    if (!Number.isInteger(group) || group <= 0 || group > 0xffffffff) {
      throw new NetlinkInputError("group", "must be 1-4294967295 (group 0 is every link's default)");
    }
    await this.send(R.linkDeleteGroup(group), "link del group", String(group));
  }

  /**
   * Deletes many links fast: tags them with a group nobody uses (requests coalesced into few
   * system calls) and deletes the group in one request. Missing links are ignored.
   */
  async deleteMany(refs: readonly LinkRef[]): Promise<void> {
    checkLinkRefs(refs);
    if (refs.length === 0) return;
    const used = await this.groupsInUse();
    let group = 0x7e000000 + Math.floor(Math.random() * 0xffffff);
    while (used.has(group)) group++;
    // Each tag is admitted by the pacer (a thousand encodes in one turn would hold the event
    // loop). Indexes are tagged from one loop, not an async function per link; names are looked
    // up first, each on its own. Failures are kept, not left in rejected promises while the loop
    // waits for the pacer (unhandled until Promise.all saw them). Missing links are ignored.
    const tagged: Promise<unknown>[] = [];
    let failure: { error: unknown } | undefined;
    const onError = (e: unknown): void => {
      if (!(e instanceof NetlinkError && e.code === "ENODEV")) failure ??= { error: e };
    };
    for (const ref of refs) {
      if (typeof ref !== "number") {
        tagged.push(
          (async () => {
            await this.conn.admit();
            const index = await this.index(ref);
            await this.send(R.linkSet({ index, attrs: { group } }), "link set", ref);
          })().catch(onError),
        );
        continue;
      }
      await this.conn.admit();
      tagged.push(
        this.send(R.linkSet({ index: ref, attrs: { group } }), "link set", String(ref)).catch(onError),
      );
    }
    await Promise.all(tagged);
    if (failure) throw failure.error;
    await this.deleteGroup(group);
  }

  /** Every link group in use, from one dump that reads only each link's identity. */
  private async groupsInUse(): Promise<Set<number>> {
    // Only each link's group is read (no identity object per link of the netns).
    const req = R.linkDump(false);
    const groups = new Set<number>();
    await this.conn.dumpDecoded(req.type, req.body, { op: "link list" }, (m) => {
      if (m.type === C.RTM_NEWLINK) groups.add(decodeLinkGroup(m.body));
      return undefined;
    });
    return groups;
  }

  /** Index, name, altnames, alias and group of every link: one dump without statistics. */
  async identities(): Promise<LinkIdentity[]> {
    const req = R.linkDump(false);
    return this.conn.dumpDecoded(req.type, req.body, { op: "link list" }, (m) =>
      m.type === C.RTM_NEWLINK ? decodeLinkIdentity(m.body) : undefined,
    );
  }

  /**
   * Resolves many links (names, altnames or ifindexes) in one trip to libuv's pool, however many
   * are asked for: the kernel looks each up in its name or index hash (ioctl, as if_nametoindex
   * does), with no message built per link; a link dump builds a kilobyte per link of the netns.
   * Altnames too long for the ioctl (16 bytes or more) are found in one link dump. Indexes are
   * checked to exist too. Rejects with NetlinkError ENODEV naming every link that is not there.
   */
  async resolve(refs: readonly LinkRef[]): Promise<Map<LinkRef, number>> {
    checkLinkRefs(refs);
    const out = new Map<LinkRef, number>();
    if (refs.length === 0) return out;
    const found = await this.conn.linkIndexes(refs, { op: "link resolve" });
    let byName: Map<string, number> | undefined;
    if (found.includes(-1)) {
      byName = new Map();
      for (const l of await this.identities())
        for (const name of [l.name, ...l.altNames]) if (!byName.has(name)) byName.set(name, l.index);
    }
    const missing: string[] = [];
    refs.forEach((ref, i) => {
      const at = found[i] as number;
      const index = at > 0 ? at : at === -1 ? byName?.get(ref as string) : undefined;
      if (index === undefined) missing.push(String(ref));
      else out.set(ref, index);
    });
    if (missing.length > 0) {
      throw new NetlinkError(
        19,
        { op: "link resolve", object: missing.join(", ") },
        `no such link: ${missing.join(", ")}`,
      );
    }
    return out;
  }

  /**
   * Idempotent create: makes the link if it is missing, or brings an existing link of the same
   * kind to the requested mtu/mac/master/alias/mark/up state. A same-named link of another kind
   * is an EEXIST error (never silently reused). With `netns`, looks and acts in that netns.
   */
  async ensure(input: LinkAddSpec): Promise<Link> {
    const spec = checkLinkAddSpec(input);
    if (spec.netns !== undefined) {
      const { netns, ...here } = spec;
      return this.inNetns(netns, (links) => links.ensure(here as LinkAddSpec));
    }
    const existing = await this.find(spec.name);
    if (!existing) return this.addParsed(spec, {});
    if (existing.kind !== spec.kind) {
      throw new NetlinkError(
        17,
        { op: "link ensure", object: spec.name },
        `exists with kind ${existing.kind ?? "none"}, not ${spec.kind}`,
      );
    }
    const changes: LinkChanges = {};
    const alias = spec.alias ?? (spec.mark ? aliasOf(spec) : undefined);
    if (spec.mtu !== undefined && spec.mtu !== existing.mtu) changes.mtu = spec.mtu;
    if (spec.mac !== undefined && spec.mac.toLowerCase() !== existing.mac) changes.mac = spec.mac;
    if (alias !== undefined && alias !== existing.alias) changes.alias = alias;
    if (spec.txqlen !== undefined && spec.txqlen !== existing.txqlen) changes.txqlen = spec.txqlen;
    if (spec.group !== undefined && spec.group !== existing.group) changes.group = spec.group;
    if (spec.master !== undefined) {
      const m = await this.index(spec.master);
      if (m !== existing.master) changes.master = m;
    }
    if (spec.up !== undefined && spec.up !== existing.up) changes.up = spec.up;
    if (Object.keys(changes).length > 0) await this.set(existing.index, changes);
    return this.get(existing.index);
  }
}

// Creating a link as a plan (the shared runPlan vocabulary): each step is one netlink request
// and knows how to undo itself. Validation happens before the plan is built, so bad input never
// leaves anything behind; names (master, parent, underlay) are resolved when the create step
// runs.
//
// Marking: the kernel (6.x) ignores IFLA_IFALIAS in a create request, so the ifalias (an
// ownership mark or a plain alias) is set by a second RTM_NEWLINK, by name, sent in the SAME
// sendmsg() as the create. The kernel runs both before sendmsg() returns: once the call is made,
// a crash of this process cannot leave the link unmarked. Other processes may observe the link
// unmarked between the two messages (microseconds). IFLA_IFALIAS is still put in the create
// request, so a kernel that honours it there marks the link atomically.
import { closeSync, openSync } from "node:fs";
import * as C from "../codec/constants.js";
import type { Message } from "../codec/message.js";
import type { NetlinkConnection } from "../connection.js";
import { NetlinkError } from "../errors.js";
import { type NetnsRef, netnsPath } from "../netns.js";
import { formatOwnerMark, ownerMarkForThisProcess } from "../owner/index.js";
import { linkKind, type ResolveContext } from "../packet/kinds/index.js";
import type { LinkAttrs } from "../packet/link-attrs.js";
import { decodeLink, type Link } from "../packet/link-message.js";
import * as R from "../packet/requests.js";
import { type Step, StepError, step } from "../plan/index.js";
import { asError, type UndoFailure } from "../plan/step-error.js";
import type { ParsedLinkAddSpec } from "./link-specs.js";

/** Fields every kind shares; the rest of a spec belongs to its kind's plugin. */
const COMMON_KEYS = new Set([
  "kind",
  "name",
  "mtu",
  "mac",
  "txqlen",
  "group",
  "alias",
  "mark",
  "master",
  "up",
  "netns",
]);

/** What link creation needs from the handle it runs on. */
export interface LinkPlanHost {
  readonly conn: NetlinkConnection;
  index(ref: string | number): Promise<number>;
  get(ref: string | number): Promise<Link>;
}

/** The steps that create one link, and the link once they ran. */
export interface LinkAddPlan {
  readonly steps: readonly Step[];
  /** The created link as the kernel echoed it (with its alias), after the create step ran. */
  readonly link: Link | undefined;
}

/** The ifalias a spec asks for: its alias, or the ownership mark of this process. */
export function aliasOf(spec: ParsedLinkAddSpec): string | undefined {
  if (spec.alias !== undefined) return spec.alias;
  if (spec.mark) return formatOwnerMark(ownerMarkForThisProcess(spec.mark.owner, spec.mark.role));
  return undefined;
}

/**
 * What a kind's resolve() may ask of the handle during one create: one object with its methods
 * on the prototype (not an object and two closures per create); the netns fds it opened are
 * closed once the request is answered.
 */
class ResolveScope implements ResolveContext {
  private fds: number[] | undefined;
  constructor(private readonly host: LinkPlanHost) {}

  index(ref: string | number): Promise<number> {
    return this.host.index(ref);
  }

  netnsFd(ref: NetnsRef): number {
    const fd = openSync(netnsPath(ref), "r");
    if (this.fds) this.fds.push(fd);
    else this.fds = [fd];
    return fd;
  }

  close(): void {
    if (this.fds) for (const fd of this.fds) closeSync(fd);
  }
}

/** A created link (decoded from the kernel's echo) and the promise of its marking, if any. */
interface Created {
  link: Link;
  /** The ifalias request sent in the same sendmsg() as the create; settles with the kernel's answer. */
  marking: Promise<unknown> | undefined;
}

/**
 * Sends the create request (and the ifalias request glued to it) and returns the link the kernel
 * echoed. A refusal of the create rejects with the kernel's NetlinkError.
 */
async function createLink(
  host: LinkPlanHost,
  spec: ParsedLinkAddSpec,
  kind: NonNullable<ReturnType<typeof linkKind>>,
  alias: string | undefined,
): Promise<Created> {
  const object = spec.name;
  const scope = new ResolveScope(host);
  try {
    let own: Record<string, unknown> | undefined;
    for (const k in spec) {
      if (COMMON_KEYS.has(k)) continue;
      own ??= {};
      own[k] = (spec as Record<string, unknown>)[k];
    }
    own ??= {};
    const resolved = kind.resolve ? await kind.resolve(own as never, scope) : { data: own };
    const attrs: LinkAttrs = { name: spec.name };
    if (spec.mtu !== undefined) attrs.mtu = spec.mtu;
    if (spec.mac !== undefined) attrs.mac = spec.mac;
    if (spec.txqlen !== undefined) attrs.txqlen = spec.txqlen;
    if (spec.group !== undefined) attrs.group = spec.group;
    if (spec.master !== undefined) attrs.master = await host.index(spec.master);
    if (alias !== undefined) attrs.alias = alias;
    if (resolved.parent !== undefined) attrs.parent = resolved.parent;
    const add: R.ResolvedLinkAdd = { kind: spec.kind, attrs, data: resolved.data };
    if (spec.up) add.up = true;
    const req = R.linkAdd(add);
    let created: Promise<Message[]>;
    let marking: Promise<unknown> | undefined;
    if (alias === undefined) {
      created = host.conn.request(req.type, req.flags | C.NLM_F_ECHO, req.body, { op: "link add", object });
    } else {
      const mark = R.linkSet({ index: 0, attrs: { name: spec.name, alias } });
      const both = host.conn.requestTogether([
        { ...req, flags: req.flags | C.NLM_F_ECHO, context: { op: "link add", object } },
        { ...mark, context: { op: "link set alias", object } },
      ]);
      created = both[0] as Promise<Message[]>;
      marking = both[1] as Promise<Message[]>;
      marking.catch(() => undefined); // awaited by the caller; failing with the create is expected
    }
    const echoed = (await created).find(isNewLink);
    // Some kinds (vxlan) come back without an echo: then one look-up by name.
    const link = echoed ? decodeLink(echoed.body) : await host.get(spec.name);
    return { link, marking };
  } finally {
    scope.close();
  }
}

const isNewLink = (m: Message): boolean => m.type === C.RTM_NEWLINK;

/** Deletes a link made by createLink (the undo of the create step). */
async function deleteCreated(host: LinkPlanHost, link: Link, object: string): Promise<void> {
  const del = R.linkDelete(link.index);
  try {
    await host.conn.request(del.type, del.flags, del.body, { op: "link del", object });
  } catch (e) {
    // Gone already (a veth whose peer was deleted takes it along): nothing to undo.
    if (!(e instanceof NetlinkError && e.code === "ENODEV")) throw e;
  }
}

const markStepName = (spec: ParsedLinkAddSpec) => `set ifalias of ${spec.name}`;

/**
 * Creates `spec` without building a plan: what `links.add` does when no fault is injected. Same
 * outcome and errors as running planLinkAdd's steps (a refused create throws the kernel's error;
 * a failed marking deletes the link and throws StepError at step 1), without the step objects
 * and closures a thousand concurrent adds would leave to the garbage collector.
 */
export async function addLinkDirect(
  host: LinkPlanHost,
  spec: ParsedLinkAddSpec,
  /** The StepError's subject; default `link add "<name>"` (made only if it fails). */
  subject?: string,
): Promise<Link> {
  const kind = linkKind(spec.kind);
  if (!kind) throw new Error(`no plugin for link kind ${spec.kind}`); // unreachable: validated
  const alias = aliasOf(spec);
  const { link, marking } = await createLink(host, spec, kind, alias);
  if (marking === undefined) return link;
  try {
    await marking;
  } catch (cause) {
    const undoErrors: UndoFailure[] = [];
    try {
      await deleteCreated(host, link, spec.name);
    } catch (e) {
      undoErrors.push({ step: `create ${spec.kind} ${spec.name}`, error: asError(e) });
    }
    throw new StepError(subject ?? `link add "${spec.name}"`, markStepName(spec), 1, cause, 1, undoErrors);
  }
  link.alias = alias;
  return link;
}

/** Builds (does not run) the plan that creates `spec` through `host`'s connection. */
export function planLinkAdd(host: LinkPlanHost, spec: ParsedLinkAddSpec): LinkAddPlan {
  const kind = linkKind(spec.kind);
  if (!kind) throw new Error(`no plugin for link kind ${spec.kind}`); // unreachable: validated
  const alias = aliasOf(spec);
  let link: Link | undefined;
  let marking: Promise<unknown> | undefined;
  const object = spec.name;

  const create = step(
    `create ${spec.kind} ${spec.name}`,
    async () => {
      const made = await createLink(host, spec, kind, alias);
      link = made.link;
      marking = made.marking;
    },
    async () => {
      if (link) await deleteCreated(host, link, object);
    },
  );
  const steps: Step[] = [create];
  if (alias !== undefined) {
    steps.push(
      step(markStepName(spec), async () => {
        await marking;
        if (link) link = { ...link, alias };
      }),
    );
  }
  return {
    steps,
    get link() {
      return link;
    },
  };
}

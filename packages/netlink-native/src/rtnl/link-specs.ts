// Public input shapes for links, validated with zod before anything is sent. The create spec is
// the settings every link takes plus the kind's own schema, for each kind of the registry.
import { z } from "zod";
import { NetlinkInputError } from "../errors.js";
import { LINK_KIND_REGISTRY, LINK_KINDS, type LinkKind, type LinkKindName } from "../packet/kinds/index.js";
import { check, ifName, linkRef, mac, mtu, netnsRef, u32 } from "../validate.js";
import { plainLinkSpec } from "./plain-link-spec.js";

const alias = z.string().refine((s) => Buffer.byteLength(s) <= 255, "must be at most 255 bytes");
const markToken = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 of [A-Za-z0-9._-]");

/** An ownership mark to write into the link's ifalias: who owns it and what it is for. */
export const markSpec = z.object({ owner: markToken, role: markToken }).strict();
export type MarkSpec = z.input<typeof markSpec>;

/** Settings every link kind accepts at creation. */
const common = {
  name: ifName,
  mtu: mtu.optional(),
  mac: mac.optional(),
  txqlen: u32.optional(),
  group: u32.optional(),
  alias: alias.optional(),
  /**
   * Write `formatOwnerMark({ owner, role, <this process> })` into the ifalias, sent with the
   * request that creates the link (exclusive with alias).
   */
  mark: markSpec.optional(),
  master: linkRef.optional(),
  up: z.boolean().optional(),
  /**
   * Create the link inside this netns. The request then goes through a socket opened there, so
   * every link named in the spec (master, parent, device) is looked up in that netns too.
   */
  netns: netnsRef.optional(),
};

type Common = typeof common;
type SpecSchema<K> =
  K extends LinkKind<infer N, infer S, infer _R, infer _I>
    ? z.ZodObject<Common & { kind: z.ZodLiteral<N> } & S, z.core.$strict>
    : never;
type AnyKind = (typeof LINK_KIND_REGISTRY)[number];

function specSchema(k: AnyKind) {
  const kind = k as LinkKind<string, z.ZodRawShape, unknown, object>;
  const base = z.object({ ...common, kind: z.literal(kind.kind), ...kind.schema }).strict();
  return base.superRefine((s, ctx) => {
    if (s.alias !== undefined && s.mark !== undefined)
      ctx.addIssue({ code: "custom", message: "alias and mark exclude each other", path: ["mark"] });
    const broken = kind.check?.(s as never);
    if (broken) ctx.addIssue({ code: "custom", message: broken[0], path: [broken[1]] });
  });
}

const linkAddSchema = z.discriminatedUnion(
  "kind",
  LINK_KIND_REGISTRY.map(specSchema) as unknown as [SpecSchema<AnyKind>, ...SpecSchema<AnyKind>[]],
);

/** What `links.add` takes: common settings plus the kind's own (see README for each kind). */
export type LinkAddSpec = z.input<SpecSchema<AnyKind>>;
/** A create spec after validation (defaults applied). */
export type ParsedLinkAddSpec = z.output<SpecSchema<AnyKind>>;

/**
 * Validates a create spec; the error names the field (`link.vni: must be 0-16777215`) and an
 * unknown kind lists the kinds there are.
 */
export function checkLinkAddSpec(input: unknown, field = "link"): ParsedLinkAddSpec {
  // A plain veth pair or bridge (most creates) is checked by hand, the same rules without the schema.
  return plainLinkSpec(input) ?? checkLinkAddSpecWithSchema(input, field);
}

/** checkLinkAddSpec without the hand-checked shortcut (the reference the tests compare it to). */
export function checkLinkAddSpecWithSchema(input: unknown, field = "link"): ParsedLinkAddSpec {
  const kind = (input as { kind?: unknown } | null | undefined)?.kind;
  if (typeof input === "object" && input !== null && !LINK_KINDS.includes(kind as LinkKindName)) {
    throw new NetlinkInputError(
      `${field}.kind`,
      `${typeof kind === "string" ? `unknown kind "${kind}"` : "missing"}: must be one of ${LINK_KINDS.map((k) => `"${k}"`).join(", ")}`,
    );
  }
  return check(linkAddSchema as unknown as z.ZodType<ParsedLinkAddSpec>, input, field);
}

export const linkChanges = z
  .object({
    up: z.boolean().optional(),
    mtu: mtu.optional(),
    mac: mac.optional(),
    name: ifName.optional(),
    alias: alias.optional(),
    txqlen: u32.optional(),
    group: u32.optional(),
    promisc: z.boolean().optional(),
    /** A bridge/bond to enslave to, or null to leave the current one. */
    master: linkRef.nullable().optional(),
    /** Move the link into another netns. */
    netns: netnsRef.optional(),
  })
  .strict();
export type LinkChanges = z.input<typeof linkChanges>;

// Input schemas of the OVN northbound operations: checked before anything is sent, so bad input
// is an OvsInputError naming the field and nothing is half-written.
import { z } from "zod";

/** OVN names reach flows and `ovn-nbctl` output: keep them to plain characters, no leading '-'. */
const name = z
  .string()
  .regex(
    /^[A-Za-z0-9_.][A-Za-z0-9_.:-]{0,63}$/,
    "must be 1-64 letters, digits, '_', '.', ':' or '-', not starting with '-'",
  );
const stringMap = z.record(z.string(), z.string());
const mac = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/**
 * One entry of `addresses` / `port_security`: "MAC [IP...]", or one of the keywords OVN knows
 * ("unknown", "dynamic", "router") for addresses.
 */
const addressEntry = z.string().refine((text) => {
  if (["unknown", "dynamic", "router"].includes(text)) return true;
  const [first, ...ips] = text.trim().split(/\s+/);
  if (first === undefined || !(mac.test(first) || first === "dynamic")) return false;
  return ips.every((ip) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(ip));
}, 'must be "MAC [IP...]", "dynamic [IP]", "unknown" or "router"');

export const logicalSwitchSpec = z
  .object({
    name,
    otherConfig: stringMap.optional(),
    externalIds: stringMap.optional(),
    /** Return the existing switch instead of failing when one has this name. */
    mayExist: z.boolean().optional(),
  })
  .strict();
export type LogicalSwitchSpec = z.input<typeof logicalSwitchSpec>;

export const logicalPortSpec = z
  .object({
    name,
    /** "" (a VM or container port, default), "localnet", "router", "localport", ... */
    type: z
      .string()
      .regex(/^[a-z-]{0,32}$/, "must be an OVN port type such as localnet")
      .optional(),
    addresses: z.array(addressEntry).optional(),
    /** Addresses the port may send from ("MAC [IP...]"): anything else is dropped at the port. */
    portSecurity: z.array(addressEntry).optional(),
    options: stringMap.optional(),
    /** VLAN tag for a localnet port's traffic on its physical network. */
    tagRequest: z.number().int().min(0).max(4095).optional(),
    enabled: z.boolean().optional(),
    externalIds: stringMap.optional(),
  })
  .strict();
export type LogicalPortSpec = z.input<typeof logicalPortSpec>;

export const localnetPortSpec = z
  .object({
    name,
    /** The physical network name, mapped to a bridge by each chassis's ovn-bridge-mappings. */
    network: name,
    vlan: z.number().int().min(1).max(4094).optional(),
    externalIds: stringMap.optional(),
  })
  .strict();
export type LocalnetPortSpec = z.input<typeof localnetPortSpec>;

export const aclSpec = z
  .object({
    direction: z.enum(["from-lport", "to-lport"]),
    priority: z.number().int().min(0).max(32767),
    /** An OVN match expression, e.g. `ip4.src == 10.0.0.1 && icmp4`. */
    match: z.string().min(1).max(4096),
    action: z.enum(["allow", "allow-related", "allow-stateless", "drop", "reject", "pass"]),
    name: z.string().max(63).optional(),
    log: z.boolean().optional(),
    externalIds: stringMap.optional(),
  })
  .strict();
export type AclSpec = z.input<typeof aclSpec>;

export const portListSchema = z.array(logicalPortSpec).max(100_000);
export const nameSchema = name;

export const syncOptions = z
  .object({
    /**
     * "sb": ovn-northd has put everything committed so far into the southbound database;
     * "hv" (default): every chassis's ovn-controller has also processed it.
     */
    wait: z.enum(["sb", "hv"]).optional(),
    /** Give up after this long (default 30 s). */
    timeoutMs: z.number().int("must be a whole number of milliseconds").positive().optional(),
  })
  .strict();
export type SyncOptions = z.input<typeof syncOptions>;

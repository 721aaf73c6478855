// The CNI result a pod's network is set up from: the one given (checked against the pod's links),
// or one read from the links (Virtlet's ExtractLinkInfo, for any number of interfaces). Either way
// completed by @vmnet/cni-result's fixResult from what the kernel shows (MACs, missing indexes).
import {
  CniResultError,
  convertResult,
  fixResult,
  type LinkSnapshot,
  parseResult,
  type ResultV1,
  toCurrent,
} from "@vmnet/cni-result";
import { VmnetInputError } from "../errors.js";
import type { LinkInfo } from "./link-info.js";

/** Stands in for the MAC of a link that has none (a TUN, wireguard): removed from the result again. */
const NO_MAC = "00:00:00:00:00:00";

export function snapshotOf(info: LinkInfo, sandbox: string): LinkSnapshot {
  return {
    name: info.name,
    mac: info.mac === "" ? NO_MAC : info.mac,
    mtu: info.mtu,
    addresses: info.addresses.map((a) => a.cidr),
    routes: info.routes.map((r) => ({
      dst: r.dst,
      ...(r.gateway !== undefined && { gw: r.gateway }),
      protocol: r.protocol,
    })),
    sandbox,
  };
}

function inputError(e: unknown, prefix: string): never {
  if (e instanceof CniResultError)
    throw new VmnetInputError(e.path ? `${prefix}.${e.path}` : prefix, e.reason);
  throw e;
}

export interface ResolvedResult {
  result: ResultV1;
  /** The pod links to wire, in result order (each holds at least one IP of the result). */
  wired: LinkInfo[];
}

/**
 * The result to serve and the links it names. `links` are the pod's links (lo excluded) as
 * setup found them. Bad input is a VmnetInputError naming the field; nothing is changed here.
 */
export function resolveResult(
  given: unknown,
  links: readonly LinkInfo[],
  sandbox: string,
  cniVersion: "1.0.0" | "1.1.0",
): ResolvedResult {
  const snapshots = links.map((l) => snapshotOf(l, sandbox));
  let current: ResultV1;
  if (given === undefined) {
    if (!links.some((l) => l.addresses.length > 0))
      throw new VmnetInputError("result", "none given, and no link of the netns has an address to take");
    try {
      current = fixResult({ cniVersion: cniVersion, ips: [] } as ResultV1, snapshots, { cniVersion });
    } catch (e) {
      inputError(e, "result");
    }
  } else {
    let parsed: ReturnType<typeof parseResult>;
    try {
      parsed = parseResult(given);
    } catch (e) {
      inputError(e, "result");
    }
    const asV1 = toCurrent(parsed);
    if (!asV1.ips || asV1.ips.length === 0)
      throw new VmnetInputError("result.ips", "the result has no IP address");
    // Interfaces the result places in a sandbox must exist in this one.
    (asV1.interfaces ?? []).forEach((iface, i) => {
      const holdsIp = asV1.ips?.some((ip) => ip.interface === i);
      if ((iface.sandbox || holdsIp) && !links.some((l) => l.name === iface.name))
        throw new VmnetInputError(
          `result.interfaces[${i}].name`,
          `no link named "${iface.name}" in the netns`,
        );
    });
    try {
      current = fixResult(parsed, snapshots, { cniVersion });
    } catch (e) {
      inputError(e, "result");
    }
  }
  const interfaces = current.interfaces ?? [];
  // A link without a MAC is reported without one (CNI's `mac` is optional).
  for (const iface of interfaces)
    if (iface.mac === NO_MAC && links.some((l) => l.name === iface.name && l.mac === "")) delete iface.mac;
  const wired: LinkInfo[] = [];
  for (const [i, ip] of (current.ips ?? []).entries()) {
    const iface = ip.interface === undefined ? undefined : interfaces[ip.interface];
    const link = iface && links.find((l) => l.name === iface.name);
    if (!link) throw new VmnetInputError(`result.ips[${i}].interface`, "names no link of the netns");
    if (!wired.includes(link)) wired.push(link);
  }
  const out = current.cniVersion === cniVersion ? current : (convertResult(current, cniVersion) as ResultV1);
  return { result: out, wired };
}

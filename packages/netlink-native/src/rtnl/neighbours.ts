import { z } from "zod";
import { familyOf } from "../codec/addresses.js";
import * as C from "../codec/constants.js";
import type { NetlinkConnection } from "../connection.js";
import { NetlinkError } from "../errors.js";
import { decodeNeighbour, encodeNeighDumpBody, type Neighbour, NUD_STATES } from "../packet/neigh-message.js";
import * as R from "../packet/requests.js";
import { check, ip, mac } from "../validate.js";
import type { LinkRef, Links } from "./links.js";

const neighSpec = z
  .object({
    address: ip,
    mac: mac.optional(),
    state: z
      .enum(["incomplete", "reachable", "stale", "delay", "probe", "failed", "noarp", "permanent", "none"])
      .optional(),
  })
  .strict();
export type NeighbourSpec = z.input<typeof neighSpec>;

export class Neighbours {
  constructor(
    private readonly conn: NetlinkConnection,
    private readonly links: Links,
  ) {}

  private async build(link: LinkRef, input: NeighbourSpec) {
    await this.conn.admit();
    const s = check(neighSpec, input, "neighbour");
    return {
      family: familyOf(s.address),
      index: await this.links.index(link),
      address: s.address,
      ...(s.mac !== undefined && { mac: s.mac }),
      state: NUD_STATES[s.state ?? "permanent"],
    };
  }

  async add(link: LinkRef, spec: NeighbourSpec): Promise<void> {
    const r = R.neighAdd(await this.build(link, spec));
    await this.conn.request(r.type, r.flags, r.body, { op: "neigh add", object: spec.address });
  }

  async replace(link: LinkRef, spec: NeighbourSpec): Promise<void> {
    const r = R.neighAdd(await this.build(link, spec), true);
    await this.conn.request(r.type, r.flags, r.body, { op: "neigh replace", object: spec.address });
  }

  async delete(link: LinkRef, address: string): Promise<void> {
    const r = R.neighDelete(await this.build(link, { address }));
    await this.conn.request(r.type, r.flags, r.body, { op: "neigh del", object: address });
  }

  async deleteIfPresent(link: LinkRef, address: string): Promise<boolean> {
    try {
      await this.delete(link, address);
      return true;
    } catch (e) {
      if (e instanceof NetlinkError && e.code === "ENOENT") return false;
      throw e;
    }
  }

  async list(filter: { link?: LinkRef; family?: "inet" | "inet6" } = {}): Promise<Neighbour[]> {
    const family =
      filter.family === "inet" ? C.AF_INET : filter.family === "inet6" ? C.AF_INET6 : C.AF_UNSPEC;
    const index = filter.link === undefined ? 0 : await this.links.index(filter.link);
    // Decoded as the answers arrive (a slice per turn), not all at once after the dump.
    return this.conn.dumpDecoded(C.RTM_GETNEIGH, encodeNeighDumpBody(family), { op: "neigh list" }, (m) => {
      if (m.type !== C.RTM_NEWNEIGH) return undefined;
      const n = decodeNeighbour(m.body);
      return (index === 0 || n.index === index) && (family === C.AF_UNSPEC || n.family === family)
        ? n
        : undefined;
    });
  }
}

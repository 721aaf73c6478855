// Finding the links vmnet made, by the ownership mark in their ifalias. Pure: works on the
// identities of one link dump.
import { isMarkOwnerAlive, type OwnerMark, parseOwnerMark } from "../owner/index.js";
import type { LinkIdentity } from "../packet/link-identity.js";

export interface OwnedQuery {
  /** Only marks with this owner. */
  owner?: string;
  /** Only marks with this role. */
  role?: string;
  /** Only links whose marking process is gone (crashed or exited). */
  deadOnly?: boolean;
}

/** A marked link: its identity, its parsed mark, and whether the process that made it lives. */
export interface OwnedLink {
  index: number;
  name: string;
  mark: OwnerMark;
  alive: boolean;
}

export function findOwned(links: readonly LinkIdentity[], query: OwnedQuery): OwnedLink[] {
  const out: OwnedLink[] = [];
  for (const l of links) {
    const mark = parseOwnerMark(l.alias);
    if (!mark) continue; // no mark, or text that is not exactly one: foreign, never ours
    if (query.owner !== undefined && mark.owner !== query.owner) continue;
    if (query.role !== undefined && mark.role !== query.role) continue;
    const alive = isMarkOwnerAlive(mark);
    if (query.deadOnly && alive) continue;
    out.push({ index: l.index, name: l.name, mark, alive });
  }
  return out;
}

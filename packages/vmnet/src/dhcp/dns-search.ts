// Option 119, the domain search list (RFC 3397): domain names in DNS wire format (RFC 1035
// section 3.1), where a name may end with a pointer to a suffix written earlier in the same
// option, so "a.example.com" and "b.example.com" share one copy of "example.com". Offsets count
// from the start of the option's data, across the instances a long list is split into (RFC 3396).

/** Why a name cannot be encoded (checked up front by the lease schema). */
export function domainNameProblem(name: string): string | undefined {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  if (bare === "") return "must not be empty";
  const labels = bare.split(".");
  if (labels.some((l) => l.length === 0)) return "must not contain an empty label";
  if (labels.some((l) => Buffer.byteLength(l) > 63)) return "labels must be at most 63 bytes";
  if (!labels.every((l) => /^[A-Za-z0-9_-]+$/.test(l)))
    return "labels may hold only letters, digits, '-' and '_'";
  // Wire length: one length byte per label, the labels, and the root's zero byte.
  if (labels.reduce((n, l) => n + 1 + l.length, 1) > 255) return "must be at most 255 bytes in wire format";
  return undefined;
}

/** Encodes the names, compressing every suffix already written. */
export function encodeDomainSearch(names: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  const written = new Map<string, number>();
  let offset = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    offset += b.length;
  };
  for (const name of names) {
    const labels = (name.endsWith(".") ? name.slice(0, -1) : name).split(".");
    let ended = false;
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join(".").toLowerCase();
      const at = written.get(suffix);
      if (at !== undefined) {
        push(Buffer.from([0xc0 | (at >> 8), at & 0xff]));
        ended = true;
        break;
      }
      // A pointer has 14 bits; suffixes beyond that offset are written but cannot be pointed to.
      if (offset < 0x3fff) written.set(suffix, offset);
      const label = Buffer.from(labels[i] as string);
      push(Buffer.concat([Buffer.from([label.length]), label]));
    }
    if (!ended) push(Buffer.from([0]));
  }
  return Buffer.concat(parts);
}

/**
 * Decodes a search list (what a client does with option 119). Pointers must point backwards, so a
 * hostile list cannot loop; returns undefined for anything malformed.
 */
export function decodeDomainSearch(data: Uint8Array): string[] | undefined {
  const names: string[] = [];
  let at = 0;
  while (at < data.length) {
    const labels: string[] = [];
    let cursor = at;
    let next: number | undefined;
    let length = 0;
    for (;;) {
      const len = data[cursor];
      if (len === undefined) return undefined;
      if (len === 0) {
        next ??= cursor + 1;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        const low = data[cursor + 1];
        if (low === undefined) return undefined;
        const target = ((len & 0x3f) << 8) | low;
        if (target >= cursor) return undefined;
        next ??= cursor + 2;
        cursor = target;
        continue;
      }
      if ((len & 0xc0) !== 0 || cursor + 1 + len > data.length) return undefined;
      length += len + 1;
      if (length > 254) return undefined;
      labels.push(Buffer.from(data.subarray(cursor + 1, cursor + 1 + len)).toString("latin1"));
      cursor += 1 + len;
    }
    if (labels.length === 0) return undefined;
    names.push(labels.join("."));
    at = next;
  }
  return names;
}

// The symbol versions a shared object needs from the libraries it links (ELF .gnu.version_r,
// what `objdump -T` shows in parentheses and `readelf -V` under "Version needs"), read straight
// from the file so it works for every architecture without a cross binutils. A prebuilt addon
// loads only where every one of them exists: one `GLIBC_2.34` is enough to fail on Debian 11
// ("version `GLIBC_2.34' not found"), whatever the rest needs.

const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;

/** @param {Buffer} elf */
function sections(elf) {
  if (elf.readUInt32BE(0) !== 0x7f454c46) throw new Error("not an ELF file");
  if (elf[4] !== 2 || elf[5] !== 1) throw new Error("only 64-bit little-endian ELF files are read");
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  return Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return {
      type: elf.readUInt32LE(at + 4),
      offset: Number(elf.readBigUInt64LE(at + 24)),
      size: Number(elf.readBigUInt64LE(at + 32)),
      link: elf.readUInt32LE(at + 40),
      info: elf.readUInt32LE(at + 44),
    };
  });
}

/** @param {Buffer} elf @param {number} at */
function cString(elf, at) {
  return elf.toString("latin1", at, elf.indexOf(0, at));
}

/**
 * Every version needed, with the library it is needed from, the symbols that need it, and
 * where its name and hash sit in the file (for tests that make a binary need something else).
 * @param {Buffer} elf
 * @returns {{ file: string, version: string, symbols: string[], nameAt: number, hashAt: number }[]}
 */
export function neededVersions(elf) {
  const all = sections(elf);
  const verneed = all.find((s) => s.type === SHT_GNU_VERNEED);
  if (!verneed) return [];
  const strings = all[verneed.link]?.offset ?? 0;
  /** @type {Map<number, { file: string, version: string, symbols: string[], nameAt: number, hashAt: number }>} */
  const byIndex = new Map();
  let need = verneed.offset;
  for (let n = 0; n < verneed.info; n++) {
    const count = elf.readUInt16LE(need + 2);
    const file = cString(elf, strings + elf.readUInt32LE(need + 4));
    let aux = need + elf.readUInt32LE(need + 8);
    for (let a = 0; a < count; a++) {
      const nameAt = strings + elf.readUInt32LE(aux + 8);
      byIndex.set(elf.readUInt16LE(aux + 6), {
        file,
        version: cString(elf, nameAt),
        symbols: [],
        nameAt,
        hashAt: aux,
      });
      aux += elf.readUInt32LE(aux + 12);
    }
    need += elf.readUInt32LE(need + 12);
  }
  const dynsym = all.find((s) => s.type === SHT_DYNSYM);
  const versym = all.find((s) => s.type === SHT_GNU_VERSYM);
  if (dynsym && versym) {
    const names = all[dynsym.link]?.offset ?? 0;
    for (let i = 0; i < dynsym.size / 24; i++) {
      const entry = byIndex.get(elf.readUInt16LE(versym.offset + i * 2) & 0x7fff);
      const sym = dynsym.offset + i * 24;
      // Only undefined symbols (section index 0) are needed from elsewhere.
      if (entry && elf.readUInt16LE(sym + 6) === 0) {
        entry.symbols.push(cString(elf, names + elf.readUInt32LE(sym)));
      }
    }
  }
  return [...byIndex.values()];
}

/** "GLIBC_2.34" -> ["GLIBC", [2, 34]]; undefined for names without a numeric part. */
export function splitVersion(name) {
  const m = /^([A-Z]+)_(\d+(?:\.\d+)*)$/.exec(name);
  return m ? [m[1], m[2].split(".").map(Number)] : undefined;
}

/** Compares dotted numbers: negative, zero or positive. */
export function compareNumbers(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The needed versions newer than a floor such as { GLIBC: "2.31", GLIBCXX: "3.4.28" } (families
 * the floor does not name are not judged), each as "GLIBC_2.34 (dlopen, dlsym) from libc.so.6".
 * @param {ReturnType<typeof neededVersions>} needed
 * @param {Record<string, string>} floor
 */
export function newerThan(needed, floor) {
  return needed
    .filter((n) => {
      const split = splitVersion(n.version);
      const limit = split && floor[split[0]];
      return limit !== undefined && compareNumbers(split[1], limit.split(".").map(Number)) > 0;
    })
    .map((n) => `${n.version} (${n.symbols.join(", ") || "no symbol"}) from ${n.file}`);
}

/** The newest version needed of a family ("GLIBC"), as dotted numbers text, or undefined. */
export function newestNeeded(needed, family) {
  let best;
  for (const n of needed) {
    const split = splitVersion(n.version);
    if (split?.[0] === family && (!best || compareNumbers(split[1], best) > 0)) best = split[1];
  }
  return best?.join(".");
}

/** The SysV ELF hash the dynamic linker compares before a version's name (vna_hash). */
export function elfHash(name) {
  let h = 0;
  for (const c of Buffer.from(name, "latin1")) {
    h = ((h << 4) + c) >>> 0;
    const g = h & 0xf0000000;
    if (g) h ^= g >>> 24;
    h &= ~g >>> 0;
  }
  return h >>> 0;
}

/**
 * A copy of `elf` that needs `to` where it needed `from` (same length), hash included: what a
 * binary built against a newer library looks like to an older dynamic linker.
 * @param {Buffer} elf @param {string} from @param {string} to
 */
export function withNeededVersion(elf, from, to) {
  if (from.length !== to.length) throw new Error(`${from} and ${to} differ in length`);
  const copy = Buffer.from(elf);
  const entry = neededVersions(copy).find((n) => n.version === from);
  if (!entry) throw new Error(`the binary does not need ${from}`);
  copy.write(to, entry.nameAt, "latin1");
  copy.writeUInt32LE(elfHash(to), entry.hashAt);
  return copy;
}

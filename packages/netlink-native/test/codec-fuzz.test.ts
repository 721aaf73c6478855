// The decoders take bytes from the kernel (and, through the public codec, from anyone): random and
// mutated input must either decode or fail with NetlinkDecodeError, never anything else.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { bytesToIp, ipToBytes } from "../src/codec/addresses.js";
import {
  AttrWriter,
  NetlinkDecodeError,
  parseAttrs,
  parseErrorMessage,
  parseMessages,
  read,
} from "../src/codec/index.js";
import { decodeEvent } from "../src/rtnl/events.js";

const real = (
  JSON.parse(readFileSync(new URL("./fixtures/iproute2-requests.json", import.meta.url), "utf8")) as {
    messages: string[];
  }[]
)
  .flatMap((f) => f.messages)
  .map((h) => Buffer.from(h, "hex"));
// Replies the kernel sends look like requests for decoding purposes (same headers, same attrs).
const asReplies = real.map((b) => {
  const c = Buffer.from(b);
  const t = c.readUInt16LE(4);
  if (t === 17 || t === 21 || t === 25 || t === 29) c.writeUInt16LE(t - 1, 4);
  return c;
});

function decodeAll(buf: Buffer): void {
  for (const m of parseMessages(buf)) {
    if (m.type === 2) parseErrorMessage(m);
    else decodeEvent(m);
  }
}

function onlyDecodeErrors(buf: Buffer): void {
  try {
    decodeAll(buf);
  } catch (e) {
    if (!(e instanceof NetlinkDecodeError))
      throw new Error(`non-decode error ${String(e)} for ${buf.toString("hex")}`);
  }
}

describe("decoder fuzzing", () => {
  test("real messages decode", () => {
    for (const b of asReplies) expect(() => decodeAll(b)).not.toThrow();
  });

  test("random bytes: decode or NetlinkDecodeError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (a) => {
        onlyDecodeErrors(Buffer.from(a));
      }),
      { numRuns: 5000 },
    );
  });

  test("mutated real messages: decode or NetlinkDecodeError", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...asReplies),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        (msg, flips, cut) => {
          const b = Buffer.from(msg);
          for (const [pos, val] of flips) b[pos % b.length] = val;
          onlyDecodeErrors(cut === undefined ? b : b.subarray(0, cut % (b.length + 1)));
        },
      ),
      { numRuns: 10000 },
    );
  });

  test("attributes round-trip and unknown types are kept", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 0x3fff }), fc.uint8Array({ maxLength: 40 }))),
        (attrs) => {
          const w = new AttrWriter();
          for (const [t, d] of attrs) w.attr(t, d);
          const back = parseAttrs(w.finish());
          expect(back.map((a) => [a.type, Buffer.from(a.data).toString("hex")])).toEqual(
            attrs.map(([t, d]) => [t, Buffer.from(d).toString("hex")]),
          );
        },
      ),
    );
  });

  test("typed writers stay correct while the buffer grows (values are written in place)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.tuple(fc.constant("u8"), fc.nat(255)),
            fc.tuple(fc.constant("u32"), fc.nat()),
            fc.tuple(fc.constant("s"), fc.string({ maxLength: 30 })),
          ),
          { maxLength: 80 },
        ),
        (items) => {
          const w = new AttrWriter(4);
          items.forEach(([kind, v], i) => {
            if (kind === "u8") w.u8(i + 1, v as number);
            else if (kind === "u32") w.u32(i + 1, v as number);
            else w.string(i + 1, v as string);
          });
          const back = parseAttrs(w.finish());
          expect(back).toHaveLength(items.length);
          back.forEach((a, i) => {
            const [kind, v] = items[i] as [string, number | string];
            expect(a.type).toBe(i + 1);
            if (kind === "u8") expect(read.u8(a)).toBe(v);
            else if (kind === "u32") expect(read.u32(a)).toBe(v);
            else expect(read.string(a)).toBe(v);
          });
        },
      ),
    );
  });

  test("IPv6 formatting round-trips and matches RFC 5952", () => {
    expect(bytesToIp(ipToBytes("2001:db8:0:0:1:0:0:1"))).toBe("2001:db8::1:0:0:1");
    // iproute2 (glibc inet_ntop) prints IPv4-mapped and IPv4-compatible tails in dotted form.
    expect(bytesToIp(ipToBytes("::ffff:10.0.0.1"))).toBe("::ffff:10.0.0.1");
    expect(bytesToIp(ipToBytes("::10.0.0.1"))).toBe("::10.0.0.1");
    expect(bytesToIp(ipToBytes("::1"))).toBe("::1");
    expect(bytesToIp(ipToBytes("::ffff:0:1"))).toBe("::ffff:0.0.0.1");
    expect(bytesToIp(ipToBytes("1::ffff:10.0.0.1"))).toBe("1::ffff:a00:1");
    expect(bytesToIp(ipToBytes("::"))).toBe("::");
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (a) => {
        const b = Buffer.from(a);
        expect(ipToBytes(bytesToIp(b)).equals(b)).toBe(true);
      }),
    );
  });
});

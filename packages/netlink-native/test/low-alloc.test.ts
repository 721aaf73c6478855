// The allocation-saving paths must not change what callers see: a link's `unknown` attributes,
// made only when read, are the same list an eager decode gives and behave as a plain property;
// reused work buffers never leak bytes from one request into the next.
import { describe, expect, test } from "vitest";
import * as C from "../src/codec/constants.js";
import { AttrWriter, parseAttrs } from "../src/codec/index.js";
import { decodeLink, encodeLinkBody } from "../src/packet/link-message.js";

/** An RTM_NEWLINK body with decoded attributes and two this codec keeps as `unknown`. */
function linkBody(): Buffer {
  const w = new AttrWriter();
  w.fixed(16, (b, at) => {
    b.writeInt32LE(7, at + 4);
    b.writeUInt32LE(C.IFF_UP, at + 8);
  });
  w.string(C.IFLA_IFNAME, "eth7");
  w.u32(C.IFLA_MTU, 1400);
  w.u32(C.IFLA_NUM_TX_QUEUES, 4); // not decoded: kept
  w.attr(C.IFLA_ADDRESS, Buffer.from([2, 0, 0, 0, 0, 7]));
  w.nested(C.IFLA_AF_SPEC, () => w.u32(1, 9)); // not decoded: kept
  return w.finish();
}

describe("low-allocation paths", () => {
  test("a decoded link's unknown attributes equal an eager parse, and act as an own property", () => {
    const body = linkBody();
    const eager = parseAttrs(body.subarray(16)).filter(
      (a) => a.type === C.IFLA_NUM_TX_QUEUES || a.type === C.IFLA_AF_SPEC,
    );
    const link = decodeLink(body);
    expect(link).toMatchObject({ index: 7, name: "eth7", mtu: 1400, mac: "02:00:00:00:00:07", up: true });
    expect(Object.keys(link)).toContain("unknown");
    // Spread and JSON see the list (the getter runs), and it is the eager parse's.
    const spread = { ...decodeLink(body) };
    expect(spread.unknown.map((a) => [a.type, a.data.toString("hex")])).toEqual(
      eager.map((a) => [a.type, a.data.toString("hex")]),
    );
    expect(JSON.parse(JSON.stringify(decodeLink(body))).unknown).toHaveLength(2);
    expect(link.unknown.map((a) => a.type)).toEqual([C.IFLA_NUM_TX_QUEUES, C.IFLA_AF_SPEC]);
    expect(link.unknown).toBe(link.unknown); // made once
    // Writable like any property; no hidden field shows.
    link.unknown = [];
    expect(link.unknown).toEqual([]);
    expect(Object.keys(link).filter((k) => !/^[a-zA-Z]+$/.test(k))).toEqual([]);
    // A link with nothing unknown has a plain empty list.
    const plain = new AttrWriter();
    plain.fixed(16, (b, at) => b.writeInt32LE(3, at + 4));
    plain.string(C.IFLA_IFNAME, "x");
    expect(decodeLink(plain.finish()).unknown).toEqual([]);
  });

  test("work buffers are reused without carrying bytes over, and finish() results stay intact", () => {
    const first = new AttrWriter();
    first.string(C.IFLA_IFNAME, "a-long-interface-name-that-fills-bytes");
    first.u64(C.IFLA_STATS64, 0xffffffffffffn);
    const a = first.finish();
    const aCopy = Buffer.from(a);
    // The next writer gets the same work buffer: every reserved byte must start zeroed.
    const second = new AttrWriter();
    second.fixed(16, () => undefined);
    second.attr(C.IFLA_ADDRESS, Buffer.from([1, 2, 3])); // 3 bytes + 1 padding byte
    const b = second.finish();
    expect(b.subarray(0, 16).every((x) => x === 0)).toBe(true);
    expect(b.subarray(16)).toEqual(Buffer.from([7, 0, C.IFLA_ADDRESS, 0, 1, 2, 3, 0]));
    expect(a).toEqual(aCopy); // the first result is its own copy
    // Writing after finish() continues from what finish() returned.
    first.u32(C.IFLA_MTU, 9000);
    const more = first.finish();
    expect(more.subarray(0, a.length)).toEqual(aCopy);
    expect(more.length).toBe(a.length + 8);
    // Nested writers (a link's IFLA_INFO_DATA) use their own buffers: same bytes as before.
    const body = encodeLinkBody({
      header: {},
      attrs: { name: "v0" },
      info: { kind: "vxlan", data: (w) => w.u32(1, 42) },
    });
    const empty = encodeLinkBody({
      header: {},
      attrs: { name: "v0" },
      info: { kind: "bridge", data: () => undefined },
    });
    const info = parseAttrs(body.subarray(16)).find((x) => x.type === C.IFLA_LINKINFO);
    const infoEmpty = parseAttrs(empty.subarray(16)).find((x) => x.type === C.IFLA_LINKINFO);
    expect(parseAttrs(info?.data ?? Buffer.alloc(0)).map((x) => x.type)).toEqual([
      C.IFLA_INFO_KIND,
      C.IFLA_INFO_DATA,
    ]);
    expect(parseAttrs(infoEmpty?.data ?? Buffer.alloc(0)).map((x) => x.type)).toEqual([C.IFLA_INFO_KIND]);
  });
});

// Pure parts, no switch needed: stream framing, NetFlow v5 decoding, ofctl/appctl output parsing,
// input validation, program lookup.
import { describe, expect, test } from "vitest";
import { parseInput } from "../src/errors.js";
import {
  findProgram,
  JsonStreamError,
  MissingProgramError,
  NetflowParseError,
  OvsInputError,
  parseDumpFlows,
  parseFdbShow,
  parseNetflowV5,
} from "../src/index.js";
import { parseEndpoint } from "../src/jsonrpc/connection.js";
import { JsonStreamParser } from "../src/jsonrpc/stream-parser.js";
import { portSpec } from "../src/vswitch/inputs.js";

describe("JsonStreamParser", () => {
  const messages = [
    { id: 1, result: [{ uuid: ["uuid", "x"] }], error: null },
    { method: "update", params: ["m", { T: { u: { new: { s: 'brace } in "string" \\ ok' } } } }], id: null },
    [1, 2, { a: "é日本" }],
    { id: 2, result: "emoji 😀 { [", error: null },
  ];
  const wire = Buffer.from(messages.map((m) => JSON.stringify(m)).join(" \n"));

  test("splits back-to-back values at every possible chunk boundary", () => {
    for (let cut = 0; cut <= wire.length; cut++) {
      const parser = new JsonStreamParser();
      const got = [...parser.push(wire.subarray(0, cut)), ...parser.push(wire.subarray(cut))];
      expect(got).toEqual(messages);
      expect(parser.hasPartial).toBe(false);
    }
  });

  test("byte by byte (multi-byte UTF-8 split across chunks)", () => {
    const parser = new JsonStreamParser();
    const got: unknown[] = [];
    for (const byte of wire) got.push(...parser.push(Buffer.from([byte])));
    expect(got).toEqual(messages);
  });

  test("garbage between values is a protocol error", () => {
    expect(() => new JsonStreamParser().push(Buffer.from('{"a":1} 42'))).toThrow(JsonStreamError);
    expect(() => new JsonStreamParser().push(Buffer.from('{"a":1,}'))).toThrow(/malformed JSON/);
  });

  test("a value larger than the limit is refused", () => {
    const parser = new JsonStreamParser(16);
    expect(() => parser.push(Buffer.from('{"a":"0123456789012345678'))).toThrow(/exceeds 16 bytes/);
  });
});

describe("endpoints", () => {
  test("unix, tcp and bare paths", () => {
    expect(parseEndpoint("unix:/run/db.sock")).toEqual({ path: "/run/db.sock" });
    expect(parseEndpoint("/run/db.sock")).toEqual({ path: "/run/db.sock" });
    expect(parseEndpoint("tcp:127.0.0.1:6640")).toEqual({ host: "127.0.0.1", port: 6640 });
    expect(parseEndpoint("tcp:[::1]:6640")).toEqual({ host: "::1", port: 6640 });
    expect(() => parseEndpoint("tcp:host")).toThrow(/tcp:HOST:PORT/);
    expect(() => parseEndpoint("ssl:x:1")).toThrow(/neither/);
  });
});

function netflowPacket(records: number[][]): Buffer {
  const buf = Buffer.alloc(24 + 48 * records.length);
  buf.writeUInt16BE(5, 0);
  buf.writeUInt16BE(records.length, 2);
  buf.writeUInt32BE(123456, 4);
  buf.writeUInt32BE(1_700_000_000, 8);
  buf.writeUInt32BE(42, 16);
  buf.writeUInt8(7, 20);
  buf.writeUInt8(9, 21);
  records.forEach(([src, dst, pkts, bytes, sport, dport, proto], i) => {
    const o = 24 + i * 48;
    buf.writeUInt32BE(src as number, o);
    buf.writeUInt32BE(dst as number, o + 4);
    buf.writeUInt16BE(3, o + 12);
    buf.writeUInt16BE(4, o + 14);
    buf.writeUInt32BE(pkts as number, o + 16);
    buf.writeUInt32BE(bytes as number, o + 20);
    buf.writeUInt16BE(sport as number, o + 32);
    buf.writeUInt16BE(dport as number, o + 34);
    buf.writeUInt8(proto as number, o + 38);
  });
  return buf;
}

describe("NetFlow v5", () => {
  test("header and records", () => {
    const packet = parseNetflowV5(
      netflowPacket([
        [0x0a000001, 0x0a000002, 5, 420, 1234, 80, 6],
        [0xc0a80001, 0xffffffff, 1, 60, 0, 0, 17],
      ]),
    );
    expect(packet.header).toMatchObject({
      version: 5,
      count: 2,
      sysUptimeMs: 123456,
      unixSeconds: 1_700_000_000,
      flowSequence: 42,
      engineType: 7,
      engineId: 9,
    });
    expect(packet.records[0]).toMatchObject({
      srcAddr: "10.0.0.1",
      dstAddr: "10.0.0.2",
      packets: 5,
      bytes: 420,
      srcPort: 1234,
      dstPort: 80,
      protocol: 6,
      inputInterface: 3,
      outputInterface: 4,
    });
    expect(packet.records[1]).toMatchObject({
      srcAddr: "192.168.0.1",
      dstAddr: "255.255.255.255",
      protocol: 17,
    });
  });

  test("wrong version, short header and count/length mismatch are refused", () => {
    const good = netflowPacket([[1, 2, 3, 4, 5, 6, 17]]);
    const v9 = Buffer.from(good);
    v9.writeUInt16BE(9, 0);
    expect(() => parseNetflowV5(v9)).toThrow(/version 9/);
    expect(() => parseNetflowV5(good.subarray(0, 10))).toThrow(NetflowParseError);
    expect(() => parseNetflowV5(good.subarray(0, 60))).toThrow(/announces 1 records/);
  });
});

describe("ovs-ofctl and ovs-appctl output", () => {
  test("dump-flows", () => {
    const text = `NXST_FLOW reply (xid=0x4):
 cookie=0x0, duration=12.345s, table=0, n_packets=7, n_bytes=686, idle_age=2, priority=100,arp,in_port=1 actions=NORMAL
 cookie=0x1f, duration=1.5s, table=3, n_packets=0, n_bytes=0, priority=0 actions=drop
`;
    const flows = parseDumpFlows(text);
    expect(flows).toHaveLength(2);
    expect(flows[0]).toMatchObject({
      cookie: "0x0",
      durationSeconds: 12.345,
      table: 0,
      packets: 7,
      bytes: 686,
      priority: 100,
      match: "arp,in_port=1",
      actions: "NORMAL",
    });
    expect(flows[0]?.fields.idle_age).toBe("2");
    expect(flows[1]).toMatchObject({ cookie: "0x1f", table: 3, priority: 0, match: "", actions: "drop" });
  });

  test("fdb/show", () => {
    const text = ` port  VLAN  MAC                Age
    1    10  0a:00:00:00:00:01    3
LOCAL     0  AA:BB:CC:DD:EE:FF    0
`;
    expect(parseFdbShow(text)).toEqual([
      { port: "1", vlan: 10, mac: "0a:00:00:00:00:01", ageSeconds: 3 },
      { port: "LOCAL", vlan: 0, mac: "aa:bb:cc:dd:ee:ff", ageSeconds: 0 },
    ]);
  });
});

describe("input validation", () => {
  const bad = (input: unknown) => {
    try {
      parseInput(portSpec, input, "port");
    } catch (error) {
      expect(error).toBeInstanceOf(OvsInputError);
      return error as OvsInputError;
    }
    throw new Error("accepted bad input");
  };

  test("one sentence naming the field", () => {
    expect(bad({ name: "p", tag: 4095 }).message).toBe(
      "port.tag is invalid: must be a VLAN id from 1 to 4094",
    );
    expect(bad({ name: "p", tag: 0 }).field).toBe("port.tag");
    expect(bad({ name: "p", trunks: [10, 5000] }).field).toBe("port.trunks.1");
    expect(bad({ name: "a-very-long-port-name" }).message).toMatch(
      /port.name is invalid: must be at most 15 bytes/,
    );
    expect(bad({ name: "a/b" }).field).toBe("port.name");
    expect(bad({ name: "vx", type: "vxlan" }).message).toBe(
      "port.options.remote_ip is invalid: is required for a vxlan tunnel",
    );
    expect(bad({ name: "p", colour: "red" }).field).toBe("port");
    expect(bad({ name: "p", vlanMode: "sideways" }).field).toBe("port.vlanMode");
  });
});

test("a missing program names its Debian package", () => {
  expect(() => findProgram("ovsdb-server", "/nonexistent", [])).toThrow(MissingProgramError);
  expect(() => findProgram("ovsdb-server", "/nonexistent", [])).toThrow(
    "ovsdb-server is not installed: apt-get install openvswitch-common",
  );
  expect(() => findProgram("ovs-vswitchd", "/nonexistent", [])).toThrow(/openvswitch-switch/);
  expect(findProgram("ovsdb-tool")).toMatch(/ovsdb-tool$/);
});

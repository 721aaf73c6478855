// Input checks and the package's public face: typed (field, reason) errors instead of raw zod
// errors or plain Errors, NetFlow targets and collector ports that cannot be committed or bound
// somewhere else, names that would reach OVS tools as options, the collector surviving a socket
// error, the marker rules of orphan reaping, and the export list.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseInput } from "../src/errors.js";
import * as ovs from "../src/index.js";
import {
  NetflowCollector,
  NetflowCollectorError,
  NetflowParseError,
  Ofctl,
  OvsdbClient,
  OvsError,
  OvsInputError,
  OvsSandbox,
  OvsTimeoutError,
  Vswitch,
} from "../src/index.js";
import { JsonStreamError } from "../src/jsonrpc/stream-parser.js";
import { MARKER_FILE, pidnsInode } from "../src/sandbox/marker.js";
import { processStartTicks } from "../src/sandbox/processes.js";
import { netflowSpec } from "../src/vswitch/inputs.js";

const srcDir = new URL("../src/", import.meta.url).pathname;

describe("NetFlow targets and collector options", () => {
  test.each([
    ["127.0.0.1:99999", "targets.0"],
    ["999.1.1.1:2055", "targets.0"],
    ["10.0.0.1:0", "targets.0"],
    ["[zz::1]:2055", "targets.0"],
    ["host.example:2055", "targets.0"],
  ])("target %s is refused, naming the field", (target, field) => {
    const error = (() => {
      try {
        parseInput(netflowSpec, { targets: [target] }, "netflow");
      } catch (e) {
        return e;
      }
    })() as OvsInputError;
    expect(error).toBeInstanceOf(OvsInputError);
    expect(error.field).toBe(`netflow.${field}`);
    expect(error.reason).toMatch(/IP:PORT.*1 to 65535/);
  });

  test("valid targets pass", () => {
    expect(
      parseInput(netflowSpec, { targets: ["127.0.0.1:2055", "[::1]:9996"] }, "netflow").targets,
    ).toHaveLength(2);
  });

  test.each([-1, 70000, 1.5])("collector port %s is refused before anything is bound", async (port) => {
    const error = (await NetflowCollector.start({ port }).catch((e: unknown) => e)) as OvsInputError;
    expect(error).toBeInstanceOf(OvsInputError);
    expect(error.field).toBe("collector.port");
    expect(error.message).not.toContain("\n");
  });

  test("collector host must be an address", async () => {
    await expect(NetflowCollector.start({ host: "localhost" })).rejects.toThrow(
      "collector.host is invalid: must be an IPv4 or IPv6 address",
    );
  });

  test("a socket error stops the collector with a typed error instead of crashing the process", async () => {
    const collector = await NetflowCollector.start();
    const waiting = collector.waitFor(() => false, 5000).catch((e: unknown) => e);
    const closed = new Promise((resolve) => collector.once("close", resolve));
    // Node reports asynchronous socket failures as an "error" event on the socket; without a
    // listener it is thrown from the event loop. Deliver one as the kernel path would.
    (collector as unknown as { socket: import("node:dgram").Socket }).socket.emit(
      "error",
      Object.assign(new Error("recvmsg ENOBUFS"), { code: "ENOBUFS" }),
    );
    const error = await closed;
    expect(error).toBeInstanceOf(NetflowCollectorError);
    expect(error).toBeInstanceOf(OvsError);
    expect(await waiting).toBe(error);
    expect(collector.error).toBe(error);
    await collector.stop();
  });

  test("waiting for a record that never comes is an OvsTimeoutError", async () => {
    const collector = await NetflowCollector.start();
    try {
      await expect(collector.waitFor(() => true, 100)).rejects.toBeInstanceOf(OvsTimeoutError);
    } finally {
      await collector.stop();
    }
  });
});

describe("names that would be read as options", () => {
  test("a bridge name starting with '-' never reaches ovs-ofctl", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vmnet-ofctl-"));
    try {
      const ofctl = new Ofctl({ rundir: dir });
      for (const call of [
        () => ofctl.dumpFlows("--log-file"),
        () => ofctl.addFlow("-h", "actions=drop"),
        () => ofctl.fdbShow("--help"),
      ]) {
        const error = (await call().catch((e: unknown) => e)) as OvsInputError;
        expect(error).toBeInstanceOf(OvsInputError);
        expect(error.field).toBe("bridge");
        expect(error.reason).toBe('must not start with "-" (tools would read it as an option)');
      }
      expect(readdirSync(dir)).toEqual([]);
      expect(existsSync(join(process.cwd(), "ovs-ofctl.log"))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("errors", () => {
  test("every error class descends from OvsError; input errors carry (field, reason)", () => {
    const error = new OvsInputError("ports.3.tag", "must be a VLAN id from 1 to 4094");
    expect(error.message).toBe("ports.3.tag is invalid: must be a VLAN id from 1 to 4094");
    expect(error.field).toBe("ports.3.tag");
    expect(error.reason).toBe("must be a VLAN id from 1 to 4094");
    for (const [name, value] of Object.entries(ovs)) {
      if (typeof value === "function" && name.endsWith("Error")) {
        expect(value.prototype instanceof OvsError || value === OvsError, name).toBe(true);
      }
    }
    expect(new JsonStreamError("x")).toBeInstanceOf(OvsError);
    expect(new NetflowParseError("x")).toBeInstanceOf(OvsError);
  });

  test("zod failures become one sentence naming the field", async () => {
    const error = (await OvsSandbox.start({ dir: 5 as unknown as string }).catch(
      (e: unknown) => e,
    )) as OvsInputError;
    expect(error).toBeInstanceOf(OvsInputError);
    expect(error.message).toBe("sandbox.dir is invalid: must be a string, not number");
    const unknown = (await OvsSandbox.start({ colour: "red" } as never).catch(
      (e: unknown) => e,
    )) as OvsInputError;
    expect(unknown.message).toBe('sandbox is invalid: has unknown key "colour"');
    const many = (() => {
      try {
        parseInput(netflowSpec, { targets: ["x", "y"], engineId: 300 }, "netflow");
      } catch (e) {
        return e as Error;
      }
    })();
    expect(many?.message).toMatch(/^netflow\.targets\.0 is invalid: .* \(and 2 more problems\)$/);
  });

  test("no source file throws a plain Error", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/new Error\(|new TypeError\(|new RangeError\(/.test(readFileSync(path, "utf8")))
          offenders.push(path);
      }
    };
    walk(srcDir);
    expect(offenders).toEqual([]);
  });
});

describe("layering", () => {
  test("the JSON-RPC transport does not import the OVSDB layer", () => {
    for (const file of readdirSync(join(srcDir, "jsonrpc"))) {
      expect(readFileSync(join(srcDir, "jsonrpc", file), "utf8"), file).not.toMatch(/from "\.\.\/ovsdb\//);
    }
  });

  test("@vmnet/ovs does not depend on @vmnet/netlink-native (no C++ build on install)", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    expect(
      Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies }),
    ).not.toContain("@vmnet/netlink-native");
    const imports: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/from "@vmnet\//.test(readFileSync(path, "utf8"))) imports.push(path);
      }
    };
    walk(srcDir);
    expect(imports).toEqual([]);
  });

  test("the export list is explicit and holds no generic or internal names", () => {
    const index = readFileSync(join(srcDir, "index.ts"), "utf8");
    expect(index).not.toMatch(/export \*/);
    const names = Object.keys(ovs);
    for (const generic of [
      "map",
      "set",
      "uuid",
      "namedUuid",
      "emptySet",
      "parseInput",
      "portSpec",
      "bridgeSpec",
      "JsonStreamParser",
      "transactReplySchema",
      "databaseSchemaDocument",
      "atomKey",
    ]) {
      expect(names, generic).not.toContain(generic);
    }
    for (const wanted of [
      "OvsdbClient",
      "Vswitch",
      "VswitchChanges",
      "combineChanges",
      "OvsSandbox",
      "NetflowCollector",
      "Ofctl",
      "OvsError",
      "ovsdbMap",
      "ovsdbSet",
      "ovsdbUuid",
      "ovsdbNamedUuid",
    ]) {
      expect(names, wanted).toContain(wanted);
    }
    expect(names.length).toBeLessThan(60);
  });
});

describe("orphan markers", () => {
  async function fakeSandbox(marker: Record<string, unknown>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "vmnet-fakesb-"));
    await writeFile(join(dir, MARKER_FILE), JSON.stringify(marker));
    return dir;
  }
  const base = { owner: "t", netnsInode: 0, ownsDir: true, daemons: {} };

  test("a live owner's sandbox is not an orphan; a dead owner's is", async () => {
    const start = processStartTicks(process.pid) ?? 0;
    const live = await fakeSandbox({ ...base, mark: "m", pid: process.pid, start, pidnsInode: pidnsInode() });
    // A pid with another start time is a different (recycled) process: the owner is gone.
    const dead = await fakeSandbox({
      ...base,
      mark: "m",
      pid: process.pid,
      start: start + 1,
      pidnsInode: pidnsInode(),
    });
    try {
      const found = await OvsSandbox.findOrphans({ roots: [], dirs: [live, dead] });
      expect(found.map((o) => o.dir)).toEqual([dead]);
      const reaped = await OvsSandbox.reapOrphans({ roots: [], dirs: [live, dead] });
      expect(reaped.map((r) => r.dir)).toEqual([dead]);
      expect(reaped[0]?.devicesSkipped).toMatch(/another network namespace/);
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      await rm(live, { recursive: true, force: true });
      await rm(dead, { recursive: true, force: true });
    }
  });

  test("a sandbox marked from another pid namespace is never judged from this one", async () => {
    const other = await fakeSandbox({
      ...base,
      mark: "m",
      pid: 999999,
      start: 1,
      pidnsInode: pidnsInode() + 1,
    });
    const foreign = await mkdtemp(join(tmpdir(), "vmnet-fakesb-"));
    await writeFile(join(foreign, MARKER_FILE), "not a marker");
    try {
      expect(await OvsSandbox.findOrphans({ roots: [], dirs: [other, foreign] })).toEqual([]);
      expect(await OvsSandbox.reapOrphans({ roots: [], dirs: [other, foreign] })).toEqual([]);
      expect(existsSync(other)).toBe(true);
      expect(existsSync(foreign)).toBe(true);
    } finally {
      await rm(other, { recursive: true, force: true });
      await rm(foreign, { recursive: true, force: true });
    }
  });
});

describe("options of the client and of Vswitch", () => {
  test.each([
    [{ requestTimeoutMs: -1 }, "options.requestTimeoutMs is invalid: must be more than 0 ms"],
    [{ probeIntervalMs: 1.5 }, "options.probeIntervalMs is invalid: must be a whole number of milliseconds"],
    [{ reconnect: { minDelayMs: 0 } }, "options.reconnect.minDelayMs is invalid: must be more than 0 ms"],
    [{ reconect: true }, 'options is invalid: has unknown key "reconect"'],
  ])("OvsdbClient.connect refuses %j before connecting", async (options, message) => {
    const error = (await OvsdbClient.connect("unix:/nonexistent/db.sock", options as never).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(OvsInputError);
    expect(error.message).toBe(message);
  });

  test("new Vswitch refuses a bad owner (it goes into every external_ids mark)", () => {
    expect(() => new Vswitch({} as never, { owner: "two words" })).toThrow(
      "vswitch.owner is invalid: must be 1-64 letters, digits, '.', '_' or '-'",
    );
  });
});

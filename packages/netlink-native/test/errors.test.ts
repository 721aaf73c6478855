// Every error this package throws is typed and extends NetlinkNativeError: input errors name the
// field, native refusals carry the errno code (NetnsError for namespaces), deadlines are never
// silently off.
import { uniqueName } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { parseAttrs } from "../src/codec/attrs.js";
import {
  createNetns,
  deleteNetns,
  NetlinkConnection,
  NetlinkDecodeError,
  NetlinkError,
  NetlinkInputError,
  NetlinkNativeError,
  NetnsError,
  netnsIdentity,
  openTap,
  Rtnl,
  requests,
  SyscallError,
} from "../src/index.js";

async function failure(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    return e;
  }
  throw new Error("expected a failure");
}

function expectInput(e: unknown, field: string): void {
  expect(e, field).toBeInstanceOf(NetlinkInputError);
  expect(e).toBeInstanceOf(NetlinkNativeError);
  expect((e as NetlinkInputError).field).toBe(field);
}

describePrivileged("typed errors", () => {
  test("wrong types and bad deadlines are NetlinkInputErrors naming the field", async ({ netns }) => {
    // @ts-expect-error: a number is not a netns
    expectInput(await failure(Rtnl.open({ netns: 42 })), "options.netns");
    expectInput(await failure(Rtnl.open({ timeoutMs: -5 })), "options.timeoutMs");
    expectInput(await failure(Rtnl.open({ timeoutMs: Number.NaN })), "options.timeoutMs");
    expectInput(await failure(Rtnl.open({ timeoutMs: 0 })), "options.timeoutMs");
    // @ts-expect-error: unknown option
    expectInput(await failure(Rtnl.open({ netns: netns.name, nets: 1 })), "options");
    expectInput(await failure(NetlinkConnection.open({ timeoutMs: Number.NaN })), "timeoutMs");
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      // @ts-expect-error: a string is not a list
      expectInput(await failure(rtnl.links.deleteMany("v0")), "links");
      expectInput(await failure(rtnl.links.resolve([{} as never])), "links.0");
      // @ts-expect-error: an object is not a link
      expectInput(await failure(rtnl.links.delete({ name: "x" })), "link");
      const req = requests.linkGet(1);
      for (const timeoutMs of [-5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expectInput(
          await failure(
            rtnl.connection.request(req.type, req.flags, req.body, { op: "link get" }, { timeoutMs }),
          ),
          "timeoutMs",
        );
      }
    } finally {
      rtnl.close();
    }
    // @ts-expect-error: wrong type
    expectInput(await failure(openTap({ netns: 42 })), "tap.netns");
    // @ts-expect-error: wrong type
    expectInput(await failure(createNetns(7)), "name");
    // @ts-expect-error: wrong type
    expectInput(await failure(deleteNetns(null)), "name");
    expectInput(await failure(() => netnsIdentity({ pid: -1 })), "netns.pid");
  });

  test("native refusals are NetnsError / SyscallError with the errno code", async ({ netns }) => {
    const missing = uniqueName("gone");
    for (const call of [
      () => Rtnl.open({ netns: missing }),
      () => openTap({ netns: missing }),
      () => deleteNetns(missing),
      () => netnsIdentity(missing),
    ]) {
      const e = await failure(call);
      expect(e).toBeInstanceOf(NetnsError);
      expect(e).toBeInstanceOf(NetlinkNativeError);
      expect(e).toMatchObject({ code: "ENOENT", errno: 2, path: `/run/netns/${missing}` });
    }
    const exists = await failure(createNetns(netns.name));
    expect(exists).toBeInstanceOf(NetnsError);
    expect(exists).toMatchObject({ code: "EEXIST", errno: 17 });
    expect((exists as Error).message).toContain(`create netns "${netns.name}"`);
    // A TAP whose name is taken by a link of another kind: the ioctl's errno, typed.
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "ifb", name: "busy0" });
      const busy = await failure(openTap({ name: "busy0", netns: netns.name }));
      expect(busy).toBeInstanceOf(SyscallError);
      expect(busy).not.toBeInstanceOf(NetnsError);
      expect(busy).toMatchObject({ syscall: "ioctl(TUNSETIFF)" });
      expect(["EINVAL", "EBUSY", "EEXIST"]).toContain((busy as SyscallError).code);
      const kernel = await failure(rtnl.links.add({ kind: "ifb", name: "busy0" }));
      expect(kernel).toBeInstanceOf(NetlinkError);
      expect(kernel).toBeInstanceOf(NetlinkNativeError);
    } finally {
      rtnl.close();
    }
    const decode = await failure(() => parseAttrs(Buffer.from([9, 0, 1, 0])));
    expect(decode).toBeInstanceOf(NetlinkDecodeError);
    expect(decode).toBeInstanceOf(NetlinkNativeError);
  });
});

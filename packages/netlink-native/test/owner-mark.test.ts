import { describe, expect, it } from "vitest";
import {
  formatOwnerMark,
  isMarkOwnerAlive,
  ownerMarkForThisProcess,
  parseOwnerMark,
} from "../src/owner/index.js";

describe("owner marks", () => {
  it("round-trips and names this process as alive", () => {
    const mark = ownerMarkForThisProcess("lab-1", "tap");
    const text = formatOwnerMark(mark);
    expect(text).toMatch(/^vmnet:1 owner=lab-1 pid=\d+@\d+ role=tap$/);
    expect(parseOwnerMark(text)).toEqual(mark);
    expect(mark.start).toBeGreaterThan(0);
    expect(isMarkOwnerAlive(mark)).toBe(true);
  });

  it("a recycled pid (other start time) or a missing process is not the owner", () => {
    const mark = ownerMarkForThisProcess("x", "ifb");
    expect(isMarkOwnerAlive({ ...mark, start: mark.start + 1 })).toBe(false);
    expect(isMarkOwnerAlive({ ...mark, pid: 2 ** 22 + 7 })).toBe(false);
  });

  it("anything that is not exactly a mark is foreign", () => {
    for (const s of [
      undefined,
      "",
      "my uplink",
      "vmnet:1 owner=a pid=1@2 role=tap extra",
      " vmnet:1 owner=a pid=1@2 role=tap",
      "vmnet:2 owner=a pid=1@2 role=tap",
      "vmnet:1 owner=a b pid=1@2 role=tap",
    ]) {
      expect(parseOwnerMark(s)).toBeUndefined();
    }
    expect(() => formatOwnerMark({ owner: "a b", pid: 1, start: 1, role: "tap" })).toThrow(/owner/);
  });
});

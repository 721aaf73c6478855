// Qdisc handles and class ids ("1:", "1:10", "root", "ingress"), written and read as tc does:
// hexadecimal major:minor packed into 32 bits.
import * as C from "./constants.js";
import { TcInputError } from "./errors.js";

/** A handle or class id: "1:", "1:10", ":10", "root", "ingress", "none", or the raw 32-bit value. */
export type Handle = string | number;

const HEX = /^[0-9a-fA-F]{1,4}$/;

/** tc's get_tc_classid(): "root", "none", "MAJ:MIN" (hex), "MAJ:", ":MIN" or "MAJ". */
export function parseHandle(input: Handle, field = "handle"): number {
  if (typeof input === "number") {
    if (!Number.isInteger(input) || input < 0 || input > 0xffffffff)
      throw new TcInputError(field, "must be a 32-bit handle");
    return input;
  }
  const s = input.trim();
  if (s === "root") return C.TC_H_ROOT;
  if (s === "ingress" || s === "clsact") return C.TC_H_INGRESS;
  if (s === "none") return C.TC_H_UNSPEC;
  const colon = s.indexOf(":");
  const major = colon < 0 ? s : s.slice(0, colon);
  const minor = colon < 0 ? "" : s.slice(colon + 1);
  if (
    (major !== "" && !HEX.test(major)) ||
    (minor !== "" && !HEX.test(minor)) ||
    (major === "" && minor === "")
  ) {
    throw new TcInputError(
      field,
      `"${input}" is not a handle (write it as tc does, in hex: "1:", "1:10", ":10", "root" or "ingress")`,
    );
  }
  const maj = major === "" ? 0 : Number.parseInt(major, 16);
  const min = minor === "" ? 0 : Number.parseInt(minor, 16);
  return ((maj << 16) | min) >>> 0;
}

/** A qdisc handle: only a major number ("1:" or "1"); a minor part is refused. */
export function parseQdiscHandle(input: Handle, field = "handle"): number {
  const h = parseHandle(input, field);
  if (h === C.TC_H_ROOT || (h & 0xffff) !== 0) {
    throw new TcInputError(
      field,
      `"${input}" is not a qdisc handle (a qdisc has only a major number, like "1:")`,
    );
  }
  return h;
}

/** Formats a handle as tc prints it: "root", "ingress", "1:", "1:10", ":10", "none". */
export function formatHandle(h: number): string {
  const v = h >>> 0;
  if (v === C.TC_H_ROOT) return "root";
  if (v === C.TC_H_INGRESS) return "ingress";
  if (v === C.TC_H_UNSPEC) return "none";
  const maj = v >>> 16;
  const min = v & 0xffff;
  if (maj === 0) return `:${min.toString(16)}`;
  if (min === 0) return `${maj.toString(16)}:`;
  return `${maj.toString(16)}:${min.toString(16)}`;
}

/** A qdisc's own handle as tc prints it: always "MAJOR:" ("0:" for a link's default qdisc). */
export function formatQdiscHandle(h: number): string {
  return `${(h >>> 16).toString(16)}:`;
}

/** The clsact hook points filters attach to ("ingress" = ffff:fff2, "egress" = ffff:fff3). */
export function parseFilterParent(input: Handle, field = "parent"): number {
  if (input === "ingress") return (C.TC_H_CLSACT & 0xffff0000) | C.TC_H_MIN_INGRESS;
  if (input === "egress") return (C.TC_H_CLSACT & 0xffff0000) | C.TC_H_MIN_EGRESS;
  return parseHandle(input, field);
}

export function formatFilterParent(h: number): string {
  const v = h >>> 0;
  if (v === ((C.TC_H_CLSACT & 0xffff0000) | C.TC_H_MIN_INGRESS) >>> 0) return "ingress";
  if (v === ((C.TC_H_CLSACT & 0xffff0000) | C.TC_H_MIN_EGRESS) >>> 0) return "egress";
  return formatHandle(v);
}

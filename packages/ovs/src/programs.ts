// Finding the OVS programs. They live in /usr/sbin on Debian, which a non-login PATH may lack, and
// a missing one must say which Debian package brings it rather than fail with ENOENT.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { MissingProgramError } from "./errors.js";

/** The Debian package that installs each program this package runs. */
export const DEBIAN_PACKAGE_OF: Readonly<Record<string, string>> = {
  "ovsdb-server": "openvswitch-common",
  "ovsdb-tool": "openvswitch-common",
  "ovs-ofctl": "openvswitch-common",
  "ovs-appctl": "openvswitch-common",
  "ovs-vswitchd": "openvswitch-switch",
  "ovs-vsctl": "openvswitch-switch",
  ip: "iproute2",
};

const EXTRA_DIRS = ["/usr/sbin", "/sbin", "/usr/local/sbin"];

/** Absolute path of `program`, or throws MissingProgramError naming its Debian package. */
export function findProgram(
  program: string,
  searchPath = process.env.PATH ?? "",
  extraDirs: readonly string[] = EXTRA_DIRS,
): string {
  for (const dir of [...searchPath.split(delimiter).filter(Boolean), ...extraDirs]) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new MissingProgramError(program, DEBIAN_PACKAGE_OF[program] ?? "openvswitch-switch");
}

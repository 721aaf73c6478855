// The OVN programs, with the Debian package that brings each when it is missing.
import { MissingProgramError } from "../errors.js";
import { findProgram } from "../programs.js";

const PACKAGE_OF: Readonly<Record<string, string>> = {
  "ovn-northd": "ovn-central",
  "ovn-controller": "ovn-host",
  "ovn-appctl": "ovn-common",
  "ovn-nbctl": "ovn-common",
};

export const NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema";
export const SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema";

export function findOvnProgram(program: string): string {
  try {
    return findProgram(program);
  } catch (error) {
    if (error instanceof MissingProgramError && PACKAGE_OF[program] !== undefined)
      throw new MissingProgramError(program, PACKAGE_OF[program]);
    throw error;
  }
}

// What every subcommand file uses: the Io, and `withBridges` which opens a session from the
// global options, runs the action and always closes it.
import type { Command } from "commander";
import type { Io } from "./io.js";
import { type GlobalOptions, openSession, type Session } from "./session.js";

export interface Kit {
  io: Io;
  withBridges(cmd: Command, action: (s: Session, g: GlobalOptions) => Promise<void>): Promise<void>;
}

export function makeKit(io: Io): Kit {
  return {
    io,
    async withBridges(cmd, action) {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      io.json = Boolean(g.json);
      io.quiet = Boolean(g.quiet);
      const session = await openSession(g);
      try {
        await action(session, g);
      } finally {
        await session.close();
      }
    },
  };
}

export const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${v}"`);
  return n;
};

export const intList =
  (name: string) =>
  (v: string, prev: number[] = []) => [...prev, int(name)(v)];
export const collect = (v: string, prev: string[] = []) => [...prev, v];

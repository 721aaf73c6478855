// The journal: what a multi-step setup found and what it is about to create, written to disk
// BEFORE the first change, so that teardown (and crash recovery in another process) restores
// exactly the state setup found, from this record rather than from anything rebuilt later.
//
// One JSON file per subject under a state directory (default /run/vmnet: tmpfs on most systems,
// so a reboot, which also wipes the network namespaces, wipes the journals with them). Writes are
// atomic: a temporary file in the same directory renamed over the old name. A reader sees the old
// journal or the new one, never half of one; a crash between write and rename leaves only a
// `.tmp-*` file, which readers ignore. No fsync: the crash this guards against is the process's
// (the page cache outlives it); a machine crash takes the namespaces the journal describes with it.
import {
  closeSync,
  constants,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlink,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";

export const DEFAULT_STATE_DIR = "/run/vmnet";

/** Directories this process has made (or found) already: one mkdir per directory, not per write. */
const madeDirs = new Set<string>();

/**
 * Names of this process's temporary and removed files: its pid and a counter. Unique in any
 * directory among live processes; a crashed process's leftover of the same name (a reused pid) is
 * garbage that readers ignore, and is overwritten or swept.
 */
let fileCounter = 0;
const ownFileName = (prefix: string) => `${prefix}${process.pid}-${++fileCounter}`;

/** Characters a journal key may hold (it becomes a file name). */
const KEY = /^[A-Za-z0-9._:-]{1,200}$/;

export class Journal<T> {
  readonly path: string;
  /**
   * True when this object last saw no journal (read() found none, or remove() took it away): the
   * next write() then has no old journal to keep a second name for, and skips the link() that
   * would fail (a failed linkSync builds an Error with its stack: 0.1 ms of a setup). Only a
   * hint: another process writing here in between costs the rename its discard, nothing more.
   */
  private seenAbsent = false;
  constructor(
    readonly dir: string,
    readonly key: string,
  ) {
    if (!KEY.test(key)) throw new RangeError(`journal key ${JSON.stringify(key)}: use [A-Za-z0-9._:-]`);
    this.path = join(dir, `${key.replaceAll(":", "-")}.json`);
  }

  /**
   * Writes the record atomically (temp file renamed over the journal). Synchronously: a journal
   * is a few kilobytes written to the page cache (no fsync, see above), about 30 µs, where the
   * same write through libuv's pool is four round trips to it that cost a setup 1-2 ms.
   *
   * A rename over an existing journal would free the old one's data inside the rename, and on a
   * disk filesystem with online discard (ext4 mounted `discard`, as /run and /tmp may be) that
   * costs 0.2-1.5 ms on the event loop. So the old journal first gets a second name (a hard link:
   * a directory entry), the rename then frees nothing, and the old data goes with that name later,
   * on libuv's pool, as in remove().
   */
  async write(record: T): Promise<void> {
    if (!madeDirs.has(this.dir)) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      sweepGone(this.dir);
      madeDirs.add(this.dir);
    }
    const tmp = join(this.dir, ownFileName(".tmp-"));
    let old: string | undefined;
    try {
      writeFileSync(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      if (!this.seenAbsent) {
        old = join(this.dir, ownFileName(GONE_PREFIX));
        try {
          linkSync(this.path, old);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
          old = undefined; // the first write: nothing to keep
        }
      }
      renameSync(tmp, this.path);
      this.seenAbsent = false;
    } catch (e) {
      // The directory may have been removed under us: make it again next time.
      madeDirs.delete(this.dir);
      rmSync(tmp, { force: true });
      if (old) rmSync(old, { force: true });
      throw e;
    }
    if (old) unlink(old, ignore);
  }

  /**
   * The record, or undefined when there is none. A file that is not JSON is an error.
   * Synchronous like write(): a missing journal (the usual answer) is one stat that makes no
   * Error (a failed readFileSync builds one with its stack: 0.3 ms of a setup).
   */
  async read(): Promise<T | undefined> {
    if (!statSync(this.path, { throwIfNoEntry: false })) {
      this.seenAbsent = true;
      return undefined;
    }
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    return JSON.parse(text) as T;
  }

  /**
   * Removes the record; idempotent. The journal is gone when this returns: it is renamed out of
   * the way at once (a rename costs a directory entry). Freeing its data is an unlink, which on a
   * disk filesystem (ext4, with online discard) costs 0.4-1.5 ms: that happens later, on libuv's
   * pool. A crash in between leaves a `.gone-*` file, which readers ignore and the next process
   * to write here sweeps.
   */
  async remove(): Promise<void> {
    const gone = join(this.dir, ownFileName(GONE_PREFIX));
    try {
      renameSync(this.path, gone);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    this.seenAbsent = true;
    unlink(gone, ignore);
  }

  /**
   * Sets a boolean the written record holds as its FIRST property (`{"complete":false,...}`) in
   * place: the 5 bytes of its value become "true " or "false" (the same length; the space is JSON
   * whitespace), one pwrite() of a few bytes where write() writes the whole record and renames it.
   * A setup marks its journal complete this way (0.3 ms less on the event loop per setup).
   *
   * The file stays valid JSON at every instant a crash can leave it at: the write is one system
   * call into the page cache. Readers in other processes run while no setup of theirs is writing
   * (recovery runs after the writer died); a listing that raced the write could at worst read a
   * torn value, and listings skip what does not parse. When the file does not start with the flag
   * (written by an older version, say), is missing or is a symlink, `record` is written whole.
   */
  async setLeadingFlag(key: string, value: boolean, record: T): Promise<void> {
    const head = `{${JSON.stringify(key)}:`;
    let fd: number | undefined;
    try {
      fd = openSync(this.path, constants.O_RDWR | constants.O_NOFOLLOW);
      const seen = Buffer.allocUnsafe(head.length + 5);
      const n = readSync(fd, seen, 0, seen.length, 0);
      const text = seen.toString("latin1", 0, n);
      const old = text.slice(head.length);
      if (n === seen.length && text.startsWith(head) && (old === "true " || old === "false")) {
        writeSync(fd, value ? "true " : "false", head.length, "latin1");
        return;
      }
    } catch (e) {
      // Gone, or a symlink put in its place (never followed): written whole, as write() does.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ELOOP") throw e;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    await this.write(record);
  }
}

/** For unlinks whose outcome nobody waits for (a leftover is swept, see sweepGone). */
const ignore = () => undefined;

/** Names of removed journals whose data is still being freed (see remove()). */
const GONE_PREFIX = ".gone-";

/** Deletes the `.gone-*` files a crashed process left (see remove()); once per directory and process. */
function sweepGone(dir: string): void {
  for (const f of readdirSync(dir)) if (f.startsWith(GONE_PREFIX)) rmSync(join(dir, f), { force: true });
}

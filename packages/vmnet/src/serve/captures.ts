// Captures the page lists: every capture the served Bridges started (Bridges.captures(), running
// or recently finished), the ones handed to the server (serve.addCapture, for captures of another
// Bridges in the same process), with live counters, and the pcap files in --pcap-dir (what
// `vmnet capture -w DIR/x.pcap` in another shell writes). Only finished captures are downloadable,
// and only through an id from this list: a request never names a path.
import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { CaptureStats } from "@vmnet/capture";
import type { BridgeCapture, CaptureInfo } from "../bridges/index.js";

export interface CaptureView {
  /** "c<N>" for a tracked capture, "f-<file name>" for a file in the pcap directory. */
  id: string;
  bridge: string | undefined;
  iface: string | undefined;
  file: string;
  running: boolean;
  packets: number | undefined;
  bytes: number | undefined;
  drops: number | undefined;
  fileBytes: number | undefined;
  reason: string | undefined;
}

interface Tracked {
  capture: BridgeCapture;
  final: CaptureStats | undefined;
}

const PCAP_NAME = /^[A-Za-z0-9._-]{1,200}\.(pcap|pcapng)$/;
/** A file written to within this long is taken to be still running. */
const GROWING_MS = 2000;

export class CaptureBook {
  private readonly tracked = new Map<string, Tracked>();

  constructor(
    private readonly pcapDir: string | undefined,
    /** The served Bridges' own captures (Bridges.captures). */
    private readonly started: () => CaptureInfo[] = () => [],
  ) {}

  add(capture: BridgeCapture): string {
    const id = `c${capture.id}`;
    const entry: Tracked = { capture, final: undefined };
    this.tracked.set(id, entry);
    capture.done.then(
      (s) => {
        entry.final = s;
      },
      () => {
        entry.final = { reason: "error" } as CaptureStats;
      },
    );
    return id;
  }

  async list(): Promise<CaptureView[]> {
    const out: CaptureView[] = [];
    for (const c of this.started()) {
      out.push({
        id: `c${c.id}`,
        bridge: c.bridge,
        iface: c.iface,
        file: c.file,
        running: c.running,
        packets: c.packets,
        bytes: c.bytes,
        drops: c.drops,
        fileBytes: c.fileBytes,
        reason: c.reason,
      });
    }
    const listed = new Set(out.map((c) => c.id));
    for (const [id, { capture, final }] of this.tracked) {
      if (listed.has(id)) continue;
      const live = final ?? capture.stats();
      out.push({
        id,
        bridge: capture.bridge,
        iface: capture.iface,
        file: capture.file,
        running: final === undefined,
        packets: live.packets,
        bytes: live.bytes,
        drops: live.drops,
        fileBytes: final?.fileBytes,
        reason: final?.reason,
      });
    }
    const tracked = new Set(out.map((c) => c.file));
    for (const f of await this.files()) if (!tracked.has(f.file)) out.push(f);
    return out;
  }

  private async files(): Promise<CaptureView[]> {
    if (!this.pcapDir) return [];
    let entries: Dirent[];
    try {
      entries = await readdir(this.pcapDir, { withFileTypes: true });
    } catch {
      return [];
    }
    const out: CaptureView[] = [];
    for (const e of entries) {
      if (!e.isFile() || !PCAP_NAME.test(e.name)) continue;
      const file = join(this.pcapDir, e.name);
      const st = await stat(file).catch(() => undefined);
      if (!st) continue;
      out.push({
        id: `f-${e.name}`,
        bridge: undefined,
        iface: undefined,
        file,
        running: Date.now() - st.mtimeMs < GROWING_MS,
        packets: undefined,
        bytes: undefined,
        drops: undefined,
        fileBytes: st.size,
        reason: undefined,
      });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The file of a finished capture, or why it cannot be downloaded. */
  async downloadable(id: string): Promise<{ file: string; name: string } | { status: 404 | 409 }> {
    const entry = (await this.list()).find((c) => c.id === id);
    if (!entry) return { status: 404 };
    if (entry.running) return { status: 409 };
    return { file: entry.file, name: basename(entry.file) };
  }
}

// A minimal writer for the "newc" cpio format the kernel unpacks as an initramfs. Enough for
// directories, regular files and symlinks; written here so the rig needs no cpio package.

const encoder = new TextEncoder();

function hex8(n) {
  return n.toString(16).padStart(8, "0");
}

function pad4(len) {
  return (4 - (len % 4)) % 4;
}

/**
 * entries: [{ path, type: "dir" | "file" | "symlink", mode?, data?: Buffer, target?: string }]
 * Returns the archive as one Buffer (uncompressed; the kernel accepts that).
 */
export function buildCpio(entries) {
  const parts = [];
  let ino = 1;
  const push = (name, mode, data) => {
    const nameBytes = encoder.encode(`${name}\0`);
    const header =
      "070701" +
      hex8(ino++) +
      hex8(mode) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8(1) + // nlink
      hex8(0) + // mtime
      hex8(data.length) +
      hex8(0) + // devmajor
      hex8(0) + // devminor
      hex8(0) + // rdevmajor
      hex8(0) + // rdevminor
      hex8(nameBytes.length) +
      hex8(0); // check
    const head = Buffer.concat([Buffer.from(header, "ascii"), nameBytes]);
    parts.push(head, Buffer.alloc(pad4(head.length)), data, Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, "");
    if (e.type === "dir") push(path, 0o040000 | (e.mode ?? 0o755), Buffer.alloc(0));
    else if (e.type === "symlink") push(path, 0o120000 | 0o777, Buffer.from(e.target));
    else push(path, 0o100000 | (e.mode ?? 0o644), e.data);
  }
  push("TRAILER!!!", 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

#!/usr/bin/env node
// vmnet-vm prepare  : fetch the guest kernel + busybox and build the initramfs (needs the network)
// vmnet-vm lane SCRIPT : boot the full-kernel guest and run SCRIPT (a host path) inside it
import { prepare } from "../src/assets.mjs";
import { bootGuest } from "../src/guest.mjs";

const [command, ...rest] = process.argv.slice(2);
if (command === "prepare") {
  const m = prepare({ log: (s) => console.error(`vm-lane: ${s}`) });
  console.log(`vm-lane: kernel ${m.kernelVersion} ready in ${m.kernel}`);
} else if (command === "lane" && rest[0]) {
  const r = await bootGuest({
    mode: "lane",
    run: rest[0],
    outDir: rest[1],
    timeoutMs: Number(process.env.VMNET_VM_TIMEOUT_MS ?? 1_500_000),
    memoryMb: 3072,
    onLine: (l) => console.log(l),
  });
  process.exit(r.exitCode);
} else {
  console.error("usage: vmnet-vm prepare | vmnet-vm lane SCRIPT [OUTDIR]");
  process.exit(2);
}

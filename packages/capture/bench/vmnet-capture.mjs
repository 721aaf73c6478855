// The vmnet side of the benchmark, as its own process (so its CPU time can be read like the
// peers'): captures until SIGINT, then prints the final counters as JSON.
import { startCapture } from "../dist/index.js";

const [netns, iface, file, format = "pcap"] = process.argv.slice(2);
const cap = await startCapture({ iface, netns, file, format, overwrite: true, bufferSize: 32 << 20 });
process.stdout.write("ready\n");
process.once("SIGINT", async () => {
  const stats = await cap.stop();
  process.stdout.write(`${JSON.stringify(stats, (_k, v) => (typeof v === "bigint" ? String(v) : v))}\n`);
});

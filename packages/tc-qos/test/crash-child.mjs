// Child process for crash.test.ts: applies and removes QoS with an ingress shaper on one link,
// over and over, until the test kills it with SIGKILL at a random point.
import { applyQos, removeQos, Tc } from "../dist/index.js";

const [netns, link] = process.argv.slice(2);
const tc = await Tc.open({ netns });
process.stdout.write("ready\n");
for (let i = 0; ; i++) {
  await applyQos(link, { rate: "10mbit", ingress: { rate: `${1 + (i % 5)}mbit` } }, { tc });
  await removeQos(link, { tc });
}

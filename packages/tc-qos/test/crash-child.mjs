// Child process for crash.test.ts: applies and removes QoS with an ingress shaper on one link,
// over and over, until the test kills it with SIGKILL at a random point. With "pause-after-ifb"
// it instead stops inside the first plan, right after the step that made the ifb, and says so:
// the test kills it there, so at least one kill lands in the crash window whatever the timing.
import { applyQos, removeQos, Tc } from "../dist/index.js";

const [netns, link, mode] = process.argv.slice(2);
const tc = await Tc.open({ netns });
process.stdout.write("ready\n");
if (mode === "pause-after-ifb") {
  let ifbMade = false;
  await applyQos(
    link,
    { rate: "10mbit", ingress: { rate: "2mbit" } },
    {
      tc,
      beforeStep: async (step) => {
        if (ifbMade) {
          process.stdout.write(`paused before ${step.name}\n`);
          await new Promise(() => {});
        }
        if (/ifb/i.test(step.name)) ifbMade = true;
      },
    },
  );
  process.stderr.write("the plan never reached a step after the ifb\n");
  process.exit(1);
}
for (let i = 0; ; i++) {
  await applyQos(link, { rate: "10mbit", ingress: { rate: `${1 + (i % 5)}mbit` } }, { tc });
  await removeQos(link, { tc });
}
